extension Tensor {
    /// Elementwise choice with broadcasting: `a` where `condition` ≠ 0, else `b`.
    /// Gradients flow to `a` where the condition holds and to `b` elsewhere.
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = Broadcast.shape(Broadcast.shape(condition.shape, a.shape, op: "where"), b.shape, op: "where")
        let c = condition.materialized(to: shape), av = a.materialized(to: shape), bv = b.materialized(to: shape)
        defer { withExtendedLifetime((c, av, bv)) {} }
        var out = Tensor(uninitializedShape: shape)
        let pc = c.storage.pointer, pa = av.storage.pointer, pb = bv.storage.pointer, po = out.storage.pointer
        Engine.parallelFor(out.count) { r in for i in r { po[i] = pc[i] != 0 ? pa[i] : pb[i] } }
        if let parents = Autograd.parents(condition, a, b) {
            let sa = a.shape, sb = b.shape
            out.node = Node(parents, op: "where") { g, node in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let n = g.count, pg = g.basePointer, pc = c.basePointer
                func masked(_ keep: Bool) -> Tensor {
                    let t = Tensor(uninitializedShape: shape)
                    let pt = t.storage.pointer
                    for i in 0..<n { pt[i] = (pc[i] != 0) == keep ? pg[i] : 0 }
                    return t
                }
                return [nil,
                        node.needs(1) ? masked(true).sum(toShape: sa) : nil,
                        node.needs(2) ? masked(false).sum(toShape: sb) : nil]
            }
        }
        return out
    }

    /// `value` where `mask` ≠ 0 (mask broadcasts), self elsewhere.
    public func maskedFill(_ mask: Tensor, value: Float) -> Tensor {
        Tensor.select(mask, Tensor(scalar: value), self)
    }
}
