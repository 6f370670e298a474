import NASTensor

/// SPOS (Guo et al., "Single Path One-Shot Neural Architecture Search with Uniform Sampling", ECCV 2020):
/// the non-gradient baseline — w is a one-hot vector on a choice drawn uniformly (one `RandomGenerator`
/// draw, index = draw mod n, the `uniform` sampling rule's draw), independent of α and outside the graph,
/// so α receives no gradient.
public struct SPOSSampler: ArchitectureSampler {
    public init() {}

    public var name: String { "spos" }

    public func weights(_ alpha: Tensor, step: Int, totalSteps: Int, using rng: inout RandomGenerator) -> Tensor {
        var hot = [Float](repeating: 0, count: alpha.count)
        if !hot.isEmpty { hot[uniformIndex(hot.count, using: &rng)] = 1 }
        return Tensor(shape: alpha.shape, scalars: hot)
    }
}
