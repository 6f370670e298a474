extension Tensor {
    /// A linear layer whose weight is masked by a low-rank mask:
    ///     y = x·W̃ᵀ + b̃,   W̃ = W ⊙ (A·Bᵀ),   b̃ = b ⊙ (A·1),
    /// for x [..., i], W [o, i], A [o, J], B [i, J] (J small; B constant — it gets no gradient) and b [o].
    /// Weight superposition is this op (A = the combinations' output indicators times their weights, B the
    /// input indicators). Neither W̃ nor the mask outlives the call: both are rebuilt in the backward pass
    /// (o·i·J multiply-adds), so a network of such layers keeps no weight-sized tensor per layer alive
    /// between its forward and backward passes. Backward, with G = ∂L/∂y, Ĝ = Gᵀx [o, i], g = Σ_rows G:
    ///     ∂x = G·W̃,   ∂W = Ĝ ⊙ (A·Bᵀ),   ∂A = (Ĝ ⊙ W)·B + (g ⊙ b)·1ᵀ,   ∂b = g ⊙ (A·1).
    public func maskedLinear(weight: Tensor, rows a: Tensor, columns b: Tensor, bias: Tensor?) -> Tensor {
        let o = weight.shape[0], i = weight.shape[1], j = a.shape[1]
        precondition(weight.rank == 2 && shape.last == i && a.shape == [o, j] && b.shape == [i, j] && (bias?.shape ?? [o]) == [o],
                     "maskedLinear: x \(shape), W \(weight.shape), A \(a.shape), B \(b.shape), bias \(bias?.shape ?? []) do not fit")
        let x = detached(), w = weight.detached(), av = a.detached(), bv = b.detached(), bs = bias?.detached()
        func masked() -> Tensor { w * av.matmul(bv, transposeB: true) }
        var out = Autograd.noGrad { x.matmul(masked(), transposeB: true, bias: bs.map { $0 * av.sum(axes: [1]) }) }
        if let parents = Autograd.parents([self, weight, a] + (bias.map { [$0] } ?? [])) {
            out.node = Node(parents, op: "masked_linear") { g, n in
                Autograd.noGrad {
                    let rows = g.reshaped([-1, o]), inputs = x.reshaped([-1, i])
                    let mask = av.matmul(bv, transposeB: true)
                    let dx = n.needs(0) ? g.matmul(w * mask) : nil
                    let outer = n.needs(1) || n.needs(2) ? rows.matmul(inputs, transposeA: true) : nil
                    let column = rows.sum(axes: [0])
                    var da = n.needs(2) ? (outer! * w).matmul(bv) : nil
                    if let bs, da != nil { da = da! + (column * bs).reshaped([o, 1]) }
                    let grads: [Tensor?] = [dx, n.needs(1) ? outer! * mask : nil, da]
                    return grads + (bs.map { _ in [n.needs(3) ? column * av.sum(axes: [1]) : nil] } ?? [])
                }
            }
        }
        return out
    }
}
