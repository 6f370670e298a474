import NASModels
import NASTensor

/// Knowledge-distillation losses from a teacher to a student. The teacher's tensors are constants
/// (computed under `Autograd.noGrad`); every loss is 0 when the student's tensors equal the teacher's.
public enum Distillation {
    /// Hidden-state distillation (TinyBERT; Jiao et al., 2020): mean over positions and units of
    /// (h_S·W_pᵀ + b_p − h_T)², with the learned projection W_p: student width → teacher width when the
    /// widths differ (nil when they are equal). `mask` [B·T] (1 real, 0 padding) restricts it to real tokens.
    public static func hiddenMSE(student: Tensor, teacher: Tensor, projection: Linear?, mask: [Float]? = nil) -> Tensor {
        let h = teacher.shape.last!
        var s = student
        if let projection { s = projection(s, out: h) }
        precondition(s.shape == teacher.shape, "Distillation.hiddenMSE: student \(s.shape) vs teacher \(teacher.shape); a projection is needed")
        let diff = (s - teacher).square()
        guard let mask else { return diff.mean() }
        let rows = mask.count
        let m = Tensor(shape: Array(teacher.shape.dropLast()) + [1], scalars: mask)
        let real = Swift.max(mask.reduce(0, +), 1)
        precondition(rows * h == teacher.count, "Distillation.hiddenMSE: mask of \(rows) rows for \(teacher.shape)")
        return (diff * m).sum() * (1 / (real * Float(h)))
    }

    /// Self-attention relation distillation (MiniLMv2; Wang et al., 2021): for A ∈ {Q, K, V} of the last
    /// layer, concatenate the heads to [B, T, q] and re-split them into R relation heads (R = the teacher's
    /// head count) of size q/R; the relation R_A = softmax(A_r·A_rᵀ / √(q/R)) over the keys (padding keys
    /// masked). The loss is the mean over A, relation heads and real query positions of KL(R_A^T ‖ R_A^S).
    /// `student`/`teacher`: (q, k, v) as [B, heads, T, d]; `mask` [B·T] (1 real, 0 padding) or nil.
    public static func attentionRelationKL(student: (q: Tensor, k: Tensor, v: Tensor), teacher: (q: Tensor, k: Tensor, v: Tensor),
                                           relationHeads r: Int, mask: [Float]? = nil) -> Tensor {
        let pairs = [(student.q, teacher.q), (student.k, teacher.k), (student.v, teacher.v)]
        let losses = pairs.map { s, t in relationKL(s, t, heads: r, mask: mask) }
        return (losses[0] + losses[1] + losses[2]) * (1 / Float(3))
    }

    /// [B, heads, T, d] → [B, r, T, heads·d / r].
    static func resplit(_ x: Tensor, heads r: Int) -> Tensor {
        let b = x.shape[0], h = x.shape[1], t = x.shape[2], d = x.shape[3]
        precondition((h * d) % r == 0, "Distillation: \(h * d) attention units cannot be split into \(r) relation heads")
        return x.permuted([0, 2, 1, 3]).contiguous().reshaped([b, t, r, h * d / r]).permuted([0, 2, 1, 3])
    }

    /// Log-relations log softmax(A_r·A_rᵀ/√d_r) [B, r, T, T], padding keys masked.
    static func logRelations(_ x: Tensor, heads r: Int, mask: [Float]?) -> Tensor {
        let a = resplit(x, heads: r)
        let b = a.shape[0], t = a.shape[2], d = a.shape[3]
        var scores = a.matmul(a, transposeB: true, alpha: 1 / Float(d).squareRoot())
        if let mask {
            scores = scores + Tensor(shape: [b, 1, 1, t], scalars: mask.map { $0 > 0 ? 0 : -1e9 })
        }
        return scores.logSoftmax()
    }

    static func relationKL(_ s: Tensor, _ t: Tensor, heads r: Int, mask: [Float]?) -> Tensor {
        let logT = Autograd.noGrad { logRelations(t, heads: r, mask: mask) }
        let logS = logRelations(s, heads: r, mask: mask)
        let pT = Autograd.noGrad { logT.exp() }
        let b = logT.shape[0], n = logT.shape[2]
        var kl = (pT * (logT - logS)).sum(axes: [3])          // [B, r, T] per query row
        guard let mask else { return kl.mean() }
        kl = kl * Tensor(shape: [b, 1, n], scalars: mask)
        return kl.sum() * (1 / (Swift.max(mask.reduce(0, +), 1) * Float(r)))
    }

    /// Soft-label distillation for task fine-tuning (Hinton et al., 2015): T² · mean over examples of
    /// KL(softmax(z_T/T) ‖ softmax(z_S/T)), logits [N, C]. Regression heads (C = 1) use the mean squared
    /// difference of the predictions instead.
    public static func softLabelLoss(student: Tensor, teacher: Tensor, temperature: Float = 1) -> Tensor {
        precondition(student.shape == teacher.shape, "Distillation.softLabelLoss: \(student.shape) vs \(teacher.shape)")
        if student.shape.last == 1 { return (student - teacher).square().mean() }
        let logT = Autograd.noGrad { (teacher * (1 / temperature)).logSoftmax() }
        let pT = Autograd.noGrad { logT.exp() }
        let logS = (student * (1 / temperature)).logSoftmax()
        return (pT * (logT - logS)).sum(axes: [1]).mean() * (temperature * temperature)
    }
}
