extension Tensor {
    /// y = x·Wᵀ + b in bf16 mixed precision, differentiable (Micikevicius et al., 2018, "Mixed Precision
    /// Training"; bf16 needs no loss scaling, Kalamkar et al., 2019): every GEMM rounds its operands to
    /// bf16 (ties to even) and accumulates in fp32 —
    ///     forward  y  = bf16(x)·bf16(W)ᵀ + b
    ///     backward dx = bf16(dy)·bf16(W),  dW = bf16(dy)ᵀ·bf16(x),  db = Σ_rows dy (fp32)
    /// — while W itself (the fp32 master weight), the optimizer state and everything outside the GEMMs
    /// stay fp32. `self` is [..., in], `weight` a 2-D [out, in] view (a leading slice is read in place).
    /// Without AVX512_BF16 every GEMM runs in fp32 (`matmulBF16` prints the note once).
    public func linearBF16(_ weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let x = self, w = weight
        precondition(w.rank == 2 && x.shape.last == w.shape[1],
                     "linearBF16: input \(x.shape) does not match the weight \(w.shape) ([out, in])")
        var out = Autograd.noGrad { x.matmulBF16(w, transposeB: true, bias: bias) }
        let rows = x.count / Swift.max(w.shape[1], 1), flops = 2 * rows * w.shape[0] * w.shape[1]
        Engine.countFLOPs(flops)
        if let parents = Autograd.parents(bias.map { [x, w, $0] } ?? [x, w]) {
            let xv = x.detached(), wv = w.detached()
            out.node = Node(parents, op: "linear_bf16") { g, node in
                Autograd.noGrad {
                    let g2 = g.reshaped([rows, w.shape[0]])
                    var dx: Tensor?, dw: Tensor?, db: Tensor?
                    if node.needs(0) { dx = g.matmulBF16(wv); Engine.countFLOPs(flops) }
                    if node.needs(1) { dw = g2.transposed().matmulBF16(xv.reshaped([rows, w.shape[1]])); Engine.countFLOPs(flops) }
                    if bias != nil && node.needs(2) { db = g2.sum(axes: [0]) }
                    return bias == nil ? [dx, dw] : [dx, dw, db]
                }
            }
        }
        return out
    }
}
