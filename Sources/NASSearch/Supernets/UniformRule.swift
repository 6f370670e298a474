import NASModels

/// One sub-network per step, every gene uniformly at random (AutoTinyBERT's SuperPLM training; Yin et
/// al., ACL 2021; SPOS, Guo et al., ECCV 2020). It sees the labels (and the teacher, when distilling).
/// Uniform over genomes is not uniform over sizes: most draws are mid-sized (see `ComplexityRule`).
public final class UniformRule: SamplingRule {
    public let space: SearchSpace
    public let seed: UInt64
    public var name: String { "uniform" }
    public var inPlaceDistillation: Bool { false }

    public init(space: SearchSpace, seed: UInt64) {
        self.space = space; self.seed = seed
    }

    public func architectures(step: Int) -> [Architecture] {
        var rng = stepGenerator(seed: seed, step: step)
        return [space.decode(space.sample(using: &rng))]
    }
}
