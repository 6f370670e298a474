// Pareto dominance, fast non-dominated sorting, crowding distance and constraint domination, as in
// NSGA-II: K. Deb, A. Pratap, S. Agarwal, T. Meyarivan, "A fast and elitist multiobjective genetic
// algorithm: NSGA-II", IEEE Transactions on Evolutionary Computation 6(2):182–197, 2002.
//
// A building block for multi-objective ask/tell search (ARCHITECTURE.md, decision 4): a strategy that
// has been told objective vectors ranks them with these functions. It never sees how they were scored.

/// Pareto-front utilities for objective vectors in which **every objective is minimised**.
///
/// Callers with a maximised objective (accuracy, a proxy score, …) negate it before calling, e.g.
/// `[-accuracy, latencyMs, parameterCount]`.
///
/// All vectors passed together must have the same number of objectives (checked with `precondition`).
///
/// NaN policy: NaN compares neither smaller nor larger, so a vector containing NaN never dominates and
/// is never dominated (`dominates` returns `false` either way). The sorts therefore handle such points
/// explicitly: every point with a NaN objective (or, in the constrained sort, a NaN violation) ranks as
/// **worst** — all of them are put together in one extra front after all the fronts of NaN-free points.
/// ±∞ are ordinary values.
public enum ParetoFront {

    // MARK: - Dominance

    /// Pareto dominance for minimisation: `a ≺ b` ⇔ ∀ m: aₘ ≤ bₘ and ∃ m: aₘ < bₘ.
    ///
    /// Equal vectors do not dominate each other; `dominates(a, a)` is `false`. If either vector contains
    /// NaN the result is `false`.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        precondition(a.count == b.count, "ParetoFront.dominates: \(a.count) vs \(b.count) objectives")
        var strictlyBetterSomewhere = false
        for m in a.indices {
            let x = a[m], y = b[m]
            if !(x <= y) { return false }          // also false when x or y is NaN
            if x < y { strictlyBetterSomewhere = true }
        }
        return strictlyBetterSomewhere
    }

    /// Constraint domination (Deb et al. 2002, §VI): `a` constrained-dominates `b` iff
    /// 1. `a` is feasible and `b` is not; or
    /// 2. both are infeasible and `a` has the smaller total constraint violation
    ///    (objectives are ignored; equal violations ⇒ neither dominates); or
    /// 3. both are feasible and `a` Pareto-dominates `b` (``dominates(_:_:)``).
    ///
    /// A violation is the total (summed) amount by which a point breaks its constraints, e.g.
    /// `max(0, latency − budget) / budget + …`; a violation ≤ 0 means feasible. A NaN violation counts
    /// as infinitely infeasible: it never dominates, and loses to every feasible point and to every
    /// infeasible point with a non-NaN violation.
    public static func constrainedDominates(a: [Double], violationA: Double,
                                            b: [Double], violationB: Double) -> Bool {
        precondition(a.count == b.count, "ParetoFront.constrainedDominates: \(a.count) vs \(b.count) objectives")
        let feasibleA = violationA <= 0, feasibleB = violationB <= 0   // NaN ⇒ infeasible
        switch (feasibleA, feasibleB) {
        case (true, false): return true
        case (false, true): return false
        case (false, false):
            if violationA.isNaN { return false }
            if violationB.isNaN { return true }
            return violationA < violationB
        case (true, true): return dominates(a, b)
        }
    }

    // MARK: - Non-dominated sorting

    /// Fast non-dominated sort (Deb et al. 2002, §III-A), O(M·N²) for N points and M objectives.
    ///
    /// Returns fronts of indices into `points`: front 0 is the non-dominated set F₁; front k holds the
    /// points dominated only by points in fronts 0…k−1. For each p the algorithm keeps
    /// Sₚ = {q : p ≺ q} and nₚ = |{q : q ≺ p}|; F₁ = {p : nₚ = 0}, and F_{k+1} collects every q whose
    /// nq drops to 0 while removing the members of F_k.
    ///
    /// Indices within a front are in ascending order. Equal points are mutually non-dominating and so
    /// land in the same front. Points with any NaN objective form one extra, last front (see the type's
    /// NaN policy). An empty input gives `[]`.
    public static func nonDominatedSort(_ points: [[Double]]) -> [[Int]] {
        checkDimensions(points)
        let hasNaN = points.map { $0.contains { $0.isNaN } }
        return sort(count: points.count, excluded: hasNaN) { p, q in dominates(points[p], points[q]) }
    }

    /// Constrained fast non-dominated sort: the same algorithm as ``nonDominatedSort(_:)`` with
    /// ``constrainedDominates(a:violationA:b:violationB:)`` in place of Pareto dominance
    /// (Deb et al. 2002, §VI). Feasible points therefore fill the first fronts; infeasible points follow,
    /// ordered by total violation (equal violations share a front whatever their objectives).
    ///
    /// `violations[i]` is the total constraint violation of `points[i]` (≤ 0 = feasible). Points with a
    /// NaN objective or a NaN violation form one extra, last front.
    public static func nonDominatedSort(_ points: [[Double]], violations: [Double]) -> [[Int]] {
        precondition(points.count == violations.count,
                     "ParetoFront.nonDominatedSort: \(points.count) points but \(violations.count) violations")
        checkDimensions(points)
        let excluded = points.indices.map { i in violations[i].isNaN || points[i].contains { $0.isNaN } }
        return sort(count: points.count, excluded: excluded) { p, q in
            constrainedDominates(a: points[p], violationA: violations[p], b: points[q], violationB: violations[q])
        }
    }

    // MARK: - Crowding distance

    /// Crowding distance (Deb et al. 2002, §III-B) of each point of one front, in the order of `front`.
    ///
    /// For each objective m, sort the front by fₘ (ties broken by index, so the result is deterministic);
    /// the two boundary points get +∞ and each interior point i gets
    ///     dᵢ += (fₘ[next] − fₘ[previous]) / (fₘᵐᵃˣ − fₘᵐⁱⁿ)
    /// where next/previous are its neighbours in that order and max/min are taken over the front.
    /// Larger is better (less crowded).
    ///
    /// Edge cases:
    /// - a front of ≤ 2 points: every point gets +∞;
    /// - an objective with zero range (all values equal) contributes 0 to every point, boundaries
    ///   included (there is no meaningful extreme);
    /// - an objective with an infinite range (a ±∞ value) gives its boundary points +∞ and contributes
    ///   0 to interior points;
    /// - NaN values take no part in an objective: that objective contributes 0 to the points with NaN
    ///   there, and its order, range and boundaries are computed from the other points.
    public static func crowdingDistance(_ points: [[Double]], front: [Int]) -> [Double] {
        let n = front.count
        if n <= 2 { return Array(repeating: .infinity, count: n) }
        let objectives = points[front[0]].count
        var distance = Array(repeating: 0.0, count: n)
        for m in 0..<objectives {
            // Positions (into `front`) of the points with a non-NaN value for objective m, sorted.
            let order = (0..<n).filter { !points[front[$0]][m].isNaN }.sorted { i, j in
                let x = points[front[i]][m], y = points[front[j]][m]
                return x != y ? x < y : front[i] < front[j]
            }
            guard order.count >= 2 else { continue }
            let lo = points[front[order.first!]][m], hi = points[front[order.last!]][m]
            let range = hi - lo
            guard range > 0 else { continue }          // zero range contributes nothing
            distance[order.first!] = .infinity
            distance[order.last!] = .infinity
            guard range.isFinite, order.count > 2 else { continue }
            for k in 1..<(order.count - 1) {
                let next = points[front[order[k + 1]]][m], previous = points[front[order[k - 1]]][m]
                distance[order[k]] += (next - previous) / range
            }
        }
        return distance
    }

    // MARK: - Internals

    private static func checkDimensions(_ points: [[Double]]) {
        guard let first = points.first else { return }
        precondition(points.allSatisfy { $0.count == first.count },
                     "ParetoFront: all objective vectors must have the same number of objectives")
    }

    /// Deb's bookkeeping over the non-excluded points, with the excluded ones appended as a last front.
    private static func sort(count: Int, excluded: [Bool], dominates: (Int, Int) -> Bool) -> [[Int]] {
        let candidates = (0..<count).filter { !excluded[$0] }
        var dominatedSet = Array(repeating: [Int](), count: count)   // Sₚ
        var dominationCount = Array(repeating: 0, count: count)      // nₚ
        for (a, p) in candidates.enumerated() {
            for q in candidates[(a + 1)...] {
                if dominates(p, q) {
                    dominatedSet[p].append(q); dominationCount[q] += 1
                } else if dominates(q, p) {
                    dominatedSet[q].append(p); dominationCount[p] += 1
                }
            }
        }
        var fronts: [[Int]] = []
        var current = candidates.filter { dominationCount[$0] == 0 }
        while !current.isEmpty {
            fronts.append(current)
            var next: [Int] = []
            for p in current {
                for q in dominatedSet[p] {
                    dominationCount[q] -= 1
                    if dominationCount[q] == 0 { next.append(q) }
                }
            }
            current = next.sorted()
        }
        let worst = (0..<count).filter { excluded[$0] }
        if !worst.isEmpty { fronts.append(worst) }
        return fronts
    }
}
