import NASTensor

/// DrNAS (Chen, Wang, Cheng, Tang & Hsieh, "DrNAS: Dirichlet Neural Architecture Search", ICLR 2021):
/// the weights are one sample of a Dirichlet distribution whose concentrations come from α,
///     c = ELU(α) + 1 (> 0),   w ~ Dirichlet(c),
/// drawn as normalised Gamma(c_i, 1) variables and differentiated by implicit reparameterisation
/// (`Tensor.dirichletSample(using:)`), so ∂E[w]/∂α is estimated without bias by ∂w/∂α.
public struct DrNASSampler: ArchitectureSampler {
    public init() {}

    public var name: String { "drnas" }

    public func weights(_ alpha: Tensor, step: Int, totalSteps: Int, using rng: inout RandomGenerator) -> Tensor {
        (alpha.elu() + 1).dirichletSample(using: &rng)
    }
}
