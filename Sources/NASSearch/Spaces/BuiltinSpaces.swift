import NASModels

extension SearchSpace {
    /// The built-in spaces by name (`--space NAME`).
    public static let builtinNames = ["autotinybert", "w-pca", "flexibert", "flexibert-true-size", "tanglenas-shakespeare",
                                      "tanglenas-tinystories"]

    /// A built-in space, or nil for an unknown name.
    public static func builtin(_ name: String) -> SearchSpace? {
        switch name {
        case "autotinybert": return autoTinyBERT
        case "w-pca": return wPCA
        case "flexibert": return flexiBERT
        case "flexibert-true-size": return flexiBERTTrueSize
        case "tanglenas-shakespeare": return tangleNASShakespeare
        case "tanglenas-tinystories": return tangleNASTinyStories
        default: return nil
        }
    }

    /// AutoTinyBERT's homogeneous space (Yin et al., 2021): 1–8 layers, hidden 128–768 step 16, FFN
    /// 128–3072 step 32, qkv 180–768 step 12, heads 1–12 dividing qkv; BERT's uncased vocabulary.
    public static let autoTinyBERT = SearchSpace(
        name: "autotinybert", family: .encoder, vocabSize: 30522, maxPositions: 512,
        depth: Array(1...8), hidden: Array(stride(from: 128, through: 768, by: 16)), layers: .shared,
        heads: Array(1...12), qkv: Array(stride(from: 180, through: 768, by: 12)),
        ffn: Array(stride(from: 128, through: 3072, by: 32)))

    /// W-PCA's space (Wang et al., ICLR 2025): 12 layers of hidden 528, each one of 12 blocks — 6 BERT
    /// blocks (12-head attention, FFN 132·j, j = 1…6) and 6 MobileBERT bottleneck blocks (528 → 132,
    /// 12 heads at width 132, the same FFN widths); embeddings of width 128 projected to 528.
    public static let wPCA: SearchSpace = {
        let widths = (1...6).map { 132 * $0 }
        return SearchSpace(
            name: "w-pca", family: .encoder, vocabSize: 30522, maxPositions: 512, embeddingSize: 128,
            depth: [12], hidden: [528], layers: .perLayer,
            blocks: widths.map { Block(heads: 12, ffn: $0) } + widths.map { Block(heads: 12, ffn: $0, bottleneck: 132) })
    }()

    /// The FlexiBERT space (Tuli et al., 2023) as its benchmark labels read: 2 or 4 layers, hidden 128
    /// or 256, per layer an operation (SDP, WMA, DFT, DCT, dynamic convolution with kernel 5, 9 or 13),
    /// 2 or 4 heads, FFN 512 or 1024 repeated 1 or 3 times; embeddings of 128 (projected when hidden is 256).
    public static let flexiBERT = SearchSpace(
        name: "flexibert", family: .encoder, vocabSize: 30522, maxPositions: 512, embeddingSize: 128,
        depth: [2, 4], hidden: [128, 256], layers: .perLayer,
        operation: [.sdp, .wma, .dft, .dct, .dynamicConv(kernel: 5), .dynamicConv(kernel: 9), .dynamicConv(kernel: 13)],
        heads: [2, 4], ffn: [512, 1024], ffnCount: [1, 3])

    /// The FlexiBERT space as its models were most probably trained (`FlexiBERTProtocol.trueSize`; the
    /// benchmark README's caveats 1–2): 2 or 4 layers, hidden 128 or 256, every layer scaled dot-product
    /// attention with 2 or 4 heads, a first FFN layer of 4 × hidden, then 0 or 2 more of 512 or 1024
    /// (`num_feed_forward` 1 or 3); ELECTRA-small embeddings of 128, projected when the hidden size is
    /// 256. Every member is a leading slice of the largest, so it is the FlexiBERT supernet's space.
    public static let flexiBERTTrueSize = SearchSpace(
        name: "flexibert-true-size", family: .encoder, vocabSize: 30522, maxPositions: 512, embeddingSize: 128,
        depth: [2, 4], hidden: [128, 256], layers: .perLayer, heads: [2, 4], ffnRatio: [4], ffnCount: [1, 3],
        ffnStackWidth: [512, 1024])

    /// TangleNAS's GPT space for Tiny Shakespeare, character level (Sukthanker et al., 2024): 4–6 layers,
    /// embedding 96, 192 or 384, per layer 2, 4 or 6 heads and MLP ratio 2, 3 or 4; nanoGPT's block
    /// size 256 and the 65-character vocabulary.
    public static let tangleNASShakespeare = SearchSpace(
        name: "tanglenas-shakespeare", family: .decoder, vocabSize: 65, maxPositions: 256,
        depth: [4, 5, 6], hidden: [96, 192, 384], layers: .perLayer, heads: [2, 4, 6], ffnRatio: [2, 3, 4])

    /// TangleNAS's TinyStories-size GPT space: 5–7 layers, embedding 384, 576 or 768, per layer 6, 8 or
    /// 12 heads and MLP ratio 2, 3 or 4; GPT-2's vocabulary of 50,257 and a block size of 256.
    public static let tangleNASTinyStories = SearchSpace(
        name: "tanglenas-tinystories", family: .decoder, vocabSize: 50257, maxPositions: 256,
        depth: [5, 6, 7], hidden: [384, 576, 768], layers: .perLayer, heads: [6, 8, 12], ffnRatio: [2, 3, 4])
}
