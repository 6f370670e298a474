import NASTensor

/// The weight-entangled transformer: built at its largest `Architecture`, it runs any architecture that
/// fits in it (`Architecture.fits(in:)`): the first L layers, the leading hidden/qkv/FFN slices of every
/// weight, the first heads. A standalone model is the same type built at exactly one architecture
/// (see `extract`).
///
/// FlexiBERT layers (Tuli et al., 2023) are built too: each layer's token mixer (`TokenMixer`: SDP, WMA,
/// DFT, DCT, dynamic convolution), stacked FFN dense layers, per-layer hidden widths joined by linear
/// input projections, and factorised embeddings (E-wide tables and LayerNorm, then a Linear E → H,
/// ELECTRA's `embeddings_project`). A sub-network can only use a projection the supernet has: it must
/// change width where the supernet does (checked when it runs). A layer may also be `projected` at an
/// unchanged width (a block-wise student's adapter, `BlockwiseStudent`). The DFT, DCT and convolution mixers
/// have no attention mask: they mix over the full padded length (as FNet and ConvBERT do), so padding
/// changes real tokens' outputs in those layers; decoders refuse them (they would see the future).
/// A supernet may also hold several operations per layer (`OperationChoices`), one weight set each, and
/// route its FFN weights by architecture (`ExpertRouting`, Mixture-of-Supernets): then every layer's
/// FFN runs W = Σ_k α_k(a) ⊙ E_k with a the running architecture's vector, and `extract` collapses the
/// experts into the plain model of that architecture.
public final class Transformer: Module {
    public let maxArchitecture: Architecture
    /// The other operations every layer holds (nil: each layer holds its own only).
    public let choices: OperationChoices?
    /// The FFN expert routing (nil: plain weights; never with fewer than 2 experts).
    public let routing: ExpertRouting?
    public let wordEmbeddings: Embedding
    public let positionEmbeddings: Embedding
    public let tokenTypeEmbeddings: Embedding?
    /// Encoder: the embedding LayerNorm (over the embedding width). Decoder: the final LayerNorm (`ln_f`,
    /// over the output width).
    public let norm: LayerNorm
    /// Linear(E → H) after factorised embeddings (`embeddings.embeddings_project`); nil when E = H.
    public let embeddingsProjection: Linear?
    /// Per layer: Linear(previous width → layer width) when the width changes before it, else nil.
    public let inputProjections: [Linear?]
    public let blocks: [TransformerBlock]
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1

    public init(_ arch: Architecture, choices: OperationChoices? = nil, routing: ExpertRouting? = nil, rng: inout RandomGenerator) {
        let operations = arch.layers.map(\.operation) + (choices?.operations ?? [])
        if arch.family == .decoder, let op = operations.first(where: { !$0.isAttention }) {
            preconditionFailure("Transformer: a decoder layer would use \(op), which mixes "
                + "all positions and would leak the future; decoders support sdp and wma only")
        }
        maxArchitecture = arch
        self.choices = choices
        self.routing = (routing?.experts ?? 0) > 1 ? routing : nil
        let e = arch.embeddingWidth, eps = arch.layerNormEps
        switch arch.family {
        case .encoder:
            wordEmbeddings = Embedding(arch.vocabSize, e, name: "embeddings.word_embeddings", rng: &rng)
            positionEmbeddings = Embedding(arch.maxPositions, e, name: "embeddings.position_embeddings", rng: &rng)
            tokenTypeEmbeddings = arch.typeVocabSize > 0
                ? Embedding(arch.typeVocabSize, e, name: "embeddings.token_type_embeddings", rng: &rng) : nil
            norm = LayerNorm(e, name: "embeddings.LayerNorm", eps: eps)
        case .decoder:
            wordEmbeddings = Embedding(arch.vocabSize, e, name: "wte", rng: &rng)
            positionEmbeddings = Embedding(arch.maxPositions, e, name: "wpe", rng: &rng)
            tokenTypeEmbeddings = nil
            norm = LayerNorm(arch.outputWidth, name: "ln_f", eps: eps)
        }
        embeddingsProjection = e != arch.hidden
            ? Linear(e, arch.hidden, name: arch.family == .encoder ? "embeddings.embeddings_project" : "embeddings_project", rng: &rng)
            : nil
        var projections: [Linear?] = [], blocks: [TransformerBlock] = []
        var previous = arch.hidden
        for (i, layer) in arch.layers.enumerated() {
            let w = arch.width(ofLayer: i)
            let name = (arch.family == .encoder ? "encoder.layer.\(i)." : "h.\(i).") + "input_projection"
            projections.append(arch.hasInputProjection(i) ? Linear(previous, w, name: name, rng: &rng) : nil)
            previous = w
            blocks.append(TransformerBlock(family: arch.family, activation: arch.activation, hidden: w, layer: layer,
                                           index: i, eps: eps, choices: choices, routing: self.routing, rng: &rng))
        }
        inputProjections = projections
        self.blocks = blocks
    }

    public convenience init(_ arch: Architecture, choices: OperationChoices? = nil, routing: ExpertRouting? = nil, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        self.init(arch, choices: choices, routing: routing, rng: &rng)
    }

    /// The router input of each of `arch`'s layers (nil: a plain model).
    func routes(_ arch: Architecture) -> [[Float]]? {
        routing == nil ? nil : arch.layers.indices.map { ExpertRouting.input(arch, layer: $0, largest: maxArchitecture) }
    }

    /// Whether `arch` runs on these weights (`Architecture.fits(in:choices:)`).
    public func holds(_ arch: Architecture) -> Bool { arch.fits(in: maxArchitecture, choices: choices) }

    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = [("wordEmbeddings", wordEmbeddings), ("positionEmbeddings", positionEmbeddings)]
        if let tokenTypeEmbeddings { list.append(("tokenTypeEmbeddings", tokenTypeEmbeddings)) }
        list.append(("norm", norm))
        if let embeddingsProjection { list.append(("embeddingsProjection", embeddingsProjection)) }
        for (i, (projection, block)) in zip(inputProjections, blocks).enumerated() {
            if let projection { list.append(("inputProjections.\(i)", projection)) }
            list.append(("blocks.\(i)", block))
        }
        return list
    }

    /// A standalone model of exactly `arch`, holding copies of this supernet's leading slices. Each
    /// layer's mixer is copied from the supernet's mixer of the same operation (matched by structure,
    /// since the supernet names its other operations apart); every other weight by name. A routed
    /// supernet's FFN experts are first collapsed for `arch`: W = Σ_k α_k(a) ⊙ E_k and b likewise, over the
    /// whole weight (whose leading slice is then the slice's mixture), so the result is a plain transformer.
    public func extract(_ arch: Architecture) -> Transformer {
        precondition(holds(arch), "extract: architecture does not fit in the supernet")
        var rng = RandomGenerator(seed: 0)
        let model = Transformer(arch, rng: &rng)
        model.hiddenDropout = hiddenDropout
        model.attentionDropout = attentionDropout
        var source = namedParameters
        for (child, block) in zip(model.blocks, blocks) {
            let from = block.mixer(for: child.operation)!.parameters
            precondition(from.count == child.mixer.parameters.count, "extract: mixers of \(child.operation) differ in structure")
            for (c, s) in zip(child.mixer.parameters, from) { source[c.name] = s }
        }
        for (block, route) in zip(blocks, routes(arch) ?? []) {
            Autograd.noGrad {
                let routing = block.routing(route)!
                for (linear, a) in [(block.intermediate, routing.intermediate), (block.output, routing.output)] {
                    let (w, b) = linear.routed(a, out: linear.maxOut, in: linear.maxIn)
                    source[linear.weight.name] = Parameter(w, name: linear.weight.name)
                    if let b, let name = linear.bias?.name { source[name] = Parameter(b, name: name) }
                }
            }
        }
        model.loadLeadingSlices(from: source)
        return model
    }

    public struct Output {
        /// The last layer's output [B, T, arch.outputWidth] (decoders: after the final LayerNorm).
        public var hidden: Tensor
        /// The embedding output [B, T, H] (after `embeddings_project` when factorised), then each layer's
        /// output [B, T, its width].
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
        precondition(holds(arch), "Transformer: architecture does not fit in the supernet")
        let b = batch.batchSize, t = batch.length, e = arch.embeddingWidth
        precondition(t <= arch.maxPositions, "Transformer: sequence length \(t) exceeds max positions \(arch.maxPositions)")
        let hiddenDrop = training ? hiddenDropout : 0, attnDrop = training ? attentionDropout : 0

        var x = wordEmbeddings(batch.ids, dim: e).reshaped([b, t, e])
            + positionEmbeddings(Array(0..<Int32(t)), dim: e)
        if let types = tokenTypeEmbeddings {
            x = x + types(batch.typeIds ?? [Int32](repeating: 0, count: b * t), dim: e).reshaped([b, t, e])
        }
        var mask: Tensor?
        switch arch.family {
        case .encoder:
            x = norm(x)
            if let m = batch.attentionMask {
                mask = Tensor(shape: [b, 1, 1, t], scalars: m.map { $0 > 0 ? 0 : -1e9 })
            }
        case .decoder:
            mask = Self.causalMask(batch)
        }
        if hiddenDrop > 0 { x = x.dropout(p: hiddenDrop, using: &rng) }
        if e != arch.hidden {
            guard let project = embeddingsProjection else {
                preconditionFailure("Transformer: embeddings of width \(e) need a projection to hidden \(arch.hidden); the supernet has none")
            }
            x = project(x, out: arch.hidden)
        }
        if let embeddingHook { x = embeddingHook(x) }

        var states = [x], results: [TransformerBlock.Result] = []
        var width = arch.hidden
        let routes = routes(arch)
        for (i, layer) in arch.layers.enumerated() {
            let w = arch.width(ofLayer: i)
            if arch.hasInputProjection(i) {
                guard let project = inputProjections[i] else {
                    preconditionFailure("Transformer: layer \(i) projects its input \(width) → \(w) but the supernet has no input projection there")
                }
                x = project(x, out: w)
                width = w
            }
            let r = blocks[i](x, layer: layer, mask: mask, hiddenDropout: hiddenDrop, attentionDropout: attnDrop, route: routes?[i],
                              rng: &rng)
            x = r.output
            states.append(x)
            results.append(r)
        }
        if arch.family == .decoder { x = norm(x) }
        return Output(hidden: x, hiddenStates: states, layers: results)
    }

    /// A decoder's additive attention mask: −∞ above the diagonal [T, T] (no position sees the future),
    /// plus −1e9 at padding (mask 0) broadcast as [B, 1, 1, T].
    public static func causalMask(_ batch: TokenBatch) -> Tensor {
        let b = batch.batchSize, t = batch.length
        var causal = [Float](repeating: 0, count: t * t)
        for i in 0..<t { for j in (i + 1)..<max(t, i + 1) { causal[i * t + j] = -.infinity } }
        let mask = Tensor(shape: [t, t], scalars: causal)
        guard let m = batch.attentionMask else { return mask }
        return mask + Tensor(shape: [b, 1, 1, t], scalars: m.map { $0 > 0 ? 0 : -1e9 })
    }

    /// Inference without dropout or graph.
    public func callAsFunction(_ batch: TokenBatch, architecture: Architecture? = nil) -> Output {
        var rng = RandomGenerator(seed: 0)
        return Autograd.noGrad { self(batch, architecture: architecture, training: false, rng: &rng) }
    }
}
