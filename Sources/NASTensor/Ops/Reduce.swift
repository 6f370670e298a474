import CKernels

// Reductions over axes: sum, mean, max.

extension Tensor {
    /// Splits a contiguous tensor around `axis` into (outer, axis size, inner).
    private func split(around ax: Int) -> (outer: Int, k: Int, inner: Int) {
        (shape[..<ax].reduce(1, *), shape[ax], shape[(ax + 1)...].reduce(1, *))
    }

    /// Sum over one axis, keeping it as size 1 (no graph).
    private func sumKernel(axis ax: Int) -> Tensor {
        let x = contiguous()
        defer { withExtendedLifetime(x) {} }
        let (outer, k, inner) = x.split(around: ax)
        var outShape = shape
        outShape[ax] = 1
        let out = Tensor(uninitializedShape: outShape)
        let px = x.basePointer, po = out.storage.pointer
        if inner == 1 {
            Engine.parallelFor(outer, costPerItem: k) { r in
                for o in r { po[o] = Float(nk_sum(px + o * k, k)) }
            }
        } else {
            // Each output row is the sum of k rows of length `inner`; split over (outer × inner columns).
            let colBlock = 256
            let blocks = (inner + colBlock - 1) / colBlock
            Engine.parallelFor(outer * blocks, costPerItem: k * min(inner, colBlock)) { r in
                for job in r {
                    let o = job / blocks, c0 = (job % blocks) * colBlock, w = min(colBlock, inner - c0)
                    let dst = po + o * inner + c0
                    nk_copy(px + o * k * inner + c0, 1, dst, 1, w)
                    for j in 1..<Swift.max(k, 1) { nk_accumulate(px + (o * k + j) * inner + c0, 1, dst, 1, w) }
                    if k == 0 { nk_fill(dst, 0, w) }
                }
            }
        }
        return out
    }

    /// Sum over `axes` (all axes when empty). Keeps reduced axes as size 1 when `keepDims`.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let ax = axes.isEmpty ? Array(0..<rank) : Array(Set(axes.map { axis($0, "sum") })).sorted()
        var out = detached()
        for a in ax.reversed() { out = out.sumKernel(axis: a) }
        let keptShape = out.shape
        let finalShape = keepDims ? keptShape : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        if ax.isEmpty { out = out.contiguousCopy() }  // rank 0: nothing reduced, but a view may have an offset
        out = Tensor(storage: out.storage, shape: finalShape, strides: Tensor.contiguousStrides(finalShape), offset: 0)
        if let parents = Autograd.parents(self) {
            let inShape = shape
            out.node = Node(parents, op: "sum") { g, _ in
                [g.reshaped(keptShape).materialized(to: inShape)]
            }
        }
        return out
    }

    /// Mean over `axes` (all when empty).
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let ax = axes.isEmpty ? Array(0..<rank) : axes.map { axis($0, "mean") }
        let n = Set(ax).map { shape[$0] }.reduce(1, *)
        return sum(axes: ax, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Maximum over one axis. The gradient goes to the first maximal element.
    public func max(axis a: Int, keepDims: Bool = false) -> Tensor {
        let ax = axis(a, "max")
        precondition(shape[ax] > 0, "max: empty axis \(ax) in shape \(shape)")
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let (outer, k, inner) = x.split(around: ax)
        var keptShape = shape
        keptShape[ax] = 1
        let finalShape = keepDims ? keptShape : shape.enumerated().filter { $0.offset != ax }.map(\.element)
        var out = Tensor(uninitializedShape: finalShape)
        var argmax = [Int32](repeating: 0, count: outer * inner)
        let px = x.basePointer, po = out.storage.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            let pam = am.baseAddress!
            Engine.parallelFor(outer * inner, costPerItem: k) { r in
                for j in r {
                    let o = j / inner, i = j % inner
                    var at = 0
                    po[j] = nk_max(px + o * k * inner + i, inner, k, &at)
                    pam[j] = Int32(at)
                }
            }
        }
        if let parents = Autograd.parents(self) {
            let inShape = shape
            out.node = Node(parents, op: "max") { g, _ in
                let gc = g.contiguous()
                defer { withExtendedLifetime(gc) {} }
                let dx = Tensor(zeros: inShape)
                let pg = gc.basePointer, pd = dx.storage.pointer
                for j in 0..<(outer * inner) {
                    let o = j / inner, i = j % inner
                    pd[(o * k + Int(argmax[j])) * inner + i] = pg[j]
                }
                return [dx]
            }
        }
        return out
    }

    /// Maximum over several axes (composed one axis at a time).
    public func max(axes: [Int], keepDims: Bool = false) -> Tensor {
        var out = self
        for a in Set(axes.map { axis($0, "max") }).sorted(by: >) { out = out.max(axis: a, keepDims: true) }
        if keepDims { return out }
        let ax = Set(axes.map { axis($0, "max") })
        return out.reshaped(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
    }
}
