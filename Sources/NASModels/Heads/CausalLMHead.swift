import NASTensor

/// GPT-2's language-model head: logits = h · Eᵀ with E the word-embedding table (tied, no bias).
public enum CausalLMHead {
    /// hidden: [N, H] → logits [N, V].
    public static func logits(_ hidden: Tensor, embeddings: Embedding) -> Tensor { embeddings.logits(hidden) }

    /// Mean next-token cross-entropy of a decoder output [B, T, H] against the batch's own ids
    /// (position t predicts token t + 1; padding positions, mask 0, are ignored).
    public static func loss(_ output: Tensor, batch: TokenBatch, embeddings: Embedding) -> Tensor {
        let b = batch.batchSize, t = batch.length, h = output.shape[2]
        return logits(output.reshaped([b * t, h]), embeddings: embeddings).crossEntropy(targets: targets(batch))
    }

    /// The next-token targets of a batch, row-major [B·T]: position t's is token t + 1, −100 (ignored)
    /// at each window's last position and where the next token is padding.
    public static func targets(_ batch: TokenBatch) -> [Int32] {
        let b = batch.batchSize, t = batch.length
        var targets = [Int32](repeating: -100, count: b * t)
        for i in 0..<b {
            for j in 0..<(t - 1) where batch.attentionMask.map({ $0[i * t + j + 1] > 0 }) ?? true {
                targets[i * t + j] = batch.ids[i * t + j + 1]
            }
        }
        return targets
    }
}
