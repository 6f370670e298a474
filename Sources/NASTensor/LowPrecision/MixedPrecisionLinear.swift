extension Tensor {
    /// y = x·Wᵀ + b in bf16 mixed precision, differentiable (Micikevicius et al., 2018, "Mixed Precision
    /// Training"; bf16 needs no loss scaling, Kalamkar et al., 2019): every GEMM rounds its operands to
    /// bf16 (ties to even) and accumulates in fp32 —
    ///     forward  y  = bf16(x)·bf16(W)ᵀ + b
    ///     backward dx = bf16(dy)·bf16(W),  dW = bf16(dy)ᵀ·bf16(x),  db = Σ_rows dy (fp32)
    /// — while W itself (the fp32 master weight), the optimizer state and everything outside the GEMMs
    /// stay fp32. `self` is [..., in], `weight` a 2-D [out, in] view (a leading slice is read in place).
    /// Each operand is rounded once: bf16(x) and bf16(W) from the forward pass serve the backward pass
    /// (as PyTorch's autocast saves its casts), and bf16(dy) serves both of its products (dW reads it
    /// transposed, in place). Without AVX512_BF16 this is the fp32 linear, with a note printed once.
    public func linearBF16(_ weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let x = self, w = weight
        precondition(w.rank == 2 && x.shape.last == w.shape[1],
                     "linearBF16: input \(x.shape) does not match the weight \(w.shape) ([out, in])")
        guard LowPrecision.isAvailable(.bf16) else {
            LowPrecision.noteFallback(.bf16)
            return x.matmul(w, transposeB: true, bias: bias)
        }
        let outF = w.shape[0], inF = w.shape[1], rows = x.count / Swift.max(inF, 1), flops = 2 * rows * outF * inF
        let xb = BF16Matrix(rounding: Autograd.noGrad { x.reshaped([rows, inF]) })
        let wb = LowPrecision.rounded(w.matrixView(transposed: false))
        withExtendedLifetime(w) {}
        var out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outF])
        let biasValues = checkedBias(bias, outF, "linearBF16")
        LowPrecision.gemmBF16(xb.matrix, wb.matrix.transposed, bias: biasValues, into: out.storage.pointer, ldc: outF)
        Engine.countFLOPs(flops)
        if let parents = Autograd.parents(bias.map { [x, w, $0] } ?? [x, w]) {
            out.node = Node(parents, op: "linear_bf16") { g, node in
                Autograd.noGrad {
                    let g2 = g.reshaped([rows, outF]), gb = BF16Matrix(rounding: g2)
                    var dx: Tensor?, dw: Tensor?, db: Tensor?
                    if node.needs(0) {
                        let t = Tensor(uninitializedShape: x.shape)
                        LowPrecision.gemmBF16(gb.matrix, wb.matrix, into: t.storage.pointer, ldc: inF)
                        Engine.countFLOPs(flops)
                        dx = t
                    }
                    if node.needs(1) {
                        let t = Tensor(uninitializedShape: [outF, inF])
                        LowPrecision.gemmBF16(gb.matrix.transposed, xb.matrix, into: t.storage.pointer, ldc: inF)
                        Engine.countFLOPs(flops)
                        dw = t
                    }
                    if bias != nil && node.needs(2) { db = g2.sum(axes: [0]) }
                    withExtendedLifetime((xb, wb, gb)) {}
                    return bias == nil ? [dx, dw] : [dx, dw, db]
                }
            }
        }
        return out
    }
}
