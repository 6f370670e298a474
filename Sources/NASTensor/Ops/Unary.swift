import CKernels

// Elementwise functions with their derivatives. The fast vectorised approximations of exp, tanh and
// erf are in CKernels (relative error ≈ 1e-7); GELU has both forms:
//   erf form   GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2))                      (Hendrycks & Gimpel, 2016)
//   tanh form  GELU(x) ≈ ½x(1 + tanh(√(2/π)(x + 0.044715x³)))

extension Tensor {
    private func unary(_ op: nk_unop, _ name: String) -> Tensor {
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        var out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, py = out.storage.pointer
        Engine.parallelFor(count, costPerItem: 4) { r in nk_unary(op, px + r.lowerBound, py + r.lowerBound, r.count) }
        if let parents = Autograd.parents(self) {
            let y = out.detached()
            out.node = Node(parents, op: name) { g, _ in
                let gc = g.contiguous()
                defer { withExtendedLifetime(gc) {} }
                let dx = Tensor(uninitializedShape: gc.shape)
                let px = x.basePointer, pg = gc.basePointer, pd = dx.storage.pointer, pyv = y.basePointer
                Engine.parallelFor(dx.count, costPerItem: 4) { r in
                    let o = r.lowerBound
                    nk_unary_backward(op, px + o, pyv + o, pg + o, pd + o, r.count)
                }
                return [dx]
            }
        }
        return out
    }

    public func exp() -> Tensor { unary(NK_EXP, "exp") }
    public func log() -> Tensor { unary(NK_LOG, "log") }
    public func sqrt() -> Tensor { unary(NK_SQRT, "sqrt") }
    public func abs() -> Tensor { unary(NK_ABS, "abs") }
    public func relu() -> Tensor { unary(NK_RELU, "relu") }
    public func tanh() -> Tensor { unary(NK_TANH, "tanh") }
    public func sigmoid() -> Tensor { unary(NK_SIGMOID, "sigmoid") }
    /// GELU, exact (erf) form.
    public func gelu() -> Tensor { unary(NK_GELU_ERF, "gelu") }
    /// GELU, tanh approximation (GPT-2's form).
    public func geluTanh() -> Tensor { unary(NK_GELU_TANH, "gelu_tanh") }
    public func square() -> Tensor { unary(NK_SQUARE, "square") }
    public func reciprocal() -> Tensor { unary(NK_RECIP, "reciprocal") }

    /// xᵖ elementwise (x > 0 for non-integer p).
    public func pow(_ p: Float) -> Tensor {
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        var out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, py = out.storage.pointer
        Engine.parallelFor(count, costPerItem: 8) { r in nk_pow(px + r.lowerBound, p, py + r.lowerBound, r.count) }
        if let parents = Autograd.parents(self) {
            out.node = Node(parents, op: "pow") { g, _ in
                let gc = g.contiguous()
                defer { withExtendedLifetime(gc) {} }
                let dx = Tensor(uninitializedShape: gc.shape)
                let px = x.basePointer, pg = gc.basePointer, pd = dx.storage.pointer
                Engine.parallelFor(dx.count, costPerItem: 8) { r in
                    nk_pow_backward(px + r.lowerBound, p, pg + r.lowerBound, pd + r.lowerBound, r.count)
                }
                return [dx]
            }
        }
        return out
    }
}
