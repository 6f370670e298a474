import NASTensor

/// Sentence-level head for classification (numLabels ≥ 2, cross-entropy) or regression (numLabels = 1,
/// mean squared error). Pooling: BERT's `[CLS]` pooler (tanh(h_CLS·W_pᵀ + b_p)) or the mean over real
/// tokens; then dropout and a linear classifier.
public final class SequenceClassificationHead: Module {
    public enum Pooling: String, Codable, Sendable { case cls, mean }

    public let pooling: Pooling
    public let pooler: Linear?
    public let classifier: Linear
    public var dropout: Float = 0.1

    public init(_ arch: Architecture, numLabels: Int, pooling: Pooling = .cls, rng: inout RandomGenerator) {
        self.pooling = pooling
        pooler = pooling == .cls ? Linear(arch.outputWidth, arch.outputWidth, name: "pooler.dense", rng: &rng) : nil
        classifier = Linear(arch.outputWidth, numLabels, name: "classifier", rng: &rng)
    }

    public var children: [(name: String, module: any Module)] { (pooler.map { [("pooler", $0)] } ?? []) + [("classifier", classifier)] }
    public var numLabels: Int { classifier.maxOut }

    /// The pooled sentence vectors [B, H].
    public func pool(_ hidden: Tensor, attentionMask: [Float]?) -> Tensor {
        let b = hidden.shape[0], t = hidden.shape[1], h = hidden.shape[2]
        switch pooling {
        case .cls:
            let first = hidden.slice(axis: 1, 0..<1).reshaped([b, h])
            return pooler!(first, out: h).tanh()
        case .mean:
            let m = attentionMask ?? [Float](repeating: 1, count: b * t)
            var weights = [Float](repeating: 0, count: b * t)
            for i in 0..<b {
                let n = Swift.max(m[(i * t)..<((i + 1) * t)].reduce(0, +), 1)
                for j in 0..<t { weights[i * t + j] = m[i * t + j] / n }
            }
            return (hidden * Tensor(shape: [b, t, 1], scalars: weights)).sum(axes: [1])
        }
    }

    /// Logits [B, numLabels] (regression: [B, 1]).
    public func callAsFunction(_ hidden: Tensor, attentionMask: [Float]?, training: Bool,
                               rng: inout RandomGenerator) -> Tensor {
        var pooled = pool(hidden, attentionMask: attentionMask)
        if training && dropout > 0 { pooled = pooled.dropout(p: dropout, using: &rng) }
        return classifier(pooled)
    }

    /// Mean loss: cross-entropy against class ids, or MSE against real targets when numLabels = 1.
    public func loss(_ logits: Tensor, labels: [Float]) -> Tensor {
        if numLabels == 1 {
            let diff = logits.reshaped([labels.count]) - Tensor(shape: [labels.count], scalars: labels)
            return diff.square().mean()
        }
        return logits.crossEntropy(targets: labels.map { Int32($0) })
    }
}
