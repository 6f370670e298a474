import Foundation
import NASTensor

/// A light surrogate of a search's fitness from a genome's vector (`SearchSpace.vector`, entries in [0, 1]), as
/// predictor-guided search fits to the candidates measured so far (LINAS; Cummings et al., 2022, DyNAS-T):
///
/// - `ridge`: y ≈ wᵀx + b, w = argmin ‖Xw + b − y‖² + λ‖w‖² (the bias not penalised);
/// - `rbf`: kernel ridge regression, y ≈ ȳ + Σᵢ αᵢ·exp(−γ‖x − xᵢ‖²), α = (K + λI)⁻¹(y − ȳ).
///
/// `select` picks the kind and its (λ, γ) from a small grid by k-fold cross-validated mean squared error, then
/// fits it on all the data. Both solve their normal equations by Cholesky factorisation, in Double.
public struct FitnessRegression: Sendable {
    public enum Kind: String, Sendable { case ridge, rbf }

    public let kind: Kind
    public let lambda: Double
    public let gamma: Double
    let weights: [Double]
    let support: [[Double]]
    let offset: Double

    /// Fits `kind` on rows `x` (all of one length) and targets `y`.
    public static func fit(_ kind: Kind, x: [[Double]], y: [Double], lambda: Double, gamma: Double = 1) -> FitnessRegression {
        precondition(!x.isEmpty && x.count == y.count, "FitnessRegression: \(x.count) rows, \(y.count) targets")
        switch kind {
        case .ridge:
            let d = x[0].count + 1
            var a = [Double](repeating: 0, count: d * d), b = [Double](repeating: 0, count: d)
            for (row, t) in zip(x, y) {
                let r = row + [1]
                for i in 0..<d {
                    b[i] += r[i] * t
                    for j in 0..<d { a[i * d + j] += r[i] * r[j] }
                }
            }
            for i in 0..<(d - 1) { a[i * d + i] += lambda }
            a[d * d - 1] += 1e-9
            return FitnessRegression(kind: kind, lambda: lambda, gamma: gamma, weights: choleskySolve(a, b, n: d), support: [], offset: 0)
        case .rbf:
            let n = x.count, mean = y.reduce(0, +) / Double(n)
            var k = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { k[i * n + j] = kernel(x[i], x[j], gamma) } ; k[i * n + i] += lambda }
            let alpha = choleskySolve(k, y.map { $0 - mean }, n: n)
            return FitnessRegression(kind: kind, lambda: lambda, gamma: gamma, weights: alpha, support: x, offset: mean)
        }
    }

    public func predict(_ x: [Double]) -> Double {
        switch kind {
        case .ridge: return zip(x + [1], weights).reduce(0) { $0 + $1.0 * $1.1 }
        case .rbf: return offset + zip(support, weights).reduce(0) { $0 + $1.1 * Self.kernel(x, $1.0, gamma) }
        }
    }

    static func kernel(_ a: [Double], _ b: [Double], _ gamma: Double) -> Double {
        exp(-gamma * zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
    }

    /// The mean squared error of `kind` (λ, γ) over `folds` folds (rows assigned to folds in a seeded order).
    public static func crossValidatedError(_ kind: Kind, x: [[Double]], y: [Double], lambda: Double, gamma: Double,
                                           folds: Int, seed: UInt64) -> Double {
        var rng = RandomGenerator(seed: seed)
        var order = Array(x.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let k = min(folds, x.count)
        var squared = 0.0
        for f in 0..<k {
            let test = Set(order.enumerated().filter { $0.offset % k == f }.map(\.element))
            let train = x.indices.filter { !test.contains($0) }
            guard !train.isEmpty else { continue }
            let model = fit(kind, x: train.map { x[$0] }, y: train.map { y[$0] }, lambda: lambda, gamma: gamma)
            for i in test { squared += pow(model.predict(x[i]) - y[i], 2) }
        }
        return squared / Double(x.count)
    }

    /// The grid: ridge with λ ∈ {10⁻³, 10⁻², 10⁻¹, 1}; RBF with γ ∈ {0.3, 1, 3}/d (d: the vector's length) and
    /// λ ∈ {10⁻³, 10⁻², 10⁻¹}.
    static func grid(dimension d: Int) -> [(Kind, Double, Double)] {
        [1e-3, 1e-2, 1e-1, 1].map { (.ridge, $0, 1) }
            + [0.3, 1, 3].flatMap { g in [1e-3, 1e-2, 1e-1].map { (.rbf, $0, g / Double(max(d, 1))) } }
    }

    /// The grid's model with the least cross-validated error, fitted on all rows, and that error per kind (the best
    /// of each kind's grid).
    public static func select(x: [[Double]], y: [Double], folds: Int = 5, seed: UInt64 = 0) -> (model: FitnessRegression, errors: [Kind: Double]) {
        var best: (Kind, Double, Double, Double)?
        var errors: [Kind: Double] = [:]
        for (kind, lambda, gamma) in grid(dimension: x.first?.count ?? 1) {
            let e = crossValidatedError(kind, x: x, y: y, lambda: lambda, gamma: gamma, folds: folds, seed: seed)
            errors[kind] = min(errors[kind] ?? .infinity, e)
            if e < (best?.3 ?? .infinity) { best = (kind, lambda, gamma, e) }
        }
        let (kind, lambda, gamma, _) = best ?? (.ridge, 1, 1, 0)
        return (fit(kind, x: x, y: y, lambda: lambda, gamma: gamma), errors)
    }

    /// Solves A·z = b for a symmetric positive-definite n × n matrix A (row-major) by Cholesky factorisation;
    /// a non-positive pivot is lifted to 10⁻¹² (the ridge terms keep A well away from that).
    static func choleskySolve(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = i == j ? max(s, 1e-12).squareRoot() : s / l[j * n + j]
            }
        }
        var z = b
        for i in 0..<n {
            for k in 0..<i { z[i] -= l[i * n + k] * z[k] }
            z[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { z[i] -= l[k * n + i] * z[k] }
            z[i] /= l[i * n + i]
        }
        return z
    }
}
