import NASModels

/// How a FlexiBERT benchmark row becomes a model to score. The benchmark's labels and the models that
/// were trained differ (../shared/data/flexibert/README.md, caveats 1–3), so the reading is a choice:
public enum FlexiBERTProtocol: String, CaseIterable, Sendable {
    /// The models as they were most probably trained: every layer scaled dot-product attention (the
    /// upstream code never took the other branches), the row's hidden size and heads, a first FFN
    /// layer of 4 × hidden and, when `num_feed_forward` = 3, two more of `feed_forward_dimension`;
    /// ELECTRA-small embeddings of width 128, projected when the hidden size is 256.
    case trueSize = "true-size"
    /// As the benchmark authors' proxy code built them: hidden 256 and FFN 1024 in every layer for
    /// every row, operations as labelled (we keep eval mode and the attention mask, unlike upstream).
    case serianni
    /// The labels read literally: operations as labelled, the row's hidden size and FFN widths.
    case labels

    public static let vocabSize = 30522, maxPositions = 512, electraEmbedding = 128

    /// The architecture of `row` under this protocol.
    public func architecture(of row: FlexiBERTRow) -> Architecture {
        let hidden = self == .serianni ? 256 : row.hiddenSize
        let layers = row.layers.map { spec -> Architecture.Layer in
            let operation = spec.operation
            let stacked = spec.numFeedForward > 1
            switch self {
            case .trueSize:
                return .init(heads: spec.heads, qkv: hidden, ffn: 4 * hidden,
                             ffnStack: stacked ? Array(repeating: spec.feedForwardDimension, count: spec.numFeedForward - 1) : [])
            case .serianni:
                return .init(heads: spec.heads, qkv: hidden, ffn: 1024, operation: operation,
                             ffnStack: stacked ? Array(repeating: 1024, count: spec.numFeedForward - 1) : [])
            case .labels:
                return .init(heads: spec.heads, qkv: hidden, ffn: spec.feedForwardDimension, operation: operation,
                             ffnStack: Array(repeating: spec.feedForwardDimension, count: spec.numFeedForward - 1))
            }
        }
        let embedding = self == .serianni || hidden == Self.electraEmbedding ? nil : Self.electraEmbedding
        return Architecture(family: .encoder, vocabSize: Self.vocabSize, maxPositions: Self.maxPositions, hidden: hidden,
                            embeddingSize: embedding, layers: layers)
    }
}
