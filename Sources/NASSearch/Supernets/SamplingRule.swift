import NASModels
import NASTensor

/// How a weight-entangled supernet picks the sub-networks it trains at each step (one-shot NAS).
/// Every sub-network is a leading slice of the supernet's largest weights, so training one updates
/// the shared blocks of all that contain it. (The gradient-based *samplers* that turn architecture
/// logits α into weights are another concept.)
///
/// A rule draws from its own generator seeded by (seed, step), never from the training generator, so a
/// step's sub-networks depend on the step alone and a resumed run draws the same ones. What a rule
/// learns as training goes (`observe`) is its `state`, stored in every supernet checkpoint.
public protocol SamplingRule: AnyObject {
    /// The rule's name as the CLI takes it.
    var name: String { get }
    /// Whether the first sub-network of a step is the teacher of the others (in-place distillation,
    /// BigNAS): only it sees the labels and dropout, the others learn from its detached outputs.
    var inPlaceDistillation: Bool { get }
    /// The sub-networks trained at `step`, in order.
    func architectures(step: Int) -> [Architecture]
    /// The loss each of them had at `step` (what an adaptive rule learns from).
    func observe(step: Int, architectures: [Architecture], losses: [Double])
    /// What the next steps depend on besides the step (JSON, for checkpoints).
    var state: JSONValue { get }
    /// Restores a `state` written by the same rule.
    func restore(_ state: JSONValue) throws
}

extension SamplingRule {
    public func observe(step: Int, architectures: [Architecture], losses: [Double]) {}
    public var state: JSONValue { .object([:]) }
    public func restore(_ state: JSONValue) throws {}
}

/// The rules by name.
public enum SamplingRuleKind: String, CaseIterable, Codable, Sendable {
    case uniform, sandwich, complexity

    /// The rule of this kind over `space` (`randomCount`: the random sub-networks of a sandwich or
    /// complexity step; `complexity`: the complexity rule's settings).
    public func make(space: SearchSpace, seed: UInt64, randomCount: Int = 2,
                     complexity: ComplexityRule.Settings = .init()) throws -> SamplingRule {
        switch self {
        case .uniform: return UniformRule(space: space, seed: seed)
        case .sandwich: return SandwichRule(space: space, seed: seed, randomCount: randomCount)
        case .complexity: return try ComplexityRule(space: space, seed: seed, randomCount: randomCount, settings: complexity)
        }
    }
}

/// The generator of one step of a rule (or of any per-step draw that must repeat on resume): a stream keyed by
/// the seed, positioned by the step.
public func stepGenerator(seed: UInt64, step: Int) -> RandomGenerator {
    RandomGenerator(key: RandomGenerator(seed: seed).key ^ 0x53_414D_504C_45, counter: UInt64(step) << 32)
}
