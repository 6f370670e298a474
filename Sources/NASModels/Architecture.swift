import Foundation
import NASTensor

/// One concrete transformer network, as a value: what a search space samples, a supernet runs, a study
/// stores and a trainer builds. Per-layer attention and FFN sizes are free (heterogeneous layers); the
/// hidden size is shared by all layers. As in AutoTinyBERT (Yin et al., 2021) the query/key/value
/// dimension `qkv` is decoupled from `hidden`: head size = qkv / heads, and the attention output
/// projection maps qkv back to hidden.
public struct Architecture: Codable, Hashable, Sendable {
    public enum Family: String, Codable, Sendable {
        /// BERT-style: post-LN blocks, learned positions, token types, padding mask.
        case encoder
        /// GPT-style: pre-LN blocks, learned positions, causal mask, final LayerNorm.
        case decoder
    }

    public enum Activation: String, Codable, Sendable {
        case gelu, geluTanh = "gelu_tanh", relu
    }

    /// The token mixer of a layer (FlexiBERT's operations; Tuli et al., 2023).
    public enum Operation: Hashable, Sendable, Codable, CustomStringConvertible {
        /// Scaled dot-product self-attention.
        case sdp
        /// Weighted multiplicative attention: score(q, k) = qᵀ·W·k per head (Luong et al., 2015).
        case wma
        /// FNet-style linear transform: the real part of the 2-D discrete Fourier transform (Lee-Thorp et al., 2022).
        case dft
        /// Linear transform by the 2-D discrete cosine transform (DCT-II, orthonormal).
        case dct
        /// ConvBERT's span-based dynamic convolution with the given kernel size (Jiang et al., 2020).
        case dynamicConv(kernel: Int)

        public var description: String {
            switch self {
            case .sdp: return "sdp"
            case .wma: return "wma"
            case .dft: return "dft"
            case .dct: return "dct"
            case .dynamicConv(let k): return "conv\(k)"
            }
        }

        public init?(_ text: String) {
            switch text {
            case "sdp": self = .sdp
            case "wma": self = .wma
            case "dft": self = .dft
            case "dct": self = .dct
            default:
                guard text.hasPrefix("conv"), let k = Int(text.dropFirst(4)), k > 0 else { return nil }
                self = .dynamicConv(kernel: k)
            }
        }

        public init(from decoder: Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let op = Operation(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "unknown operation '\(text)' (expected sdp, wma, dft, dct or conv<k>)"))
            }
            self = op
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(description)
        }

        /// Whether the mixer is attention (has heads and q/k/v projections).
        public var isAttention: Bool { self == .sdp || self == .wma }
    }

    public struct Layer: Codable, Hashable, Sendable {
        public var heads: Int
        public var qkv: Int
        /// Width of the first FFN dense layer.
        public var ffn: Int
        /// The token mixer (default: scaled dot-product attention).
        public var operation: Operation
        /// Widths of further FFN dense layers stacked after the first (FlexiBERT's `num_feed_forward` = 3);
        /// the last one projects back to the hidden size.
        public var ffnStack: [Int]
        /// This layer's own hidden size when it differs from the architecture's (FlexiBERT). A linear
        /// projection joins consecutive layers of different widths.
        public var hidden: Int?
        /// A linear input projection before this layer even where the width does not change: a block-wise
        /// student's adapter at a block boundary (DNA, `BlockwiseStudent`). Nil or false: a projection only
        /// where the width changes.
        public var projected: Bool?
        /// MobileBERT's bottleneck (Sun et al., 2020): the block projects its input h → b, runs the mixer
        /// and FFN (with their residuals and LayerNorms) at width b, projects b → h and adds the block's
        /// input under one more LayerNorm. Encoders only. Nil: a plain block.
        public var bottleneck: Int?

        public init(heads: Int, qkv: Int, ffn: Int, operation: Operation = .sdp, ffnStack: [Int] = [], hidden: Int? = nil,
                    bottleneck: Int? = nil, projected: Bool? = nil) {
            self.heads = heads; self.qkv = qkv; self.ffn = ffn
            self.operation = operation; self.ffnStack = ffnStack; self.hidden = hidden; self.bottleneck = bottleneck
            self.projected = projected
        }
        public var headSize: Int { qkv / Swift.max(heads, 1) }
        /// All FFN dense widths before the projection back to hidden.
        public var ffnWidths: [Int] { [ffn] + ffnStack }

        enum CodingKeys: String, CodingKey { case heads, qkv, ffn, operation, ffnStack, hidden, bottleneck, projected }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            heads = try c.decode(Int.self, forKey: .heads)
            qkv = try c.decode(Int.self, forKey: .qkv)
            ffn = try c.decode(Int.self, forKey: .ffn)
            operation = try c.decodeIfPresent(Operation.self, forKey: .operation) ?? .sdp
            ffnStack = try c.decodeIfPresent([Int].self, forKey: .ffnStack) ?? []
            hidden = try c.decodeIfPresent(Int.self, forKey: .hidden)
            bottleneck = try c.decodeIfPresent(Int.self, forKey: .bottleneck)
            projected = try c.decodeIfPresent(Bool.self, forKey: .projected)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(heads, forKey: .heads)
            try c.encode(qkv, forKey: .qkv)
            try c.encode(ffn, forKey: .ffn)
            if operation != .sdp { try c.encode(operation, forKey: .operation) }
            if !ffnStack.isEmpty { try c.encode(ffnStack, forKey: .ffnStack) }
            try c.encodeIfPresent(hidden, forKey: .hidden)
            try c.encodeIfPresent(bottleneck, forKey: .bottleneck)
            if projected == true { try c.encode(true, forKey: .projected) }
        }
    }

    public var family: Family
    public var vocabSize: Int
    public var maxPositions: Int
    /// Token types (segments); 2 for BERT, 0 for decoders.
    public var typeVocabSize: Int
    public var hidden: Int
    /// Width of the token embeddings when factorised (ALBERT/ELECTRA-small style): embeddings of this
    /// width, then a linear projection to `hidden`. Nil: embeddings are `hidden` wide.
    public var embeddingSize: Int?
    public var layers: [Layer]
    public var activation: Activation
    public var layerNormEps: Float

    public init(family: Family, vocabSize: Int, maxPositions: Int, typeVocabSize: Int? = nil, hidden: Int,
                embeddingSize: Int? = nil, layers: [Layer], activation: Activation? = nil, layerNormEps: Float? = nil) {
        self.family = family
        self.vocabSize = vocabSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize ?? (family == .encoder ? 2 : 0)
        self.hidden = hidden
        self.embeddingSize = embeddingSize
        self.layers = layers
        self.activation = activation ?? (family == .encoder ? .gelu : .geluTanh)
        self.layerNormEps = layerNormEps ?? (family == .encoder ? 1e-12 : 1e-5)
    }

    /// A homogeneous network: `depth` identical layers.
    public static func uniform(_ family: Family, vocabSize: Int, maxPositions: Int = 512, hidden: Int, depth: Int,
                               heads: Int, qkv: Int? = nil, ffn: Int) -> Architecture {
        Architecture(family: family, vocabSize: vocabSize, maxPositions: maxPositions, hidden: hidden,
                     layers: Array(repeating: Layer(heads: heads, qkv: qkv ?? hidden, ffn: ffn), count: depth))
    }

    public var depth: Int { layers.count }

    /// The width of the embedding tables.
    public var embeddingWidth: Int { embeddingSize ?? hidden }
    /// Layer i's hidden width.
    public func width(ofLayer i: Int) -> Int { layers[i].hidden ?? hidden }
    /// Whether a linear input projection runs before layer i: where the width changes, or where the layer asks for one
    /// (`Layer.projected`).
    public func hasInputProjection(_ i: Int) -> Bool {
        width(ofLayer: i) != (i == 0 ? hidden : width(ofLayer: i - 1)) || layers[i].projected == true
    }
    /// The width of the network's output (its last layer's hidden size).
    public var outputWidth: Int { layers.last.map { $0.hidden ?? hidden } ?? hidden }
    /// Whether this is the plain homogeneous case every elastic mechanism supports (SDP attention,
    /// one FFN layer, one hidden size, no bottleneck, unfactorised embeddings).
    public var isPlain: Bool {
        embeddingSize == nil
            && layers.allSatisfy { $0.operation == .sdp && $0.ffnStack.isEmpty && $0.hidden == nil && $0.bottleneck == nil && $0.projected != true }
    }

    // MARK: - Validation

    public struct Invalid: Error, CustomStringConvertible {
        public let field: String
        public let message: String
        public var description: String { "architecture field '\(field)': \(message)" }
    }

    /// Checks that the numbers describe a network that can be built.
    public func validate() throws {
        func positive(_ v: Int, _ field: String) throws {
            if v <= 0 { throw Invalid(field: field, message: "must be positive, got \(v)") }
        }
        try positive(vocabSize, "vocabSize")
        try positive(maxPositions, "maxPositions")
        try positive(hidden, "hidden")
        if typeVocabSize < 0 { throw Invalid(field: "typeVocabSize", message: "must be ≥ 0, got \(typeVocabSize)") }
        if layers.isEmpty { throw Invalid(field: "layers", message: "needs at least one layer") }
        for (i, l) in layers.enumerated() {
            try positive(l.heads, "layers[\(i)].heads")
            try positive(l.qkv, "layers[\(i)].qkv")
            try positive(l.ffn, "layers[\(i)].ffn")
            if l.operation != .dft && l.operation != .dct && l.qkv % l.heads != 0 {
                throw Invalid(field: "layers[\(i)].qkv", message: "\(l.qkv) is not divisible by heads = \(l.heads)")
            }
            for (j, f) in l.ffnStack.enumerated() { try positive(f, "layers[\(i)].ffnStack[\(j)]") }
            if let h = l.hidden { try positive(h, "layers[\(i)].hidden") }
            if let b = l.bottleneck {
                try positive(b, "layers[\(i)].bottleneck")
                if family == .decoder {
                    throw Invalid(field: "layers[\(i)].bottleneck", message: "bottleneck blocks are encoder-only (MobileBERT)")
                }
            }
            if case .dynamicConv(let k) = l.operation, k % 2 == 0 || k < 1 {
                throw Invalid(field: "layers[\(i)].operation", message: "conv kernel must be odd and positive, got \(k)")
            }
        }
        if let e = embeddingSize { try positive(e, "embeddingSize") }
        if family == .decoder, let i = layers.firstIndex(where: { !$0.operation.isAttention }) {
            throw Invalid(field: "layers[\(i)].operation",
                          message: "\(layers[i].operation) mixes all positions, so a decoder would see the future (use sdp or wma)")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else {
            throw Invalid(field: "layerNormEps", message: "must be a positive finite number, got \(layerNormEps)")
        }
        // The weights must fit in memory (MemoryBudget); the largest field is the one to blame.
        do {
            try MemoryBudget.require(memoryEstimate(), for: "the model's weights (\(parameterSize) parameters)")
        } catch let error as MemoryBudget.Exceeded {
            let (field, value) = largestField
            throw Invalid(field: field, message: "\(value) is too large: \(error)")
        }
    }

    /// Whether this network is a sub-network of `parent` (fits in its leading slices). A layer may also
    /// stack fewer FFN dense layers than the parent's (the first ones; its output projection reads the
    /// leading columns of the parent's, so its last FFN width may not exceed the parent's last).
    /// With `choices`, a layer may use any of the choices' operations as well as the parent layer's own
    /// (a supernet holding one weight set per operation); WMA then fits while its head size is at most
    /// the parent layer's q/k/v width over `choices.fewestHeads`.
    public func fits(in parent: Architecture, choices: OperationChoices? = nil) -> Bool {
        guard depth <= parent.depth else { return false }
        // Projections exist only where the parent has them, so the child may project (change width) only there.
        let widthChangesFit = (0..<depth).allSatisfy { !hasInputProjection($0) || parent.hasInputProjection($0) }
        return widthChangesFit && (embeddingWidth == hidden || parent.embeddingWidth != parent.hidden)
            && (family == .encoder || outputWidth <= parent.outputWidth)
            && family == parent.family && vocabSize == parent.vocabSize && maxPositions <= parent.maxPositions
            && typeVocabSize <= parent.typeVocabSize && hidden <= parent.hidden && depth <= parent.depth
            && embeddingWidth <= parent.embeddingWidth
            && zip(layers, parent.layers).allSatisfy { c, p in
                Self.operation(of: c, fitsIn: p, choices: choices) && c.heads <= p.heads && c.qkv <= p.qkv && c.ffn <= p.ffn
                    && c.ffnStack.count <= p.ffnStack.count && zip(c.ffnStack, p.ffnStack).allSatisfy { $0 <= $1 }
                    && c.ffnWidths.last! <= p.ffnWidths.last!
                    && (c.hidden ?? hidden) <= (p.hidden ?? parent.hidden)
                    && (c.bottleneck == nil) == (p.bottleneck == nil) && (c.bottleneck ?? 0) <= (p.bottleneck ?? 0)
            }
    }

    /// Whether layer `c`'s operation runs on a weight set of parent layer `p` (see `fits(in:choices:)`).
    private static func operation(of c: Layer, fitsIn p: Layer, choices: OperationChoices?) -> Bool {
        guard c.operation == p.operation || (choices?.operations.contains(c.operation) ?? false) else { return false }
        guard c.operation == .wma else { return true }
        let most = p.operation == .wma ? p.headSize : 0
        return c.headSize <= Swift.max(most, choices.map { $0.wmaHeadSize(qkv: p.qkv) } ?? 0)
    }

    // MARK: - Costs

    /// Parameters of the backbone (embeddings included, task heads excluded). With E the embedding
    /// width and h the layer width:
    /// embeddings (V + P + T)·E + 2E (LayerNorm; encoders) + E·H + H (projection, when E ≠ H);
    /// per layer: an input projection h_prev·h + h when the width changes (or the layer is `projected`); the mixer —
    /// SDP 3(h·q + q) + q·h + h, WMA the same + heads·d², DFT/DCT 0, dynamic conv (k, heads)
    /// 2(h·q + q) + (k·h + h) + (h·q + q) + (q·heads·k + heads·k) + q·h + h;
    /// FFN Σ (in·f + f) over its dense layers + f_last·h + h; 2 × 2h for two LayerNorms. A bottleneck
    /// layer of width b counts the mixer, FFN and both LayerNorms at width b instead, plus
    /// (h·b + b) + (b·h + h) + 2h for its two projections and outer LayerNorm.
    /// Decoders add a final LayerNorm 2h. Counts of the tensors the model uses are tested against it.
    /// Saturates at `Int.max` (see `Size`) when the numbers are too large to count.
    public var parameterCount: Int { parameterSize.value }

    /// `parameterCount` in saturating arithmetic.
    public var parameterSize: Size {
        let e = embeddingWidth
        var n = (Size(vocabSize) + maxPositions + typeVocabSize) * e
        if family == .encoder { n += Size(e) * 2 }
        if e != hidden { n += Size(e) * hidden + hidden }
        var previous = hidden
        for (i, l) in layers.enumerated() {
            let h = width(ofLayer: i)
            if hasInputProjection(i) { n += Size(previous) * h + h }
            previous = h
            let inner = l.bottleneck ?? h
            if l.bottleneck != nil { n += (Size(h) * inner + inner) + (Size(inner) * h + h) + Size(h) * 2 }
            n += Architecture.mixerParameters(l, hidden: inner) + Size(inner) * 4
            var input = inner
            for f in l.ffnWidths { n += Size(input) * f + f; input = f }
            n += Size(input) * inner + inner
        }
        if family == .decoder { n += Size(previous) * 2 }
        return n
    }

    static func mixerParameters(_ l: Layer, hidden h: Int) -> Size {
        let q = Size(l.qkv), hq = Size(h) * q + q, out = q * h + h
        switch l.operation {
        case .sdp: return 3 * hq + out
        case .wma: return 3 * hq + out + Size(l.heads) * l.headSize * l.headSize
        case .dft, .dct: return 0
        case .dynamicConv(let k): return 2 * hq + (Size(k) * h + h) + hq + (q * l.heads * k + Size(l.heads) * k) + out
        }
    }

    /// Parameters without the embedding tables (the non-embedding count of scaling-law and LTS work).
    public var nonEmbeddingParameterCount: Int {
        let embeddings = (Size(vocabSize) + maxPositions + typeVocabSize) * embeddingWidth
        return parameterSize.isSaturated ? .max : parameterCount - embeddings.value
    }

    /// Matrix-multiply FLOPs (2·m·n·k each) of one forward pass of the backbone over a sequence of
    /// `length` tokens. Per layer of width h: SDP 2T·h·3q + 2·2T²·q + 2T·q·h; WMA adds 2T·heads·d²;
    /// DFT 2·(2T²·h + 2T·h²) (real part of F_T·X·F_h as C·X·C − S·X·S); DCT 2T²·h + 2T·h²;
    /// dynamic conv 2T·h·3q + 2T·q·heads·k + 2T·k·q + 2T·q·h; FFN 2T·Σ in·f + 2T·f_last·h;
    /// plus the embedding and inter-layer projections. A bottleneck layer counts its mixer and FFN at
    /// width b, plus 2 · 2T·h·b for its two projections. Elementwise work is not counted.
    /// Saturates at `Int.max` (see `Size`) when the numbers are too large to count.
    public func flops(sequenceLength length: Int) -> Int {
        let t = Size(length), e = embeddingWidth
        var n: Size = e != hidden ? 2 * t * e * hidden : 0
        var previous = hidden
        for (i, l) in layers.enumerated() {
            let outer = width(ofLayer: i), q = l.qkv
            if hasInputProjection(i) { n += 2 * t * previous * outer }
            previous = outer
            let h = l.bottleneck ?? outer
            if let b = l.bottleneck { n += 4 * t * outer * b }
            let projections = 2 * t * h * 3 * q + 2 * t * q * h, scores = 4 * t * t * q
            switch l.operation {
            case .sdp: n += projections + scores
            case .wma: n += projections + 2 * t * l.heads * l.headSize * l.headSize + scores
            case .dft: n += 2 * (2 * t * t * h + 2 * t * h * h)
            case .dct: n += 2 * t * t * h + 2 * t * h * h
            case .dynamicConv(let k): n += projections + 2 * t * q * l.heads * k + 2 * t * k * q
            }
            var input = h
            for f in l.ffnWidths { n += 2 * t * input * f; input = f }
            n += 2 * t * input * h
        }
        return n.value
    }
}
