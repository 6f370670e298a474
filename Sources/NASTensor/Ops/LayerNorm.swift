import CKernels

extension Tensor {
    /// Layer normalisation over the last axis (Ba, Kiros & Hinton, 2016), fused forward and backward:
    /// y = (x − μ)/√(σ² + ε) · γ + β. `gamma` and `beta` are [D] (an elastic LayerNorm passes the
    /// leading slice `[:d]`); pass both or neither.
    /// Backward with x̂ = (x − μ)·rstd, g = dy·γ:  dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),
    /// dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
    public func layerNorm(gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) -> Tensor {
        let d = shape.last ?? 1, rows = count / Swift.max(d, 1)
        precondition((gamma == nil) == (beta == nil), "layerNorm: pass both gamma and beta, or neither")
        if let gamma, let beta {
            precondition(gamma.shape == [d] && beta.shape == [d],
                         "layerNorm: gamma \(gamma.shape) and beta \(beta.shape) must be [\(d)] for input \(shape)")
        }
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let g = gamma?.contiguous().detached(), b = beta?.contiguous().detached()
        defer { withExtendedLifetime((x, g, b)) {} }
        var out = Tensor(uninitializedShape: shape)
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        let px = x.basePointer, py = out.storage.pointer
        mean.withUnsafeMutableBufferPointer { mp in
            rstd.withUnsafeMutableBufferPointer { rp in
                let pm = mp.baseAddress!, pr = rp.baseAddress!
                Engine.parallelFor(rows, costPerItem: d * 4) { r in
                    for i in r {
                        nk_layer_norm_row(px + i * d, g?.basePointer, b?.basePointer, eps, py + i * d, d, pm + i, pr + i)
                    }
                }
            }
        }
        let inputs = gamma.map { [self, $0, beta!] } ?? [self]
        if let parents = Autograd.parents(inputs) {
            out.node = Node(parents, op: "layer_norm") { dy, node in
                let dy = dy.contiguous()
                defer { withExtendedLifetime(dy) {} }
                let dx = Tensor(uninitializedShape: x.shape)
                let px = x.basePointer, pdy = dy.basePointer, pdx = dx.storage.pointer
                let wantAffine = g != nil && (node.needs(1) || node.needs(2))
                // Per-chunk partial sums of dγ, dβ, then added in chunk order (deterministic).
                let chunks = wantAffine ? Swift.min(Engine.threads, Swift.max(rows, 1)) : 1
                let partial = Tensor(zeros: [chunks, 2, d])
                let pp = partial.storage.pointer
                Engine.parallelFor(chunks, costPerItem: Engine.parallelThreshold) { cr in
                    for c in cr {
                        let lo = rows * c / chunks, hi = rows * (c + 1) / chunks
                        for i in lo..<hi {
                            nk_layer_norm_backward_row(px + i * d, g?.basePointer, pdy + i * d, mean[i], rstd[i], pdx + i * d,
                                                       wantAffine ? pp + c * 2 * d : nil, wantAffine ? pp + c * 2 * d + d : nil, d)
                        }
                    }
                }
                guard g != nil else { return [dx] }
                let sums = partial.sum(axes: [0])
                return [node.needs(0) ? dx : nil,
                        node.needs(1) ? sums.slice(axis: 0, 0..<1).reshaped([d]) : nil,
                        node.needs(2) ? sums.slice(axis: 0, 1..<2).reshaped([d]) : nil]
            }
        }
        return out
    }
}
