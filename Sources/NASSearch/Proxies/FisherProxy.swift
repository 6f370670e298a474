import NASModels
import NASTensor

/// Fisher (Theis, Korshunova, Tejani & Huszár, "Faster gaze prediction with dense networks and Fisher
/// pruning", 2018; as a NAS proxy: Turner et al., "BlockSwap", ICLR 2020, and Abdelfattah et al.,
/// ICLR 2021). For every FFN layer l and channel i of its pre-activation z = x·W₁ᵀ + b₁
/// (`preActivation`, the first FFN dense output, the map NASLib hooks: a Linear layer's output):
///     score = Σ_l Σ_i ½ · (1/B) Σ_n ( Σ_{t ∈ sequence n} z_{t,i} · ∂L/∂z_{t,i} )²
/// with L the context's LM loss of the whole batch and B its number of sequences.
///
/// The activations are not graph leaves, but the per-channel sum over tokens is exact from the
/// parameter gradients of W₁ and b₁: since z_{t,i} = Σ_j W_ij x_{t,j} + b_i,
///     Σ_t z_{t,i} ∂L/∂z_{t,i} = Σ_j W_ij ∂L/∂W_ij + b_i ∂L/∂b_i.
/// The per-sequence sums come from one forward/backward per sequence of that sequence's share of the
/// batch loss (`ProxyContext.loss(samples:)`; sequences do not interact in eval mode), so the cost is
/// B small passes instead of one large one. Accumulated in Double.
public struct FisherProxy: Proxy {
    public init() {}
    public var name: String { "fisher" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        let model = context.model
        let depth = context.architecture.depth
        let linears = model.blocks.prefix(depth).map { $0.intermediate }
        var total = 0.0
        context.zeroGrad()
        defer { context.zeroGrad() }
        for n in 0..<context.batch.batchSize {
            context.zeroGrad()
            guard let l = Autograd.withGrad({ context.loss(samples: n..<(n + 1)) }) else { continue }
            l.backward()
            for lin in linears {
                guard let gw = lin.weight.grad else { continue }
                let rows = lin.weight.shape[0], cols = lin.weight.shape[1]
                let w = lin.weight.value.scalars, g = gw.scalars
                let b = lin.bias?.value.scalars, gb = lin.bias?.grad?.scalars
                for i in 0..<rows {
                    var v = 0.0
                    for j in 0..<cols { v += Double(w[i * cols + j]) * Double(g[i * cols + j]) }
                    if let b, let gb { v += Double(b[i]) * Double(gb[i]) }
                    total += v * v
                }
            }
        }
        return 0.5 * total / Double(context.batch.batchSize)
    }
}
