import NASModels

/// The sandwich rule with in-place distillation (BigNAS; Yu et al., ECCV 2020, after slimmable networks'
/// rule, Yu & Huang, ICCV 2019): each step trains the largest sub-network, the smallest and
/// `randomCount` uniformly sampled ones, accumulating their gradients into one update. Only the largest
/// sees the labels and dropout; the others learn from its detached outputs on the same batch. Training
/// both extremes every step lifts the whole performance envelope.
public final class SandwichRule: SamplingRule {
    public let space: SearchSpace
    public let seed: UInt64
    public let randomCount: Int
    let largest: Architecture, smallest: Architecture
    public var name: String { "sandwich" }
    public var inPlaceDistillation: Bool { true }

    public init(space: SearchSpace, seed: UInt64, randomCount: Int = 2) {
        precondition(randomCount >= 0, "SandwichRule: randomCount must be ≥ 0")
        self.space = space; self.seed = seed; self.randomCount = randomCount
        largest = space.largest; smallest = space.smallest
    }

    public func architectures(step: Int) -> [Architecture] {
        var rng = stepGenerator(seed: seed, step: step)
        return [largest, smallest] + (0..<randomCount).map { _ in space.decode(space.sample(using: &rng)) }
    }
}
