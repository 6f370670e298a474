import NASTensor

/// BERT's masked-LM head: transform = LN(act(h·W[:E, :H]ᵀ + b)); logits = transform · Eᵀ + bias, with E
/// the word-embedding table (tied weights). With factorised embeddings (E < H) the dense layer maps the
/// hidden size down to the embedding width, as ELECTRA's generator head does. It runs only on the
/// masked positions it is given.
public final class MaskedLMHead: Module {
    public let dense: Linear
    public let norm: LayerNorm
    public let bias: Parameter
    let activation: Architecture.Activation

    public init(_ arch: Architecture, rng: inout RandomGenerator) {
        dense = Linear(arch.outputWidth, arch.embeddingWidth, name: "cls.predictions.transform.dense", rng: &rng)
        norm = LayerNorm(arch.embeddingWidth, name: "cls.predictions.transform.LayerNorm", eps: arch.layerNormEps)
        bias = Init.zeros([arch.vocabSize], "cls.predictions.bias")
        activation = arch.activation
    }

    public var children: [(name: String, module: any Module)] { [("dense", dense), ("norm", norm)] }
    public var ownParameters: [Parameter] { [bias] }

    /// hidden: [N, H] rows at the masked positions → logits [N, V]. `embeddingWidth` is the running
    /// architecture's (default: H, the unfactorised case).
    public func callAsFunction(_ hidden: Tensor, embeddings: Embedding, embeddingWidth: Int? = nil) -> Tensor {
        let h = embeddingWidth ?? hidden.shape[1]
        return embeddings.logits(norm(activation(dense(hidden, out: h))), bias: bias.tensor)
    }
}
