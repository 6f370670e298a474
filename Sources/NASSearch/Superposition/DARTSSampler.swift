import NASTensor

/// DARTS (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019): the continuous
/// relaxation w = softmax(α), deterministic (draws nothing from the generator).
/// Backward: ∂L/∂α = w ⊙ (∂L/∂w − ⟨∂L/∂w, w⟩).
public struct DARTSSampler: ArchitectureSampler {
    public init() {}

    public var name: String { "darts" }

    public func weights(_ alpha: Tensor, step: Int, totalSteps: Int, using rng: inout RandomGenerator) -> Tensor {
        alpha.softmax()
    }
}
