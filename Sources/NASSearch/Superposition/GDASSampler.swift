import Foundation
import NASTensor

/// GDAS (Dong & Yang, "Searching for a Robust Neural Architecture in Four GPU Hours", CVPR 2019): a hard
/// Gumbel-softmax sample with the straight-through estimator,
///     g_i = −log(−log u_i),  u_i uniform on (0, 1) (drawn in order i = 0…n−1),
///     y = softmax((α + g) / τ),   w = onehot(argmax(α + g)) − sg(y) + y,
/// so the forward weights are exactly one-hot (one choice runs) while the gradient is the relaxed one,
/// ∂L/∂α = (1/τ)·y ⊙ (∂L/∂w − ⟨∂L/∂w, y⟩). The temperature falls linearly over the search,
///     τ(step) = τ_max − (τ_max − τ_min) · step / (totalSteps − 1),
/// from τ_max (default 10) at step 0 to τ_min (default 0.1) at the last step, as in the authors' code.
public struct GDASSampler: ArchitectureSampler {
    public var tauMax: Float
    public var tauMin: Float

    public init(tauMax: Float = 10, tauMin: Float = 0.1) {
        precondition(tauMax >= tauMin && tauMin > 0, "GDASSampler: need tauMax ≥ tauMin > 0, got \(tauMax), \(tauMin)")
        self.tauMax = tauMax
        self.tauMin = tauMin
    }

    public var name: String { "gdas" }

    /// τ at `step` of `totalSteps` (a single-step search uses τ_min; steps outside the run are clamped).
    public func temperature(step: Int, totalSteps: Int) -> Float {
        guard totalSteps > 1 else { return tauMin }
        let progress = Swift.min(Swift.max(Double(step) / Double(totalSteps - 1), 0), 1)
        return Float(Double(tauMax) - Double(tauMax - tauMin) * progress)
    }

    public func weights(_ alpha: Tensor, step: Int, totalSteps: Int, using rng: inout RandomGenerator) -> Tensor {
        let n = alpha.count
        let noise = (0..<n).map { _ in Float(-Foundation.log(-Foundation.log(rng.uniformOpen()))) }
        let perturbed = alpha + Tensor(shape: alpha.shape, scalars: noise)
        let values = perturbed.scalars
        let best = values.indices.max { values[$0] < values[$1] || (values[$0] == values[$1] && $0 > $1) } ?? 0
        var hot = [Float](repeating: 0, count: n)
        if n > 0 { hot[best] = 1 }
        let y = (perturbed * (1 / temperature(step: step, totalSteps: totalSteps))).softmax()
        return (y - y.detached()) + Tensor(shape: alpha.shape, scalars: hot)
    }
}
