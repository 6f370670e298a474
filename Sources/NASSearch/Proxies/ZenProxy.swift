import Foundation
import NASModels
import NASTensor

/// Zen-score (Lin et al., "Zen-NAS: a zero-shot NAS for high-performance image recognition",
/// ICCV 2021), adapted to transformers:
///     score = log E_n [ Σ_{t,d} | f(x)_{n,t,d} − f(x + α·ε)_{n,t,d} | ],   x, ε ~ N(0, 1),  α = 0.01,
/// where x replaces the embedding output (through `embeddingHook`, shape [B, T, H]), f is the
/// backbone's last hidden state (decoders: after `ln_f`), the sum runs over the real tokens of sequence
/// n and all hidden units, and E_n is the mean over the B sequences (one draw of x and ε, seeded).
/// Adaptation: Zen-NAS adds Σ log √(mean BN running variance) over its BatchNorm layers to undo the
/// normalisation's rescaling. Transformers have LayerNorm instead, whose inputs the model does not
/// expose (post-LN blocks normalise x + sublayer(x) internally), so that term is dropped: the score is
/// the log of the expected output perturbation alone. The weights are the context's N(0, 0.02²)
/// initialisation (Zen-NAS re-draws N(0, 1)). No gradients (`Autograd.noGrad`).
public struct ZenProxy: Proxy {
    public var alpha: Float

    public init(alpha: Float = 0.01) { self.alpha = alpha }

    public var name: String { "zen" }
    public var needsGradients: Bool { false }

    public func score(_ context: ProxyContext) throws -> Double {
        guard alpha > 0 && alpha.isFinite else { throw ProxyError.invalidOption(proxy: name, message: "α = \(alpha) must be positive") }
        var rng = RandomGenerator(seed: context.seed ^ 0x5A45_4E)  // "ZEN"
        var x: Tensor?
        let (a, b): (Tensor, Tensor) = Autograd.noGrad {
            let clean = context.forward(embeddingHook: { e in
                let v = Tensor.randomNormal(e.shape, using: &rng)
                x = v
                return v
            }).hidden
            let noisy = context.forward(embeddingHook: { e in
                x! + Tensor.randomNormal(e.shape, using: &rng) * alpha
            }).hidden
            return (clean, noisy)
        }
        let h = a.shape.last!, u = a.scalars, v = b.scalars
        var total = 0.0
        for i in 0..<(u.count / h) where context.isReal(i) {
            for d in 0..<h { total += Swift.abs(Double(u[i * h + d]) - Double(v[i * h + d])) }
        }
        return Foundation.log(total / Double(context.batch.batchSize))
    }
}
