import CKernels

extension Tensor {
    /// Embedding lookup: rows `ids` of a 2-D table [V, D] (which may be a leading-slice view),
    /// giving [ids.count, D]. Backward is a scatter-add into the table's gradient rows, straight into
    /// the parameter's gradient when the table is a parameter view.
    public func gather(rows ids: [Int32]) -> Tensor {
        precondition(rank == 2, "gather: table must be 2-D, got \(shape)")
        let v = shape[0], d = shape[1]
        for id in ids { precondition(id >= 0 && Int(id) < v, "gather: id \(id) out of range for table \(shape)") }
        var out = Tensor(uninitializedShape: [ids.count, d])
        let src = basePointer, rs = strides[0], cs = strides[1], dst = out.storage.pointer
        ids.withUnsafeBufferPointer { idp in
            Engine.parallelFor(ids.count, costPerItem: d) { r in
                for i in r { nk_copy(src + Int(idp[i]) * rs, cs, dst + i * d, 1, d) }
            }
        }
        if let parents = Autograd.parents(self) {
            let tableShape = shape
            out.node = Node(parents, op: "gather") { g, node in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let pg = g.basePointer
                if let leaf = node.leafGradient(0) {
                    let pd = leaf.basePointer, lrs = leaf.strides[0], lcs = leaf.strides[1]
                    for (i, id) in ids.enumerated() { nk_accumulate(pg + i * d, 1, pd + Int(id) * lrs, lcs, d) }
                    return [nil]
                }
                let dt = Tensor(zeros: tableShape)
                let pd = dt.storage.pointer
                for (i, id) in ids.enumerated() { nk_accumulate(pg + i * d, 1, pd + Int(id) * d, 1, d) }
                return [dt]
            }
        }
        return out
    }
}
