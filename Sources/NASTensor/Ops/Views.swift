import CKernels

// Shape ops: reshape, permute/transpose, slice, leading block, concat. Views share storage.

extension Tensor {
    /// The same values in a new shape (one dimension may be -1). A view when contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for shape \(shape)")
            target[i] = count / known
        }
        precondition(target.reduce(1, *) == count && target.allSatisfy { $0 >= 0 },
                     "reshape: shape \(shape) (\(count) values) cannot become \(newShape)")
        let base = contiguous()
        var out = Tensor(storage: base.storage, shape: target, strides: Tensor.contiguousStrides(target), offset: base.offset)
        if let parents = Autograd.parents(base) {
            let s = base.shape
            out.node = Node(parents, op: "reshape") { g, _ in [g.reshaped(s)] }
        }
        return out
    }

    /// Reorders the axes: output axis i is input axis `axes[i]` (a view).
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank), "permute: \(axes) is not a permutation of the axes of \(shape)")
        var out = Tensor(storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset)
        if let parents = Autograd.parents(self) {
            var inverse = [Int](repeating: 0, count: axes.count)
            for (i, a) in axes.enumerated() { inverse[a] = i }
            out.node = Node(parents, op: "permute") { g, _ in [g.permuted(inverse)] }
        }
        return out
    }

    /// Swaps two axes (a view); default the last two.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(axis(a, "transpose"), axis(b, "transpose"))
        return permuted(axes)
    }

    /// `self[..., range, ...]` along `axis` (a view). Its gradient scatters into the parent's shape.
    public func slice(axis a: Int, _ range: Range<Int>) -> Tensor {
        let ax = axis(a, "slice")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "slice: range \(range) out of bounds for axis \(ax) of shape \(shape)")
        var newShape = shape
        newShape[ax] = range.count
        var out = Tensor(storage: storage, shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[ax])
        if let parents = Autograd.parents(self) {
            let full = shape
            out.node = Node(parents, op: "slice") { g, _ in
                let dx = Tensor(zeros: full)
                let view = Tensor(storage: dx.storage, shape: g.shape, strides: dx.strides,
                                  offset: range.lowerBound * dx.strides[ax])
                StridedLoop.accumulate(g, into: view.basePointer, strides: view.strides)
                return [dx]
            }
        }
        return out
    }

    /// The leading block `self[:d0, :d1, …]` (a view): the sub-network slice of weight entanglement.
    public func leading(_ dims: [Int]) -> Tensor {
        precondition(dims.count == rank && zip(dims, shape).allSatisfy { $0 >= 0 && $0 <= $1 },
                     "leading: \(dims) is not a leading block of \(shape)")
        var t = self
        for (i, d) in dims.enumerated() where d != shape[i] { t = t.slice(axis: i, 0..<d) }
        return t
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], axis a: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat: no tensors")
        let first = parts[0]
        let ax = first.axis(a, "concat")
        for p in parts {
            precondition(p.rank == first.rank && (0..<p.rank).allSatisfy { $0 == ax || p.shape[$0] == first.shape[$0] },
                         "concat: shapes \(first.shape) and \(p.shape) differ outside axis \(ax)")
        }
        var shape = first.shape
        shape[ax] = parts.map { $0.shape[ax] }.reduce(0, +)
        var out = Tensor(uninitializedShape: shape)
        var start = 0
        for p in parts {
            let dst = out.basePointer + start * out.strides[ax]
            StridedLoop.rows(shape: p.shape, strides: [p.strides, out.strides]) { o, n, s in
                nk_copy(p.basePointer + o[0], s[0], dst + o[1], s[1], n)
            }
            start += p.shape[ax]
        }
        let sizes = parts.map { $0.shape[ax] }
        if let parents = Autograd.parents(parts) {
            out.node = Node(parents, op: "concat") { g, n in
                var lo = 0
                return sizes.enumerated().map { i, s in
                    defer { lo += s }
                    return n.needs(i) ? g.slice(axis: ax, lo..<(lo + s)) : nil
                }
            }
        }
        return out
    }
}
