import NASModels
import NASTensor

/// Attention head confidence (Voita, Talbot, Moiseev, Sennrich & Titov, "Analyzing multi-head
/// self-attention", ACL 2019; as a training-free proxy: Serianni & Kalita, "Training-free neural
/// architecture search for RNNs and Transformers", ACL 2023):
///     score = mean over attention layers l and heads h of  mean over real query tokens q of
///             max_k A^{(l,h)}_{q,k},
/// with A the softmax attention probabilities of the untrained model on the (unmasked) batch. Layers
/// without attention (FlexiBERT's DFT/DCT/dynamic-convolution mixers) are skipped; with no attention
/// layer at all the score is NaN. No gradients (`Autograd.noGrad`).
public struct HeadConfidenceProxy: Proxy {
    public init() {}
    public var name: String { "head-confidence" }
    public var needsGradients: Bool { false }

    public func score(_ context: ProxyContext) throws -> Double {
        let b = context.batch.batchSize, t = context.batch.length
        let real = (0..<(b * t)).map { context.isReal($0) }
        let realCount = real.filter { $0 }.count
        guard realCount > 0 else { return .nan }
        let perLayer: [Double] = Autograd.noGrad {
            context.inferenceOutput.layers.compactMap { r -> Double? in
                guard let probs = HeadConfidenceProxy.probabilities(r) else { return nil }
                let heads = probs.shape[1]
                let m = probs.max(axis: -1).scalars  // [B, heads, T]
                var s = 0.0
                for n in 0..<b {
                    for hd in 0..<heads {
                        for q in 0..<t where real[n * t + q] { s += Double(m[(n * heads + hd) * t + q]) }
                    }
                }
                return s / Double(heads * realCount)
            }
        }
        guard !perLayer.isEmpty else { return .nan }
        return perLayer.reduce(0, +) / Double(perLayer.count)
    }

    /// The layer's attention probabilities [B, heads, T, T], or nil for a layer without attention.
    static func probabilities(_ r: TransformerBlock.Result) -> Tensor? {
        let attention: MultiHeadAttention.Result? = r.attention
        return attention?.probabilities
    }
}
