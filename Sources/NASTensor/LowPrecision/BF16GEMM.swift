extension LowPrecision {
    /// C[m×n] (fp32, row stride `ldc`) = A[m×k] · B[k×n] + bias[n], with bf16 operands, fp32
    /// accumulation (the engine's AMX kernel where it applies, `AMXMatmul`; else oneDNN matmul, `VDPBF16PS`). A and B may be leading slices or transposed views,
    /// as long as one of each one's strides is 1. Needs `isAvailable(.bf16)`.
    public static func gemmBF16(_ a: StridedMatrix<UInt16>, _ b: StridedMatrix<UInt16>, bias: UnsafePointer<Float>? = nil,
                                into c: UnsafeMutablePointer<Float>, ldc: Int) {
        requireAvailable(.bf16, "gemmBF16")
        checkShapes("gemmBF16", a.rows, a.cols, b.rows, b.cols, ldc: ldc)
        requireUnitStride("gemmBF16", "A", a.rowStride, a.colStride)
        requireUnitStride("gemmBF16", "B", b.rowStride, b.colStride)
        if AMXMatmul.accepts(.bf16(a)) {
            AMXMatmul.run(.bf16(a), b, bias: bias, into: c, ldc: ldc)
            return
        }
        DNNLMatmul.run(.bf16, m: a.rows, n: b.cols, k: a.cols, a: a.base, aStrides: (a.rowStride, a.colStride),
                       b: b.base, bStrides: (b.rowStride, b.colStride), elementSizes: (2, 2),
                       c: c, ldc: ldc, bias: bias)
    }

    /// C = bf16(A) · bf16(B) + bias with fp32 operands, each rounded to bf16 (ties to even) first; B
    /// keeps its orientation (a transposed view, e.g. a `Linear` weight `W[:out, :in]ᵀ`, is rounded
    /// row by row of W). For a weight used many times, round it once into a `BF16Matrix` instead.
    public static func gemmBF16(_ a: StridedMatrix<Float>, _ b: StridedMatrix<Float>, bias: UnsafePointer<Float>? = nil,
                                into c: UnsafeMutablePointer<Float>, ldc: Int) {
        requireAvailable(.bf16, "gemmBF16")
        checkShapes("gemmBF16", a.rows, a.cols, b.rows, b.cols, ldc: ldc)
        let bb = rounded(b)
        gemmBF16(a, bb.matrix, bias: bias, into: c, ldc: ldc)
        withExtendedLifetime(bb) {}
    }

    /// C = bf16(A) · B + bias with A in fp32, rounded to bf16 (ties to even), and B already in bf16 (a
    /// weight rounded once). Where the AMX kernel applies, A is rounded while it is packed, never stored.
    public static func gemmBF16(_ a: StridedMatrix<Float>, _ b: StridedMatrix<UInt16>, bias: UnsafePointer<Float>? = nil,
                                into c: UnsafeMutablePointer<Float>, ldc: Int) {
        requireAvailable(.bf16, "gemmBF16")
        checkShapes("gemmBF16", a.rows, a.cols, b.rows, b.cols, ldc: ldc)
        if AMXMatmul.accepts(.fp32(a)) {
            AMXMatmul.run(.fp32(a), b, bias: bias, into: c, ldc: ldc)
            return
        }
        let ab = BF16Matrix(rounding: a)
        gemmBF16(ab.matrix, b, bias: bias, into: c, ldc: ldc)
        withExtendedLifetime(ab) {}
    }

    /// `m` rounded to bf16 in its own orientation: a view with unit row stride (a transpose) is stored
    /// transposed, so reading it stays sequential; the operand is in `m`'s orientation.
    static func rounded(_ m: StridedMatrix<Float>) -> BF16Operand {
        if m.rowStride == 1 && m.colStride != 1 && m.cols > 1 {
            let t = BF16Matrix(rounding: m.transposed)
            return BF16Operand(owner: t, matrix: t.matrix.transposed)
        }
        let t = BF16Matrix(rounding: m)
        return BF16Operand(owner: t, matrix: t.matrix)
    }

    /// A bf16 operand and the storage that keeps it alive.
    struct BF16Operand {
        let owner: BF16Matrix
        let matrix: StridedMatrix<UInt16>
    }

    static func requireAvailable(_ kind: Kind, _ function: String) {
        precondition(isAvailable(kind), "LowPrecision.\(function): \(kind.rawValue) needs \(kind.requiredISA), which this CPU lacks "
                     + "(oneDNN reports \(isaName)); check LowPrecision.isAvailable(.\(kind.rawValue)) and run fp32")
    }

    static func checkShapes(_ function: String, _ am: Int, _ ak: Int, _ bk: Int, _ bn: Int, ldc: Int) {
        precondition(ak == bk, "LowPrecision.\(function): inner dimensions differ: A is \(am)×\(ak), B is \(bk)×\(bn)")
        precondition(ldc >= bn, "LowPrecision.\(function): ldc \(ldc) is smaller than C's \(bn) columns")
    }

    static func requireUnitStride(_ function: String, _ name: String, _ rowStride: Int, _ colStride: Int) {
        precondition(rowStride == 1 || colStride == 1,
                     "LowPrecision.\(function): \(name) has strides (\(rowStride), \(colStride)); one of them must be 1")
    }
}
