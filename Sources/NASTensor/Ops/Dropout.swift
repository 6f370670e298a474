import CKernels

extension Tensor {
    /// Inverted dropout: each element is kept with probability 1 − p and scaled by 1/(1 − p), in one
    /// pass that draws the mask and applies it. The mask comes from the counter-based generator, so it
    /// does not depend on how the pass is split across threads.
    public func dropout(p: Float, using rng: inout RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout: p = \(p) must be in [0, 1)")
        if p == 0 { return self }
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        var out = Tensor(uninitializedShape: shape)
        let mask = Tensor(uninitializedShape: shape)
        let start = rng.reserve(count), key = rng.key
        let px = x.basePointer, py = out.storage.pointer, pm = mask.storage.pointer
        Engine.parallelFor(count, costPerItem: 4) { r in
            let o = r.lowerBound
            nk_dropout(px + o, py + o, pm + o, r.count, p, key, start + UInt64(o))
        }
        if let parents = Autograd.parents(self) {
            out.node = Node(parents, op: "dropout") { g, _ in
                [Tensor.binaryKernel(NK_MUL, g, mask, name: "dropout")]
            }
        }
        return out
    }
}
