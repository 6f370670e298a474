import NASModels
import NASTensor

/// Gradient norm (Abdelfattah et al., "Zero-cost proxies for lightweight NAS", ICLR 2021):
///     score = Σ_p ‖∂L/∂θ_p‖₂
/// the sum over the scored parameter tensors p (the backbone's weight matrices) of each tensor's
/// Euclidean gradient norm — NASLib's definition (a sum of per-layer norms), not the global norm
/// √(Σ_p ‖∂L/∂θ_p‖²). L is the context's LM loss. Accumulated in Double.
public struct GradNormProxy: Proxy {
    public init() {}
    public var name: String { "grad-norm" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        let grads = context.scoredGradients
        var s = 0.0
        for g in grads {
            var sq = 0.0
            for v in g.scalars { sq += Double(v) * Double(v) }
            s += sq.squareRoot()
        }
        return s
    }
}
