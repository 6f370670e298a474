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
///   improvement of bin k since the last update is r_k = (L_k^before − L_k^now) / L_k^before (a bin
///   not yet seen twice gets the mean of the others), standardised across bins,
///   z_k = (r_k − mean r) / std r, and p_k ∝ ρ^(clip(z_k, −1, 1) / 2) (uniform when all r are equal):
///   sizes that still learn get more steps (ShiftNAS shifts by the change of the loss too), but no bin
///   gets more than ρ times (default ρ = 4) the probability of another. For the first `warmupSteps`
///   (default 200) p stays uniform while the averages fill. Why bounded and warmed up: our first version,
///   p_k = (1 − ε)·max(0, r_k)/Σ max(0, r) + ε/K, collapsed onto one bin (0.825 on the smallest of 8) within
///   a few updates on the FlexiBERT space, because an early bin average rests on a handful of noisy
///   draws and a proportional shift makes one noisy winner take almost everything; the inherited losses
///   then ranked the space backwards (`results/supernet/README.md`).
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
    public let settings: Settings
    var cost: CostKind { settings.cost }
    var sequenceLength: Int { settings.sequenceLength }

    /// The rule's knobs: K bins of the cost (parameters, or FLOPs at `sequenceLength`), an update of p
    /// every `updateEvery` steps (0: p stays as set), uniform for the first `warmupSteps`, and ρ.
    public struct Settings: Sendable {
        public var bins = 8
        public var cost = CostKind.params
        public var sequenceLength = 128
        public var updateEvery = 50
        public var warmupSteps = 200
        /// The largest ratio between two bins' probabilities (ρ).
        public var maxRatio = 4.0

        public init(bins: Int = 8, cost: CostKind = .params, sequenceLength: Int = 128, updateEvery: Int = 50,
                    warmupSteps: Int = 200, maxRatio: Double = 4) {
            self.bins = bins; self.cost = cost; self.sequenceLength = sequenceLength; self.updateEvery = updateEvery
            self.warmupSteps = warmupSteps; self.maxRatio = maxRatio
        }
    }
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

    public init(space: SearchSpace, seed: UInt64, randomCount: Int = 2, settings: Settings = Settings()) throws {
        let s = settings
        guard s.bins >= 1, randomCount >= 0, s.cost != .latency, s.updateEvery >= 0, s.warmupSteps >= 0, s.maxRatio >= 1 else {
            throw SupernetError(field: "complexity rule",
                                message: "needs bins ≥ 1, randomCount ≥ 0, params or FLOPs, updateEvery ≥ 0, warmupSteps ≥ 0, maxRatio ≥ 1")
        }
        self.space = space; self.seed = seed; self.randomCount = randomCount; self.settings = settings
        let bins = s.bins
        largest = space.largest; smallest = space.smallest
        let lo = Self.complexity(smallest, s.cost, s.sequenceLength), hi = Self.complexity(largest, s.cost, s.sequenceLength)
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
        guard settings.updateEvery > 0, (step + 1) % settings.updateEvery == 0 else { return }
        defer { current.before = current.average }
        guard step + 1 > settings.warmupSteps else { return }
        current.probabilities = Self.shifted(gains: (0..<bins).map { k -> Double? in
            guard let before = current.before[k], let now = current.average[k], before > 0 else { return nil }
            return (before - now) / before
        }, maxRatio: settings.maxRatio)
    }

    /// p_k ∝ ρ^(clip(z_k, −1, 1) / 2) for the standardised gains z (unknown gains count as the mean).
    static func shifted(gains: [Double?], maxRatio: Double) -> [Double] {
        let known = gains.compactMap { $0 }
        let mean = known.isEmpty ? 0 : known.reduce(0, +) / Double(known.count)
        let r = gains.map { $0 ?? mean }
        let std = (r.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(r.count)).squareRoot()
        let weights = r.map { std > 0 ? pow(maxRatio, min(1, max(-1, ($0 - mean) / std)) / 2) : 1 }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// Sets the distribution (tests; a rule with `settings.updateEvery` 0 keeps it).
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
