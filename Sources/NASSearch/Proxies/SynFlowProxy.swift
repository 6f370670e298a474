import NASModels
import NASTensor

/// SynFlow (Tanaka, Kunin, Yamins & Ganguli, "Pruning neural networks without any data by iteratively
/// conserving synaptic flow", NeurIPS 2020), as a zero-cost proxy (Abdelfattah et al., ICLR 2021):
///     score = Σ_θ θ · ∂R/∂θ,   R = 1ᵀ f_{|θ|}(𝟙)
/// with every parameter replaced by its absolute value (values are copied and restored afterwards) and
/// the input all ones. Transformer adaptation:
/// - **Input** (`input`). `.onesEmbeddingOutput` (default): the embedding output [1, T, H] is replaced by
///   ones through `Transformer`'s `embeddingHook`. `.onesTokenEmbeddings`: every word-embedding row is
///   set to ones instead, so the input is 𝟙 + |position| (+ |type|) through the embedding LayerNorm and
///   projection as the model computes it. One sequence of the batch's length, no padding mask.
/// - **Output.** R is the sum of the LM logits over all positions and the vocabulary (the MLM head for
///   encoders, the tied projection after `ln_f` for decoders), computed exactly from the column sums of
///   |E| (`ProxyContext.vocabularySummedLogits`). The backbone's own last hidden state cannot serve:
///   after a final LayerNorm with γ = 1, β = 0 it sums to exactly 0 at every token.
/// - **LayerNorm stays.** The model offers no way to bypass it (zero-cost-nas removes BatchNorm for
///   SynFlow), so the flow is not sign-preserving and the score is not guaranteed positive. LayerNorm
///   maps a constant vector to β: with the default input a pre-LN decoder at its initialisation
///   (β = 0, zero biases) sends exactly 0 through every sublayer, and its score is exactly 0 for every
///   architecture — use `.onesTokenEmbeddings` for decoders. LayerNorm γ, β (and embeddings, biases and
///   the head) are excluded from the sum, which runs over the scored parameters (the backbone's weight
///   matrices), as NASLib sums over Conv/Linear weights only.
/// - **Overflow.** Every LayerNorm renormalises the activations, so a Float forward cannot blow up as
///   in deep plain networks; the products θ·∂R/∂θ are accumulated in Double. A non-finite result is
///   returned as is.
public struct SynFlowProxy: Proxy {
    public enum Input: String, Sendable {
        case onesEmbeddingOutput, onesTokenEmbeddings
    }

    public var input: Input

    public init(input: Input = .onesEmbeddingOutput) { self.input = input }

    public var name: String { "synflow" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        let all = context.lossParameters
        let saved = all.map { $0.value }
        defer { for (p, v) in zip(all, saved) { p.value = v } }
        Autograd.noGrad { for p in all { p.value = p.value.abs() } }
        // The head's tied projection uses |E| even when the input rows of E become ones.
        let columnSums = context.vocabularyColumnSums()
        let t = context.batch.length
        let tokens = TokenBatch(ids: [Int32](repeating: 0, count: t), batchSize: 1, length: t)
        var hook: ((Tensor) -> Tensor)?
        switch input {
        case .onesEmbeddingOutput:
            hook = { x in Tensor(repeating: 1, shape: x.shape) }
        case .onesTokenEmbeddings:
            let table = context.model.wordEmbeddings.weight
            table.value = Tensor(repeating: 1, shape: table.shape)
        }
        context.zeroGrad()
        defer { context.zeroGrad() }
        let r = Autograd.withGrad { () -> Tensor in
            let out = context.forward(tokens, embeddingHook: hook)
            return context.vocabularySummedLogits(out, columnSums: columnSums).sum()
        }
        r.backward()
        var s = 0.0
        for p in context.scoredParameters {
            guard let g = p.grad else { continue }
            s += ProxyContext.dot(p.value, g)
        }
        return s
    }
}
