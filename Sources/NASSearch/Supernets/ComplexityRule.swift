import Foundation
import NASModels
import NASTensor

/// Complexity-aware sampling (after ShiftNAS; Zhang et al., "ShiftNAS: Improving One-shot NAS via
/// Probability Shift", ICCV 2023). Uniform sampling over genomes concentrates on mid-sized
/// sub-networks; this rule samples over *complexity* instead, and shifts the sampling toward the sizes
/// whose loss still improves. ShiftNAS's code was never released, so this is our reading of the paper:
///
/// - **Bins.** The space's complexity range [c(smallest), c(largest)] (parameters, or FLOPs at
///   `sequenceLength`) is cut into K equal-width bins.
/// - **Distribution.** p over the bins starts uniform. Each bin keeps an exponential moving average
///   (factor 0.1) of the losses its sub-networks had (`observe`). Every `updateEvery` steps the
///   improvement of bin k since the last update is r_k = max(0, (L_k^before − L_k^now) / L_k^before),
///   and p_k = (1 − ε)·r_k / Σr + ε/K (uniform when no bin improved; ε = 0.2 keeps every size in
///   training). Sizes that still learn get more steps; ShiftNAS shifts by the change of the loss too.
/// - **Generator.** ShiftNAS trains a network that outputs an architecture of a requested complexity;
///   here a search plays its part: up to 64 uniform genomes are drawn and the first inside the bin is
///   taken, else the one nearest to it is moved by AutoTinyBERT's step mutation, keeping moves that
///   bring it nearer, for up to 256 moves (a bin the space cannot reach gives its nearest member).
/// - **Step.** As the sandwich rule, on which ShiftNAS builds: the largest (labels, dropout) and the
///   smallest, then `randomCount` sub-networks from bins drawn from p, all distilled in place from the
///   largest. The losses observed are the drawn members' in-place distillation losses.
public final class ComplexityRule: SamplingRule {
    public let space: SearchSpace
    public let seed: UInt64
    public let randomCount: Int
    public let cost: CostKind
    public let sequenceLength: Int
    public let updateEvery: Int
    public let epsilon: Double
    /// Bin edges: K + 1 increasing complexities.
    public let edges: [Double]
    let largest: Architecture, smallest: Architecture

    struct State: Codable, Equatable {
        var probabilities: [Double]
        /// Moving average of each bin's loss (nil until it is observed), and its value at the last update.
        var average: [Double?]
        var before: [Double?]
        /// Sub-networks trained per bin so far.
        var counts: [Int]
    }
    var current: State

    public var name: String { "complexity" }
    public var inPlaceDistillation: Bool { true }
    public var bins: Int { edges.count - 1 }
    /// The sampling distribution over the bins.
    public var probabilities: [Double] { current.probabilities }
    /// Sub-networks trained per bin so far.
    public var counts: [Int] { current.counts }

    public init(space: SearchSpace, seed: UInt64, randomCount: Int = 2, bins: Int = 8, cost: CostKind = .params,
                sequenceLength: Int = 128, updateEvery: Int = 50, epsilon: Double = 0.2) throws {
        guard bins >= 1, randomCount >= 0, cost != .latency, updateEvery >= 0, (0...1).contains(epsilon) else {
            throw SupernetError(field: "complexity rule", message: "needs bins ≥ 1, randomCount ≥ 0, params or FLOPs, updateEvery ≥ 0, ε in [0, 1]")
        }
        self.space = space; self.seed = seed; self.randomCount = randomCount; self.cost = cost
        self.sequenceLength = sequenceLength; self.updateEvery = updateEvery; self.epsilon = epsilon
        largest = space.largest; smallest = space.smallest
        let lo = Self.complexity(smallest, cost, sequenceLength), hi = Self.complexity(largest, cost, sequenceLength)
        edges = (0...bins).map { lo + (hi - lo) * Double($0) / Double(bins) }
        current = State(probabilities: Array(repeating: 1 / Double(bins), count: bins),
                        average: Array(repeating: nil, count: bins), before: Array(repeating: nil, count: bins),
                        counts: Array(repeating: 0, count: bins))
    }

    static func complexity(_ arch: Architecture, _ cost: CostKind, _ t: Int) -> Double {
        cost == .flops ? Double(arch.flops(sequenceLength: t)) : Double(arch.parameterCount)
    }

    /// The bin of a complexity (values outside the range go to the nearest end bin).
    public func bin(of value: Double) -> Int {
        guard let i = edges.dropFirst().firstIndex(where: { value <= $0 }) else { return bins - 1 }
        return max(0, i - 1)
    }

    public func bin(of arch: Architecture) -> Int { bin(of: Self.complexity(arch, cost, sequenceLength)) }

    /// A bin drawn from the current distribution.
    func drawBin(using rng: inout RandomGenerator) -> Int {
        let u = Double(rng.uniform())
        var total = 0.0
        for (k, p) in current.probabilities.enumerated() {
            total += p
            if u < total { return k }
        }
        return bins - 1
    }

    /// A member of the space whose complexity lies in bin `k` (or as near to it as the search gets).
    public func generate(bin k: Int, using rng: inout RandomGenerator) -> Architecture {
        let lo = edges[k], hi = edges[k + 1]
        func distance(_ g: Genome) -> Double {
            let c = Self.complexity(space.decode(g), cost, sequenceLength)
            return c < lo ? lo - c : c > hi ? c - hi : 0
        }
        var best = space.sample(using: &rng), bestDistance = distance(best)
        for _ in 1..<64 where bestDistance > 0 {
            let g = space.sample(using: &rng), d = distance(g)
            if d < bestDistance { (best, bestDistance) = (g, d) }
        }
        for _ in 0..<256 where bestDistance > 0 {
            let g = space.stepMutate(best, probability: 0.2, using: &rng), d = distance(g)
            if d < bestDistance { (best, bestDistance) = (g, d) }
        }
        return space.decode(best)
    }

    public func architectures(step: Int) -> [Architecture] {
        var rng = stepGenerator(seed: seed, step: step)
        return [largest, smallest] + (0..<randomCount).map { _ in generate(bin: drawBin(using: &rng), using: &rng) }
    }

    public func observe(step: Int, architectures: [Architecture], losses: [Double]) {
        // The extremes are trained every step (the largest on labels): only the drawn members inform the bins.
        for (arch, loss) in zip(architectures, losses).dropFirst(2) where loss.isFinite {
            let k = bin(of: arch)
            current.counts[k] += 1
            current.average[k] = current.average[k].map { 0.9 * $0 + 0.1 * loss } ?? loss
        }
        guard updateEvery > 0, (step + 1) % updateEvery == 0 else { return }
        let gains = (0..<bins).map { k -> Double in
            guard let before = current.before[k], let now = current.average[k], before > 0 else { return 0 }
            return max(0, (before - now) / before)
        }
        let total = gains.reduce(0, +)
        current.probabilities = gains.map { total > 0 ? (1 - epsilon) * $0 / total + epsilon / Double(bins) : 1 / Double(bins) }
        current.before = current.average
    }

    /// Sets the distribution (tests; a rule with `updateEvery` 0 keeps it).
    public func setProbabilities(_ p: [Double]) {
        precondition(p.count == bins && abs(p.reduce(0, +) - 1) < 1e-9, "ComplexityRule: \(bins) probabilities summing to 1")
        current.probabilities = p
    }

    public var state: JSONValue { (try? JSONValue(encoding: current)) ?? .null }

    public func restore(_ state: JSONValue) throws {
        let restored: State
        do { restored = try state.decode(State.self) } catch {
            throw SupernetError(field: "ruleState", message: "cannot read the complexity rule's state: \(error)")
        }
        guard restored.probabilities.count == bins, restored.average.count == bins, restored.before.count == bins,
              restored.counts.count == bins else {
            throw SupernetError(field: "ruleState", message: "holds \(restored.probabilities.count) bins, the rule has \(bins)")
        }
        current = restored
    }
}
