import Foundation
import NASModels
import NASTensor
import NASText

/// Language-model losses and their evaluation on held-out text.
public enum LanguageModeling {
    /// Mean masked-LM cross-entropy: the encoder output [B, T, H] at the positions with a target
    /// (−100 elsewhere) through the MLM head, against the original ids.
    public static func maskedLoss(_ hidden: Tensor, targets: [Int32], head: MaskedLMHead, embeddings: Embedding,
                                  architecture: Architecture) -> Tensor {
        let h = hidden.shape.last!
        let rows = targets.indices.filter { targets[$0] != -100 }
        precondition(!rows.isEmpty, "LanguageModeling.maskedLoss: no masked position")
        let picked = hidden.reshaped([-1, h]).gather(rows: rows.map { Int32($0) })
        let logits = head(picked, embeddings: embeddings, embeddingWidth: architecture.embeddingWidth)
        return logits.crossEntropy(targets: rows.map { targets[$0] })
    }

    public struct Evaluation: Equatable, Sendable {
        /// Mean cross-entropy (nats per predicted token) and its exponential.
        public var loss: Double
        public var perplexity: Double { Foundation.exp(loss) }
        /// Tokens predicted.
        public var tokens: Int
    }

    /// Causal perplexity over consecutive non-overlapping windows of `length` + 1 tokens (each window's
    /// first `length` tokens predict the next ones), at most `maxWindows` of them (nil: all).
    public static func causalEvaluation(model: Transformer, tokens: [Int32], length: Int, batchSize: Int = 16,
                                        maxWindows: Int? = nil) -> Evaluation {
        let stride = length
        var starts = Array(Swift.stride(from: 0, to: max(tokens.count - length, 0), by: stride))
        if let maxWindows { starts = Array(starts.prefix(maxWindows)) }
        var total = 0.0, count = 0
        Autograd.noGrad {
            for chunk in Swift.stride(from: 0, to: starts.count, by: batchSize) {
                let group = starts[chunk..<min(chunk + batchSize, starts.count)]
                let ids = group.flatMap { tokens[$0..<($0 + length + 1)] }
                let batch = TokenBatch(ids: ids, batchSize: group.count, length: length + 1)
                // Position t of the window predicts t + 1: every token but the first of each window.
                let loss = CausalLMHead.loss(model(batch).hidden, batch: batch, embeddings: model.wordEmbeddings)
                total += Double(loss.item()) * Double(group.count * length)
                count += group.count * length
            }
        }
        return Evaluation(loss: count > 0 ? total / Double(count) : .nan, tokens: count)
    }

    /// Masked-LM loss over consecutive windows (`[CLS] … [SEP]`, `length` tokens) with a fixed seeded
    /// corruption, at most `maxWindows` windows: the encoder's held-out loss (its exponential is the MLM
    /// "perplexity" of the masked positions, not a sequence likelihood).
    public static func maskedEvaluation(model: Transformer, head: MaskedLMHead, tokens: [Int32], cls: Int32, sep: Int32,
                                        masking: MaskedLanguageModeling, length: Int, batchSize: Int = 16,
                                        maxWindows: Int? = nil, seed: UInt64 = 0) -> Evaluation {
        let span = length - 2
        var starts = Array(Swift.stride(from: 0, to: max(tokens.count - span + 1, 0), by: span))
        if let maxWindows { starts = Array(starts.prefix(maxWindows)) }
        var rng = RandomGenerator(seed: seed)
        var total = 0.0, count = 0
        Autograd.noGrad {
            for chunk in Swift.stride(from: 0, to: starts.count, by: batchSize) {
                let group = starts[chunk..<min(chunk + batchSize, starts.count)]
                let ids = group.flatMap { [cls] + tokens[$0..<($0 + span)] + [sep] }
                let (input, targets) = masking.corrupt(TokenBatch(ids: ids, batchSize: group.count, length: length), using: &rng)
                let n = targets.filter { $0 != -100 }.count
                guard n > 0 else { continue }
                let loss = maskedLoss(model(input).hidden, targets: targets, head: head, embeddings: model.wordEmbeddings,
                                      architecture: model.maxArchitecture)
                total += Double(loss.item()) * Double(n)
                count += n
            }
        }
        return Evaluation(loss: count > 0 ? total / Double(count) : .nan, tokens: count)
    }
}
