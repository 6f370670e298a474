import NASModels
import NASTensor

/// SNIP connection sensitivity (Lee, Ajanthan & Torr, "SNIP: single-shot network pruning based on
/// connection sensitivity", ICLR 2019), summed as a zero-cost proxy (Abdelfattah et al., "Zero-cost
/// proxies for lightweight NAS", ICLR 2021):
///     score = Σ_θ |θ · ∂L/∂θ|
/// over the context's scored parameters (the backbone's weight matrices), with L the LM loss of the
/// batch (masked LM for encoders, causal LM for decoders). Products are summed in Double.
public struct SNIPProxy: Proxy {
    public init() {}
    public var name: String { "snip" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        let params = context.scoredParameters
        let grads = context.scoredGradients
        var s = 0.0
        for (p, g) in zip(params, grads) {
            let x = p.value.scalars, y = g.scalars
            for i in x.indices { s += Swift.abs(Double(x[i]) * Double(y[i])) }
        }
        return s
    }
}
