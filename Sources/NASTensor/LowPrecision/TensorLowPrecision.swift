extension Tensor {
    /// `self · other` (or `self · otherᵀ`) with both operands rounded to bf16 (ties to even), fp32
    /// accumulation and fp32 output, plus an optional `bias` [n]. `self` is [..., m, k] (the leading axes
    /// are folded into rows), `other` a 2-D weight (any strides: a leading slice is read in place).
    /// Records no autograd graph. Without AVX512_BF16 it computes the fp32 `matmul` and prints a note once.
    public func matmulBF16(_ other: Tensor, transposeB: Bool = false, bias: Tensor? = nil) -> Tensor {
        precondition(other.rank == 2, "matmulBF16: the right operand must be 2-D, got shape \(other.shape)")
        guard LowPrecision.isAvailable(.bf16) else {
            LowPrecision.noteFallback(.bf16)
            return Autograd.noGrad { fp32Fallback(other, transposeB: transposeB, bias: bias) }
        }
        let b = other.matrixView(transposed: transposeB)
        let rounded: LowPrecision.BF16Operand = LowPrecision.rounded(b)
        let out = matmulBF16(rounded.matrix, bias: bias)
        withExtendedLifetime((other, rounded)) {}
        return out
    }

    /// `self · wᵀ` (`transposeB`, the `Linear` layout [out, in]) or `self · w` with a weight already in
    /// bf16, plus an optional `bias`. Without AVX512_BF16: the fp32 product with the bf16 values.
    public func matmulBF16(_ w: BF16Matrix, transposeB: Bool = false, bias: Tensor? = nil) -> Tensor {
        guard LowPrecision.isAvailable(.bf16) else {
            LowPrecision.noteFallback(.bf16)
            return Autograd.noGrad { fp32Fallback(w.tensor(), transposeB: transposeB, bias: bias) }
        }
        let out = matmulBF16(transposeB ? w.matrix.transposed : w.matrix, bias: bias)
        withExtendedLifetime(w) {}
        return out
    }

    /// `self · w.dequantized()ᵀ + bias` through the int8 GEMM: `self` [..., in] is quantized per tensor
    /// to uint8 (dynamic range, `QuantizedActivations`) and multiplied with the int8 weight [out, in] (on
    /// the engine's AMX kernel where it applies, which quantizes while it packs; else oneDNN).
    /// Records no autograd graph. Without VNNI: the fp32 product with the dequantized weight, and a note.
    public func matmulInt8(_ w: Int8Weights, bias: Tensor? = nil) -> Tensor {
        guard LowPrecision.isAvailable(.int8) else {
            LowPrecision.noteFallback(.int8)
            return Autograd.noGrad { fp32Fallback(w.dequantized(), transposeB: true, bias: bias) }
        }
        let (rows, k) = foldedShape("matmulInt8")
        precondition(k == w.inFeatures, "matmulInt8: input has \(k) features, the weight takes \(w.inFeatures)")
        let x = Autograd.noGrad { self.reshaped([rows, k]) }
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [w.outFeatures])
        let biasValues = checkedBias(bias, w.outFeatures, "matmulInt8")
        let xm = x.matrixView(transposed: false)
        if AMXMatmul.acceptsInt8(xm) {   // quantized while packed, never stored
            let (scale, zeroPoint) = QuantizedActivations.dynamicRange(of: x)
            AMXMatmul.runInt8(xm, scale: scale, zeroPoint: zeroPoint, w, bias: biasValues,
                              into: out.storage.pointer, ldc: w.outFeatures)
            withExtendedLifetime(x) {}
            return out
        }
        let q = QuantizedActivations(quantizing: x)
        q.values.withUnsafeBufferPointer { a in
            w.values.withUnsafeBufferPointer { b in
                LowPrecision.gemmInt8(StridedMatrix(a.baseAddress!, rows: rows, cols: k, rowStride: k), scale: q.scale, zeroPoint: q.zeroPoint,
                                      StridedMatrix(b.baseAddress!, rows: w.outFeatures, cols: k, rowStride: k).transposed,
                                      scales: w.scales, columnSums: w.columnSums, bias: biasValues,
                                      into: out.storage.pointer, ldc: w.outFeatures)
            }
        }
        return out
    }

    /// bf16 product with an already-rounded right operand; `self` is rounded here.
    private func matmulBF16(_ b: StridedMatrix<UInt16>, bias: Tensor?) -> Tensor {
        let (rows, k) = foldedShape("matmulBF16")
        precondition(k == b.rows, "matmulBF16: inner dimensions differ: \(shape) against a \(b.rows)×\(b.cols) right operand")
        let x = Autograd.noGrad { self.reshaped([rows, k]) }
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [b.cols])
        let biasValues = checkedBias(bias, b.cols, "matmulBF16")
        LowPrecision.gemmBF16(x.matrixView(transposed: false), b, bias: biasValues, into: out.storage.pointer, ldc: b.cols)
        withExtendedLifetime(x) {}
        return out
    }

    /// (rows, k): the leading axes folded into rows.
    private func foldedShape(_ function: String) -> (Int, Int) {
        precondition(rank >= 1, "\(function): needs at least a 1-D input, got a scalar")
        let k = shape[rank - 1]
        return (count / Swift.max(k, 1), k)
    }

    func checkedBias(_ bias: Tensor?, _ n: Int, _ function: String) -> [Float]? {
        guard let bias else { return nil }
        precondition(bias.shape == [n], "\(function): bias has shape \(bias.shape), expected [\(n)]")
        return bias.scalars
    }

    /// The last two axes of a 2-D tensor as a strided operand, optionally transposed.
    func matrixView(transposed: Bool) -> StridedMatrix<Float> {
        let m = StridedMatrix(UnsafePointer(basePointer), rows: shape[0], cols: shape[1], rowStride: strides[0], colStride: strides[1])
        return transposed ? m.transposed : m
    }

    private func fp32Fallback(_ w: Tensor, transposeB: Bool, bias: Tensor?) -> Tensor {
        let y = matmul(w, transposeB: transposeB)
        return bias.map { y + $0 } ?? y
    }
}
