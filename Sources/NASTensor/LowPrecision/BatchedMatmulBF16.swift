import CKernels

/// A tensor rounded to bf16 in its logical (row-major) order and stored contiguous, read as a batch of
/// `rows × cols` matrices (its last two axes), each optionally transposed (a stride, never a copy).
struct BF16Batch {
    let values: BF16Matrix
    let batch: [Int], rows: Int, cols: Int

    /// `t` (rank ≥ 3, any strides: e.g. the permuted heads of attention) rounded to bf16, ties to even;
    /// batch items in parallel, row by row.
    init(rounding t: Tensor) {
        batch = Array(t.shape.dropLast(2))
        rows = t.shape[t.rank - 2]
        cols = t.shape[t.rank - 1]
        let v = BF16Matrix(rows: t.count / Swift.max(cols, 1), cols: cols)
        let src = t.basePointer, dst = v.storage, (rows, cols) = (rows, cols)
        let rs = t.strides[t.rank - 2], cs = t.strides[t.rank - 1], batch = batch, bs = Array(t.strides.dropLast(2))
        Engine.parallelFor(batch.reduce(1, *), costPerItem: rows * cols) { items in
            for i in items {
                var rem = i, offset = 0
                for d in stride(from: batch.count - 1, through: 0, by: -1) {
                    offset += rem % batch[d] * bs[d]
                    rem /= batch[d]
                }
                for r in 0..<rows { nk_f32_to_bf16(src + offset + r * rs, cs, dst + (i * rows + r) * cols, cols) }
            }
        }
        withExtendedLifetime(t) {}
        values = v
    }

    /// The element strides of the stored batch read as matrices, transposed or not.
    func strides(transposed: Bool) -> [Int] {
        var s = [cols, 1], size = rows * cols
        for d in batch.reversed() { s.insert(size, at: 0); size *= d }
        if transposed { s.swapAt(s.count - 2, s.count - 1) }
        return s
    }

    /// C = α · op(self) · op(other) as a new contiguous fp32 tensor [batch…, m, n].
    func times(_ other: BF16Batch, transposed: Bool = false, otherTransposed: Bool = false, alpha: Float) -> Tensor {
        let m = transposed ? cols : rows, k = transposed ? rows : cols
        let n = otherTransposed ? other.rows : other.cols
        precondition((otherTransposed ? other.cols : other.rows) == k && batch == other.batch,
                     "batchedMatmulBF16: \(batch) × \(rows)×\(cols) and \(other.batch) × \(other.rows)×\(other.cols) do not multiply")
        let out = Tensor(uninitializedShape: batch + [m, n])
        DNNLMatmul.runBatched(batch: batch, m: m, n: n, k: k,
                              a: UnsafePointer(values.storage), aStrides: strides(transposed: transposed),
                              b: UnsafePointer(other.values.storage), bStrides: other.strides(transposed: otherTransposed),
                              c: out.storage.pointer, cStrides: Tensor.contiguousStrides(out.shape), alpha: alpha)
        Engine.countFLOPs(2 * out.count * k)
        return out
    }
}

extension Tensor {
    /// C = α · bf16(A) · op(bf16(B)) batched over the leading axes (A [batch…, m, k], B [batch…, k, n],
    /// or [batch…, n, k] with `transposeB`; equal batch shapes), fp32 accumulation and output: the two
    /// products of attention, q·kᵀ/√d and A·v, as PyTorch's autocast runs them in bf16 (oneDNN's batched
    /// matmul, AMX `TDPBF16PS` or `VDPBF16PS`). Operands of any strides (the permuted heads) are rounded
    /// once (ties to even) into contiguous bf16; differentiable, with each operand and dC rounded once —
    ///     forward   C  = α · bf16(A) · op(bf16(B))
    ///     backward  dA = α · bf16(dC) · op(bf16(B))ᵀ,  d op(B) = α · bf16(A)ᵀ · bf16(dC)
    /// (Micikevicius et al., 2018, "Mixed Precision Training"). Without AVX512_BF16 this is the fp32 `matmul`,
    /// with a note printed once.
    public func batchedMatmulBF16(_ other: Tensor, transposeB: Bool = false, alpha: Float = 1) -> Tensor {
        let a = self, b = other
        precondition(a.rank >= 3 && b.rank == a.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
                     "batchedMatmulBF16: operands need the same batch axes, got \(a.shape) and \(b.shape)")
        guard LowPrecision.isAvailable(.bf16) else {
            LowPrecision.noteFallback(.bf16)
            return a.matmul(b, transposeB: transposeB, alpha: alpha)
        }
        let ab = BF16Batch(rounding: a), bb = BF16Batch(rounding: b)
        var out = ab.times(bb, otherTransposed: transposeB, alpha: alpha)
        if let parents = Autograd.parents([a, b]) {
            out.node = Node(parents, op: "batched_matmul_bf16") { g, node in
                Autograd.noGrad {
                    let gb = BF16Batch(rounding: g)
                    // op(B) = B or Bᵀ: dA = α·dC·op(B)ᵀ; dB = α·Aᵀ·dC, or (dC)ᵀ·A when B is read transposed.
                    let da = node.needs(0) ? gb.times(bb, otherTransposed: !transposeB, alpha: alpha) : nil
                    let db = node.needs(1) ? (transposeB ? gb.times(ab, transposed: true, alpha: alpha)
                                                         : ab.times(gb, transposed: true, alpha: alpha)) : nil
                    return [da, db]
                }
            }
        }
        return out
    }
}
