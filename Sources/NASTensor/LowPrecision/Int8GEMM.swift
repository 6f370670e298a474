import Foundation

extension LowPrecision {
    /// C[m×n] (fp32, row stride `ldc`) from uint8 activations and int8 weights:
    ///
    ///     C[i,j] = sA · sB[j] · (Σₖ A[i,k]·B[k,j] − zA · Σₖ B[k,j]) + bias[j]
    ///
    /// i.e. the product of the dequantized operands sA·(A − zA) and sB[j]·B[:,j] (asymmetric per-tensor
    /// activations, symmetric per-output-channel weights; Jacob et al. 2018, "Quantization and Training
    /// of Neural Networks for Efficient Integer-Arithmetic-Only Inference", eq. 7). oneDNN accumulates
    /// Σ A·B exactly in int32 (AMX `TDPBUSD` or VNNI `VPDPBUSD`); the zero-point term uses the weights'
    /// precomputed column sums `columnSums[j] = Σₖ B[k,j]` and is subtracted in int32 too, so the result
    /// is exact up to the fp32 conversion of that integer and the fp32 rescale. Needs `isAvailable(.int8)`.
    public static func gemmInt8(_ a: StridedMatrix<UInt8>, scale: Float, zeroPoint: Int32,
                                _ b: StridedMatrix<Int8>, scales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                bias: UnsafePointer<Float>? = nil, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        requireAvailable(.int8, "gemmInt8")
        checkShapes("gemmInt8", a.rows, a.cols, b.rows, b.cols, ldc: ldc)
        requireUnitStride("gemmInt8", "A", a.rowStride, a.colStride)
        requireUnitStride("gemmInt8", "B", b.rowStride, b.colStride)
        precondition(scale.isFinite && scale > 0, "LowPrecision.gemmInt8: the activation scale must be positive and finite, got \(scale)")
        precondition((0...255).contains(zeroPoint), "LowPrecision.gemmInt8: the activation zero point \(zeroPoint) is outside 0...255")
        // |Σ A·B − zA·Σ B| ≤ 2·255·127·k must fit in int32.
        precondition(a.cols <= 33_000, "LowPrecision.gemmInt8: an inner dimension of \(a.cols) could overflow the int32 sums (at most 33,000)")
        let n = b.cols
        var outScales = [Float](repeating: 0, count: n), offsets = [Int32](repeating: 0, count: n)
        for j in 0..<n {
            let s = scale * scales[j]
            precondition(s.isFinite && s > 0, "LowPrecision.gemmInt8: weight scale \(scales[j]) of output channel \(j) must be positive and finite")
            outScales[j] = s
            offsets[j] = zeroPoint * columnSums[j]
        }
        outScales.withUnsafeBufferPointer { s in
            offsets.withUnsafeBufferPointer { o in
                DNNLMatmul.run(.int8, m: a.rows, n: n, k: a.cols, a: a.base, aStrides: (a.rowStride, a.colStride),
                               b: b.base, bStrides: (b.rowStride, b.colStride), elementSizes: (1, 1), c: c, ldc: ldc, bias: bias,
                               rescale: .init(scales: s.baseAddress!, offsets: o.baseAddress!))
            }
        }
    }
}
