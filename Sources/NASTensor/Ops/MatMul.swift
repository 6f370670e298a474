import CKernels
import COpenBLAS
import Dispatch

/// A strided 2-D operand for sgemm: rows × cols with element (i, j) at `base[i*rs + j*cs]`.
/// Row-major with unit column stride maps to BLAS "no transpose"; unit row stride maps to "transpose".
/// This is how leading slices (`W[:out, :in]`, ld = the parent's width) and transposed views reach BLAS
/// without a copy.
struct MatrixOperand {
    var base: UnsafeMutablePointer<Float>
    var rows: Int, cols: Int, rs: Int, cs: Int

    /// (transpose flag, leading dimension) when BLAS can read the operand in place.
    var blasLayout: (CBLAS_TRANSPOSE, Int32)? {
        if cs == 1 || cols == 1 {
            let ld = rows == 1 ? Swift.max(cols, 1) : rs
            if ld >= Swift.max(cols, 1) { return (CblasNoTrans, Int32(ld)) }
        }
        if rs == 1 || rows == 1 {
            let ld = cols == 1 ? Swift.max(rows, 1) : cs
            if ld >= Swift.max(rows, 1) { return (CblasTrans, Int32(ld)) }
        }
        return nil
    }
}

enum GEMM {
    /// C[m×n] (row-major, leading dimension ldc) = alpha · A[m×k] · B[k×n] + beta · C.
    ///
    /// OpenBLAS runs single-threaded; a large product is split here into one block of rows (or of
    /// columns, when n > m, or of the inner dimension, when k is long) per engine thread. The engine owns all threads, so no BLAS worker spins
    /// while the engine's elementwise kernels run, and each block's result does not depend on the split.
    static func run(_ a: MatrixOperand, _ b: MatrixOperand, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                    alpha: Float = 1, beta: Float) {
        let m = a.rows, k = a.cols, n = b.cols
        if m == 0 || n == 0 { return }
        let parts = Swift.min(Engine.threads, m * n * k >= (1 << 20) ? Swift.max(m, n, k) / 64 : 1)
        if parts <= 1 {
            single(a, b, c, ldc: ldc, alpha: alpha, beta: beta)
            return
        }
        if k >= 2 * Swift.max(m, n) {
            // Long inner dimension (weight gradients): split k, so that no thread packs an operand
            // another thread also packs; part 0 accumulates into C, the others into scratch blocks
            // that are then added in part order (deterministic).
            let scratch = Tensor(uninitializedShape: [parts - 1, m, n])
            defer { withExtendedLifetime(scratch) {} }
            let ps = scratch.storage.pointer
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                let lo = k * p / parts, hi = k * (p + 1) / parts
                let ap = MatrixOperand(base: a.base + lo * a.cs, rows: m, cols: hi - lo, rs: a.rs, cs: a.cs)
                let bp = MatrixOperand(base: b.base + lo * b.rs, rows: hi - lo, cols: n, rs: b.rs, cs: b.cs)
                if p == 0 { single(ap, bp, c, ldc: ldc, alpha: alpha, beta: beta) }
                else { single(ap, bp, ps + (p - 1) * m * n, ldc: n, alpha: alpha, beta: 0) }
            }
            Engine.parallelFor(m, costPerItem: n * parts) { r in
                for i in r { for p in 1..<parts { nk_accumulate(ps + (p - 1) * m * n + i * n, 1, c + i * ldc, 1, n) } }
            }
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            if m >= n {
                let lo = m * p / parts, hi = m * (p + 1) / parts
                let ap = MatrixOperand(base: a.base + lo * a.rs, rows: hi - lo, cols: k, rs: a.rs, cs: a.cs)
                single(ap, b, c + lo * ldc, ldc: ldc, alpha: alpha, beta: beta)
            } else {
                let lo = n * p / parts, hi = n * (p + 1) / parts
                let bp = MatrixOperand(base: b.base + lo * b.cs, rows: k, cols: hi - lo, rs: b.rs, cs: b.cs)
                single(a, bp, c + lo, ldc: ldc, alpha: alpha, beta: beta)
            }
        }
    }

    /// One single-threaded sgemm call (operands copied only when neither stride is 1).
    static func single(_ a: MatrixOperand, _ b: MatrixOperand, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                       alpha: Float, beta: Float) {
        let m = a.rows, k = a.cols, n = b.cols
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        var copies: [Tensor] = []
        func layout(_ x: MatrixOperand) -> (CBLAS_TRANSPOSE, Int32, UnsafeMutablePointer<Float>) {
            if let (t, ld) = x.blasLayout { return (t, ld, x.base) }
            let t = Tensor(uninitializedShape: [x.rows, x.cols])
            for i in 0..<x.rows { for j in 0..<x.cols { t.storage.pointer[i * x.cols + j] = x.base[i * x.rs + j * x.cs] } }
            copies.append(t)
            return (CblasNoTrans, Int32(x.cols), t.storage.pointer)
        }
        let (ta, lda, pa) = layout(a)
        let (tb, ldb, pb) = layout(b)
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, pa, lda, pb, ldb, beta, c, Int32(ldc))
        withExtendedLifetime(copies) {}
    }
}

extension Tensor {
    /// The last two axes as a matrix operand at batch offset `o`, optionally transposed.
    fileprivate func operand(at o: Int, transposed t: Bool) -> MatrixOperand {
        let r = shape[rank - 2], c = shape[rank - 1], rs = strides[rank - 2], cs = strides[rank - 1]
        return t ? MatrixOperand(base: storage.pointer + offset + o, rows: c, cols: r, rs: cs, cs: rs)
                 : MatrixOperand(base: storage.pointer + offset + o, rows: r, cols: c, rs: rs, cs: cs)
    }

    /// The stride of one row when the batch axes and the row axis merge into one strided axis (so a
    /// batched product with a shared right operand is one tall GEMM), else nil. Axes of size 1 are
    /// skipped: their strides are arbitrary.
    fileprivate var foldedRowStride: Int? {
        let axes = (0...(rank - 2)).filter { shape[$0] != 1 }
        guard let last = axes.last else { return strides[rank - 2] }  // a single row
        for (i, d) in axes.dropLast().enumerated() where strides[d] != strides[axes[i + 1]] * shape[axes[i + 1]] {
            return nil
        }
        return strides[last]
    }

    /// Matrix product over the last two axes with optional transposes, batched over the leading axes
    /// (which broadcast). `op(A)` is m×k, `op(B)` is k×n, the result [..., m, n] is contiguous.
    /// Transposes are strides handed to BLAS, never materialised.
    ///
    /// `alpha` scales the product inside the GEMM (free), e.g. the 1/√d of attention scores.
    /// `bias` [n] is added to every output row inside the GEMM (the output is filled with it and the
    /// GEMM accumulates with beta = 1): a Linear layer in one pass.
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1,
                       bias: Tensor? = nil) -> Tensor {
        let a = self, b = other
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let ka = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        precondition(ka == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = Broadcast.shape(batchA, batchB, op: "matmul")
        var out = Tensor(uninitializedShape: batch + [m, n])
        let pc = out.storage.pointer
        Engine.countFLOPs(2 * m * n * ka * batch.reduce(1, *))
        var beta: Float = 0
        if let bias {
            precondition(bias.shape == [n], "matmul: bias \(bias.shape) must be [\(n)] for output \(out.shape)")
            let pb = bias.basePointer, sb = bias.strides[0], rows = out.count / Swift.max(n, 1)
            Engine.parallelFor(rows, costPerItem: n) { r in for i in r { nk_copy(pb, sb, pc + i * n, 1, n) } }
            beta = 1
        }

        if batchB.allSatisfy({ $0 == 1 }) && !transposeA && batch == batchA, let rowStride = a.foldedRowStride {
            // Shared right operand: fold all batch rows of A into one tall GEMM.
            let rows = batch.reduce(1, *) * m
            let ao = MatrixOperand(base: a.basePointer, rows: rows, cols: ka, rs: rowStride, cs: a.strides[a.rank - 1])
            GEMM.run(ao, b.operand(at: 0, transposed: transposeB), pc, ldc: n, alpha: alpha, beta: beta)
        } else {
            let nb = batch.reduce(1, *)
            let sa = Broadcast.strides(Tensor(storage: a.storage, shape: batchA, strides: Array(a.strides.dropLast(2)), offset: 0), to: batch)
            let sb = Broadcast.strides(Tensor(storage: b.storage, shape: batchB, strides: Array(b.strides.dropLast(2)), offset: 0), to: batch)
            func offsets(_ i: Int) -> (Int, Int) {
                var rem = i, oa = 0, ob = 0
                for d in stride(from: batch.count - 1, through: 0, by: -1) {
                    let j = rem % batch[d]
                    rem /= batch[d]
                    oa += j * sa[d]; ob += j * sb[d]
                }
                return (oa, ob)
            }
            // Small products: whole products split across threads. Large: each product split in GEMM.run.
            let small = m * n * ka < (1 << 21)
            Engine.parallelFor(nb, costPerItem: small ? Engine.parallelThreshold : 0) { r in
                for i in r {
                    let (oa, ob) = offsets(i)
                    let (opA, opB) = (a.operand(at: oa, transposed: transposeA), b.operand(at: ob, transposed: transposeB))
                    if small { GEMM.single(opA, opB, pc + i * m * n, ldc: n, alpha: alpha, beta: beta) }
                    else { GEMM.run(opA, opB, pc + i * m * n, ldc: n, alpha: alpha, beta: beta) }
                }
            }
        }

        if let parents = Autograd.parents(bias.map { [a, b, $0] } ?? [a, b]) {
            let av = a.detached(), bv = b.detached()
            out.node = Node(parents, op: "matmul") { g, node in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                var da: Tensor?, db: Tensor?, dbias: Tensor?
                if bias != nil && node.needs(2) { dbias = g.reshaped([-1, n]).sum(axes: [0]) }
                if node.needs(0) {
                    // C = op(A)·op(B):  d op(A) = dC·op(B)ᵀ
                    da = transposeA ? bv.matmul(g, transposeA: transposeB, transposeB: true, alpha: alpha)
                                    : g.matmul(bv, transposeA: false, transposeB: !transposeB, alpha: alpha)
                    da = da!.sum(toShape: av.shape)
                }
                if node.needs(1) {
                    // d op(B) = op(A)ᵀ·dC
                    if batchB.allSatisfy({ $0 == 1 }) && !transposeA && batch == batchA, let rowStride = av.foldedRowStride {
                        // One GEMM over all folded rows, accumulated straight into a parameter's block.
                        let rows = batch.reduce(1, *) * m
                        let ao = MatrixOperand(base: av.basePointer, rows: rows, cols: ka,
                                               rs: rowStride, cs: av.strides[av.rank - 1])
                        let go = MatrixOperand(base: g.basePointer, rows: rows, cols: n, rs: n, cs: 1)
                        let aT = MatrixOperand(base: ao.base, rows: ka, cols: rows, rs: ao.cs, cs: ao.rs)
                        let gT = MatrixOperand(base: go.base, rows: n, cols: rows, rs: 1, cs: n)
                        if let leaf = node.leafGradient(1), leaf.rank == 2,
                           let ldc = leaf.strides.first, leaf.strides[1] == 1 {
                            // dB (or dBᵀ) into the leading block of the parameter's gradient, beta = 1.
                            Engine.countFLOPs(2 * rows * ka * n)
                            if transposeB { GEMM.run(gT, ao, leaf.basePointer, ldc: ldc, alpha: alpha, beta: 1) }
                            else { GEMM.run(aT, go, leaf.basePointer, ldc: ldc, alpha: alpha, beta: 1) }
                            return bias == nil ? [da, nil] : [da, nil, dbias]
                        }
                        let shapeB = bv.shape
                        let r = Tensor(uninitializedShape: transposeB ? [n, ka] : [ka, n])
                        Engine.countFLOPs(2 * rows * ka * n)
                        if transposeB { GEMM.run(gT, ao, r.storage.pointer, ldc: ka, alpha: alpha, beta: 0) }
                        else { GEMM.run(aT, go, r.storage.pointer, ldc: n, alpha: alpha, beta: 0) }
                        db = r.reshaped(shapeB)
                    } else {
                        db = transposeB ? g.matmul(av, transposeA: true, transposeB: transposeA, alpha: alpha)
                                        : av.matmul(g, transposeA: !transposeA, transposeB: false, alpha: alpha)
                        db = db!.sum(toShape: bv.shape)
                    }
                }
                return bias == nil ? [da, db] : [da, db, dbias]
            }
        }
        return out
    }
}
