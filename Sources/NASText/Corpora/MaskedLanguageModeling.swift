import NASModels
import NASTensor

/// BERT's masked-language-model corruption (Devlin et al., 2019): each real, non-special token is chosen
/// with probability `probability` (15 %); a chosen token becomes `[MASK]` with probability 0.8, a uniformly
/// random id with probability 0.1, and stays itself with probability 0.1. The loss predicts the original
/// id at the chosen positions only (target −100 elsewhere, the cross-entropy's ignore index).
public struct MaskedLanguageModeling: Sendable {
    public var vocabSize: Int
    public var maskId: Int32
    public var specialIds: Set<Int32>
    public var probability: Double

    public init(vocabSize: Int, maskId: Int32, specialIds: Set<Int32>, probability: Double = 0.15) {
        precondition(probability > 0 && probability <= 1, "MaskedLanguageModeling: probability must be in (0, 1]")
        self.vocabSize = vocabSize; self.maskId = maskId; self.specialIds = specialIds; self.probability = probability
    }

    /// The corrupted batch and the targets (row-major [B, T]). At least one position is chosen per batch
    /// when any is eligible, so the loss is always defined.
    public func corrupt(_ batch: TokenBatch, using rng: inout RandomGenerator) -> (input: TokenBatch, targets: [Int32]) {
        var ids = batch.ids
        var targets = [Int32](repeating: -100, count: ids.count)
        var eligible: [Int] = []
        for i in ids.indices where !specialIds.contains(ids[i]) && (batch.attentionMask.map { $0[i] > 0 } ?? true) {
            eligible.append(i)
            if Double(rng.uniform()) < probability { targets[i] = ids[i] }
        }
        if !eligible.isEmpty && !targets.contains(where: { $0 != -100 }) {
            let i = eligible[Int(rng.next() % UInt64(eligible.count))]
            targets[i] = ids[i]
        }
        for i in ids.indices where targets[i] != -100 {
            let u = rng.uniform()
            if u < 0.8 {
                ids[i] = maskId
            } else if u < 0.9 {
                ids[i] = Int32(rng.next() % UInt64(vocabSize))
            }
        }
        return (TokenBatch(ids: ids, typeIds: batch.typeIds, attentionMask: batch.attentionMask,
                           batchSize: batch.batchSize, length: batch.length), targets)
    }
}
