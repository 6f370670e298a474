import CKernels

/// Iteration over strided n-d operands that share one logical shape (after broadcasting, where a
/// broadcast dimension has stride 0). Dimensions that are contiguous for every operand are merged, so
/// the innermost loop is as long as possible and runs in a C kernel.
enum StridedLoop {
    /// Merges adjacent dimensions that are laid out contiguously in every operand and drops size-1 ones.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var outShape: [Int] = []
        var outStrides = [[Int]](repeating: [], count: strides.count)
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = outShape.last,
               strides.indices.allSatisfy({ outStrides[$0].last! == strides[$0][d] * shape[d] }) {
                outShape[outShape.count - 1] = last * shape[d]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][d] }
            } else {
                outShape.append(shape[d])
                for k in strides.indices { outStrides[k].append(strides[k][d]) }
            }
        }
        if outShape.isEmpty {
            outShape = [1]
            for k in strides.indices { outStrides[k] = [0] }
        }
        return (outShape, outStrides)
    }

    /// Calls `body(offsets, innerCount, innerStrides)` once per innermost row, offsets per operand,
    /// splitting the rows across threads when the work is large.
    static func rows(shape: [Int], strides: [[Int]],
                     _ body: (_ offsets: [Int], _ n: Int, _ innerStrides: [Int]) -> Void) {
        let (s, st) = coalesce(shape, strides)
        let inner = s[s.count - 1]
        let innerStrides = st.map { $0[$0.count - 1] }
        let outer = s.dropLast().reduce(1, *)
        let outerShape = Array(s.dropLast())
        if outer == 1 {
            // One long row (contiguous operands): split it into one piece per thread.
            let pieces = Swift.max(1, Swift.min(Engine.threads, inner / Engine.parallelThreshold))
            Engine.parallelFor(pieces, costPerItem: Engine.parallelThreshold) { range in
                for p in range {
                    let lo = inner * p / pieces, hi = inner * (p + 1) / pieces
                    body(innerStrides.map { $0 * lo }, hi - lo, innerStrides)
                }
            }
            return
        }
        Engine.parallelFor(outer, costPerItem: inner) { range in
            var offsets = [Int](repeating: 0, count: st.count)
            for row in range {
                var rem = row
                for k in offsets.indices { offsets[k] = 0 }
                for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
                    let i = rem % outerShape[d]
                    rem /= outerShape[d]
                    for k in st.indices { offsets[k] += i * st[k][d] }
                }
                body(offsets, inner, innerStrides)
            }
        }
    }

    /// Copies `src` (any strides) into contiguous `dst`.
    static func copy(from src: Tensor, to dst: UnsafeMutablePointer<Float>) {
        let p = src.basePointer
        rows(shape: src.shape, strides: [src.strides, Tensor.contiguousStrides(src.shape)]) { o, n, s in
            nk_copy(p + o[0], s[0], dst + o[1], s[1], n)
        }
    }

    /// Adds `src` (any strides, same shape) into `dst` laid out with `dstStrides`.
    static func accumulate(_ src: Tensor, into dst: UnsafeMutablePointer<Float>, strides dstStrides: [Int]) {
        let p = src.basePointer
        rows(shape: src.shape, strides: [src.strides, dstStrides]) { o, n, s in
            nk_accumulate(p + o[0], s[0], dst + o[1], s[1], n)
        }
    }
}
