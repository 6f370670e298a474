import NASTensor

/// The weight-entangled transformer: built at its largest `Architecture`, it runs any architecture that
/// fits in it (`Architecture.fits(in:)`): the first L layers, the leading hidden/qkv/FFN slices of every
/// weight, the first heads. A standalone model is the same type built at exactly one architecture
/// (see `extract`).
public final class Transformer: Module {
    public let maxArchitecture: Architecture
    public let wordEmbeddings: Embedding
    public let positionEmbeddings: Embedding
    public let tokenTypeEmbeddings: Embedding?
    /// Encoder: the embedding LayerNorm. Decoder: the final LayerNorm (`ln_f`).
    public let norm: LayerNorm
    public let blocks: [TransformerBlock]
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1

    public init(_ arch: Architecture, rng: inout RandomGenerator) {
        precondition(arch.isPlain, "Transformer: FlexiBERT operations, FFN stacks, per-layer widths and factorised embeddings are not built yet")
        maxArchitecture = arch
        let h = arch.hidden, eps = arch.layerNormEps
        switch arch.family {
        case .encoder:
            wordEmbeddings = Embedding(arch.vocabSize, h, name: "embeddings.word_embeddings", rng: &rng)
            positionEmbeddings = Embedding(arch.maxPositions, h, name: "embeddings.position_embeddings", rng: &rng)
            tokenTypeEmbeddings = arch.typeVocabSize > 0
                ? Embedding(arch.typeVocabSize, h, name: "embeddings.token_type_embeddings", rng: &rng) : nil
            norm = LayerNorm(h, name: "embeddings.LayerNorm", eps: eps)
        case .decoder:
            wordEmbeddings = Embedding(arch.vocabSize, h, name: "wte", rng: &rng)
            positionEmbeddings = Embedding(arch.maxPositions, h, name: "wpe", rng: &rng)
            tokenTypeEmbeddings = nil
            norm = LayerNorm(h, name: "ln_f", eps: eps)
        }
        blocks = arch.layers.enumerated().map { i, layer in
            TransformerBlock(family: arch.family, activation: arch.activation, hidden: h, layer: layer, index: i,
                             eps: eps, rng: &rng)
        }
    }

    public convenience init(_ arch: Architecture, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        self.init(arch, rng: &rng)
    }

    public var parameters: [Parameter] {
        wordEmbeddings.parameters + positionEmbeddings.parameters + (tokenTypeEmbeddings?.parameters ?? [])
            + norm.parameters + blocks.flatMap(\.parameters)
    }

    /// A standalone model of exactly `arch`, holding copies of this supernet's leading slices.
    public func extract(_ arch: Architecture) -> Transformer {
        precondition(arch.fits(in: maxArchitecture), "extract: architecture does not fit in the supernet")
        var rng = RandomGenerator(seed: 0)
        let model = Transformer(arch, rng: &rng)
        model.hiddenDropout = hiddenDropout
        model.attentionDropout = attentionDropout
        model.loadLeadingSlices(from: self)
        return model
    }

    public struct Output {
        /// The last layer's output [B, T, H] (decoders: after the final LayerNorm).
        public var hidden: Tensor
        /// The embedding output, then each layer's output, [B, T, H] each.
        public var hiddenStates: [Tensor]
        /// Each layer's attention, FFN pre-activation and q/k/v.
        public var layers: [TransformerBlock.Result]
    }

    /// Runs `architecture` (default: the largest) on a batch. Dropout only when `training`.
    /// `embeddingHook` may replace the embedding output [B, T, H] before the first layer (e.g. by a
    /// parameter leaf, for gradients with respect to the input as Jacobian-based proxies need).
    public func callAsFunction(_ batch: TokenBatch, architecture: Architecture? = nil, training: Bool = false,
                               rng: inout RandomGenerator, embeddingHook: ((Tensor) -> Tensor)? = nil) -> Output {
        let arch = architecture ?? maxArchitecture
        precondition(arch.fits(in: maxArchitecture), "Transformer: architecture does not fit in the supernet")
        let b = batch.batchSize, t = batch.length, h = arch.hidden
        precondition(t <= arch.maxPositions, "Transformer: sequence length \(t) exceeds max positions \(arch.maxPositions)")
        let hiddenDrop = training ? hiddenDropout : 0, attnDrop = training ? attentionDropout : 0

        var x = wordEmbeddings(batch.ids, dim: h).reshaped([b, t, h])
            + positionEmbeddings(Array(0..<Int32(t)), dim: h)
        if let types = tokenTypeEmbeddings {
            x = x + types(batch.typeIds ?? [Int32](repeating: 0, count: b * t), dim: h).reshaped([b, t, h])
        }
        var mask: Tensor?
        switch arch.family {
        case .encoder:
            x = norm(x)
            if let m = batch.attentionMask {
                mask = Tensor(shape: [b, 1, 1, t], scalars: m.map { $0 > 0 ? 0 : -1e9 })
            }
        case .decoder:
            var causal = [Float](repeating: 0, count: t * t)
            for i in 0..<t { for j in (i + 1)..<max(t, i + 1) { causal[i * t + j] = -.infinity } }
            mask = Tensor(shape: [t, t], scalars: causal)
            if let m = batch.attentionMask {
                mask = mask! + Tensor(shape: [b, 1, 1, t], scalars: m.map { $0 > 0 ? 0 : -1e9 })
            }
        }
        if hiddenDrop > 0 { x = x.dropout(p: hiddenDrop, using: &rng) }
        if let embeddingHook { x = embeddingHook(x) }

        var states = [x], results: [TransformerBlock.Result] = []
        for (i, layer) in arch.layers.enumerated() {
            let r = blocks[i](x, layer: layer, mask: mask, hiddenDropout: hiddenDrop, attentionDropout: attnDrop, rng: &rng)
            x = r.output
            states.append(x)
            results.append(r)
        }
        if arch.family == .decoder { x = norm(x) }
        return Output(hidden: x, hiddenStates: states, layers: results)
    }

    /// Inference without dropout or graph.
    public func callAsFunction(_ batch: TokenBatch, architecture: Architecture? = nil) -> Output {
        var rng = RandomGenerator(seed: 0)
        return Autograd.noGrad { self(batch, architecture: architecture, training: false, rng: &rng) }
    }
}
