import CKernels

extension Tensor {
    /// Inverted dropout: each element is kept with probability 1 − p and scaled by 1/(1 − p), in one
    /// pass that draws the mask and applies it. The mask comes from the counter-based generator, so it
    /// does not depend on how the pass is split across threads, and (for a batch-major tensor drawn
    /// with a generator carrying a `BatchShard`) not on how the batch is split across data-parallel ranks.
    public func dropout(p: Float, using rng: inout RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout: p = \(p) must be in [0, 1)")
        if p == 0 { return self }
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        var out = Tensor(uninitializedShape: shape)
        let n = count, start = rng.reserveRows(n), key = rng.key
        var keep = [UInt8](repeating: 0, count: n)   // one byte per element, kept for the backward
        let px = x.basePointer, py = out.storage.pointer
        keep.withUnsafeMutableBufferPointer { kb in
            let pk = kb.baseAddress!
            Engine.parallelFor(n, costPerItem: 4) { r in
                let o = r.lowerBound
                nk_dropout(px + o, py + o, pk + o, r.count, p, key, start + UInt64(o))
            }
        }
        if let parents = Autograd.parents(self) {
            out.node = Node(parents, op: "dropout") { g, _ in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let dx = Tensor(uninitializedShape: g.shape)
                let pg = g.basePointer, pd = dx.storage.pointer
                keep.withUnsafeBufferPointer { kb in
                    Engine.parallelFor(n, costPerItem: 2) { r in
                        nk_dropout_backward(pg + r.lowerBound, kb.baseAddress! + r.lowerBound, pd + r.lowerBound, r.count, p)
                    }
                }
                return [dx]
            }
        }
        return out
    }
}
