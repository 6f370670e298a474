import Foundation

extension LowPrecision {
    /// C[m×n] (fp32, row stride `ldc`) from uint8 activations and int8 weights:
    ///
    ///     C[i,j] = sA · sB[j] · (Σₖ A[i,k]·B[k,j] − zA · Σₖ B[k,j]) + bias[j]
    ///
    /// i.e. the product of the dequantized operands sA·(A − zA) and sB[j]·B[:,j] (asymmetric per-tensor
    /// activations, symmetric per-output-channel weights; Jacob et al. 2018, "Quantization and Training
    /// of Neural Networks for Efficient Integer-Arithmetic-Only Inference", eq. 7). oneDNN accumulates
    /// Σ A·B exactly in int32 (`VPDPBUSD`) and applies the per-column scale and bias in its epilogue;
    /// the zero-point term uses the weights' precomputed column sums `columnSums[j] = Σₖ B[k,j]` and is
    /// folded into the bias (in oneDNN 2.x the bias is added before the output scale):
    /// bias′[j] = bias[j] / (sA·sB[j]) − zA·Σₖ B[k,j], computed in double precision, so the result is
    /// exact up to fp32 rounding of the int32 sum and of the rescale. Needs `isAvailable(.int8)`.
    public static func gemmInt8(_ a: StridedMatrix<UInt8>, scale: Float, zeroPoint: Int32,
                                _ b: StridedMatrix<Int8>, scales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                bias: UnsafePointer<Float>? = nil, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        requireAvailable(.int8, "gemmInt8")
        checkShapes("gemmInt8", a.rows, a.cols, b.rows, b.cols, ldc: ldc)
        requireUnitStride("gemmInt8", "A", a.rowStride, a.colStride)
        requireUnitStride("gemmInt8", "B", b.rowStride, b.colStride)
        precondition(scale.isFinite && scale > 0, "LowPrecision.gemmInt8: the activation scale must be positive and finite, got \(scale)")
        precondition((0...255).contains(zeroPoint), "LowPrecision.gemmInt8: the activation zero point \(zeroPoint) is outside 0...255")
        let n = b.cols
        var outScales = [Float](repeating: 0, count: n), folded = [Float](repeating: 0, count: n)
        for j in 0..<n {
            let s = scale * scales[j]
            precondition(s.isFinite && s > 0, "LowPrecision.gemmInt8: weight scale \(scales[j]) of output channel \(j) must be positive and finite")
            outScales[j] = s
            folded[j] = Float((bias.map { Double($0[j]) } ?? 0) / Double(s) - Double(zeroPoint) * Double(columnSums[j]))
        }
        DNNLMatmul.run(.int8, m: a.rows, n: n, k: a.cols, a: a.base, aStrides: (a.rowStride, a.colStride),
                       b: b.base, bStrides: (b.rowStride, b.colStride), elementSizes: (1, 1),
                       c: c, ldc: ldc, bias: folded, scales: outScales)
    }
}
