import Foundation

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

    public struct Layer: Codable, Hashable, Sendable {
        public var heads: Int
        public var qkv: Int
        public var ffn: Int
        public init(heads: Int, qkv: Int, ffn: Int) {
            self.heads = heads; self.qkv = qkv; self.ffn = ffn
        }
        public var headSize: Int { qkv / Swift.max(heads, 1) }
    }

    public var family: Family
    public var vocabSize: Int
    public var maxPositions: Int
    /// Token types (segments); 2 for BERT, 0 for decoders.
    public var typeVocabSize: Int
    public var hidden: Int
    public var layers: [Layer]
    public var activation: Activation
    public var layerNormEps: Float

    public init(family: Family, vocabSize: Int, maxPositions: Int, typeVocabSize: Int? = nil, hidden: Int,
                layers: [Layer], activation: Activation? = nil, layerNormEps: Float? = nil) {
        self.family = family
        self.vocabSize = vocabSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize ?? (family == .encoder ? 2 : 0)
        self.hidden = hidden
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
            if l.qkv % l.heads != 0 {
                throw Invalid(field: "layers[\(i)].qkv", message: "\(l.qkv) is not divisible by heads = \(l.heads)")
            }
        }
    }

    /// Whether this network is a sub-network of `parent` (fits in its leading slices).
    public func fits(in parent: Architecture) -> Bool {
        family == parent.family && vocabSize == parent.vocabSize && maxPositions <= parent.maxPositions
            && typeVocabSize <= parent.typeVocabSize && hidden <= parent.hidden && depth <= parent.depth
            && zip(layers, parent.layers).allSatisfy { $0.heads <= $1.heads && $0.qkv <= $1.qkv && $0.ffn <= $1.ffn }
    }

    // MARK: - Costs

    /// Parameters of the backbone (embeddings included, task heads excluded):
    /// embeddings (V + P + T)·H (+ 2H LayerNorm for encoders); per layer 3(H·q + q) for Q, K, V,
    /// q·H + H for the output projection, 2·H·F + F + H for the FFN, 2 × 2H for two LayerNorms;
    /// decoders add a final LayerNorm 2H. Counts of the tensors the model uses are tested against it.
    public var parameterCount: Int {
        let h = hidden
        var n = (vocabSize + maxPositions + typeVocabSize) * h
        n += 2 * h  // the embedding LayerNorm (encoder) or the final LayerNorm (decoder)
        for l in layers {
            n += 3 * (h * l.qkv + l.qkv) + l.qkv * h + h + 2 * h * l.ffn + l.ffn + h + 4 * h
        }
        return n
    }

    /// Parameters without the embedding tables (the non-embedding count of scaling-law and LTS work).
    public var nonEmbeddingParameterCount: Int {
        parameterCount - (vocabSize + maxPositions + typeVocabSize) * hidden
    }

    /// Matrix-multiply FLOPs (2·m·n·k each) of one forward pass of the backbone over a sequence of
    /// `length` tokens: per layer 2T·H·3q (Q, K, V) + 2·2T²·q (scores and context) + 2T·q·H (output)
    /// + 2·2T·H·F (FFN). Elementwise work is not counted.
    public func flops(sequenceLength t: Int) -> Int {
        let h = hidden
        return layers.reduce(0) { acc, l in
            acc + 2 * t * h * 3 * l.qkv + 4 * t * t * l.qkv + 2 * t * l.qkv * h + 4 * t * h * l.ffn
        }
    }
}
