import CKernels

// Sliding windows along one axis (the im2col of a 1-D convolution).

extension Tensor {
    /// Sliding windows of `size` along `axis`, centred, with zero padding at both ends: the result has a
    /// new window axis of length `size` right after `axis`,
    ///     out[…, t, j, …] = self[…, t + j − size/2, …]   (0 when that index is outside 0..<n).
    /// E.g. [B, T, C].unfold(axis: 1, size: k) → [B, T, k, C]. For odd `size` the window of t is centred
    /// on t. Backward: overlap-add (each input element receives the gradients of every window slot that
    /// read it). The output is contiguous.
    public func unfold(axis a: Int, size k: Int) -> Tensor {
        let ax = axis(a, "unfold")
        precondition(k >= 1, "unfold: window size must be positive, got \(k)")
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let outer = shape[..<ax].reduce(1, *), n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *)
        let half = k / 2
        var outShape = shape
        outShape.insert(k, at: ax + 1)
        var out = Tensor(uninitializedShape: outShape)
        let px = x.basePointer, po = out.storage.pointer
        // One job per output row (o, t): k slots of `inner` values each.
        Engine.parallelFor(outer * n, costPerItem: k * Swift.max(inner, 1)) { r in
            for row in r {
                let o = row / n, t = row % n
                for j in 0..<k {
                    let s = t + j - half, dst = po + (row * k + j) * inner
                    if s >= 0 && s < n { nk_copy(px + (o * n + s) * inner, 1, dst, 1, inner) }
                    else { nk_fill(dst, 0, inner) }
                }
            }
        }
        if let parents = Autograd.parents(self) {
            let inShape = shape
            out.node = Node(parents, op: "unfold") { g, _ in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let dx = Tensor(uninitializedShape: inShape)
                let pg = g.basePointer, pd = dx.storage.pointer
                // Each input row (o, s) gathers g[o, t, j] over t + j − half = s: it owns its output.
                Engine.parallelFor(outer * n, costPerItem: k * Swift.max(inner, 1)) { r in
                    for row in r {
                        let o = row / n, s = row % n, dst = pd + row * inner
                        nk_fill(dst, 0, inner)
                        for j in 0..<k {
                            let t = s - j + half
                            if t >= 0 && t < n { nk_accumulate(pg + ((o * n + t) * k + j) * inner, 1, dst, 1, inner) }
                        }
                    }
                }
                return [dx]
            }
        }
        return out
    }
}
