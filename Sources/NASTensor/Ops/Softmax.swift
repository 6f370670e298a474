import CKernels

// Softmax family over the last axis, fused per row.

extension Tensor {
    /// Calls `body(row)` for every row of the last axis, split across threads.
    fileprivate static func forEachRow(_ rows: Int, _ n: Int, _ body: (Int) -> Void) {
        Engine.parallelFor(rows, costPerItem: n * 8) { r in for i in r { body(i) } }
    }

    /// softmax(x + mask) over the last axis. `mask` is additive (0 keeps, a large negative value or
    /// -inf removes) and broadcasts to x's shape, e.g. [B, 1, 1, T] padding or [T, T] causal.
    /// A row whose every position is masked gives zeros; a row holding NaN gives NaN (never zeros), so
    /// that a damaged weight upstream shows in the output instead of passing as a wrong finite value.
    /// Backward: dx = y ⊙ (dy − ⟨dy, y⟩).
    public func softmax(mask: Tensor? = nil) -> Tensor {
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let n = shape.last ?? 1, rows = count / Swift.max(n, 1)
        var out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, py = out.storage.pointer
        if let mask {
            let ms = Broadcast.strides(mask, to: Broadcast.shape(shape, mask.shape, op: "softmax mask"))
            precondition(Broadcast.shape(shape, mask.shape, op: "softmax mask") == shape,
                         "softmax: mask \(mask.shape) does not broadcast to \(shape)")
            let m = ms.last == 1 ? mask : mask.materialized(to: shape)
            defer { withExtendedLifetime(m) {} }
            let mstr = ms.last == 1 ? ms : Tensor.contiguousStrides(shape)
            let pm = m.basePointer, outer = Array(shape.dropLast())
            Tensor.forEachRow(rows, n) { row in
                var rem = row, mo = 0
                for d in stride(from: outer.count - 1, through: 0, by: -1) {
                    mo += (rem % outer[d]) * mstr[d]
                    rem /= outer[d]
                }
                nk_softmax_row(px + row * n, pm + mo, py + row * n, n)
            }
        } else {
            Tensor.forEachRow(rows, n) { row in nk_softmax_row(px + row * n, nil, py + row * n, n) }
        }
        if let parents = Autograd.parents(self) {
            let y = out.detached()
            out.node = Node(parents, op: "softmax") { g, _ in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let dx = Tensor(uninitializedShape: y.shape)
                let pg = g.basePointer, pd = dx.storage.pointer, pyv = y.basePointer
                Tensor.forEachRow(rows, n) { row in nk_softmax_backward_row(pyv + row * n, pg + row * n, pd + row * n, n) }
                return [dx]
            }
        }
        return out
    }

    /// log softmax over the last axis: x − logsumexp(x). Backward: dx = dy − softmax(x)·Σdy.
    public func logSoftmax() -> Tensor {
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let n = shape.last ?? 1, rows = count / Swift.max(n, 1)
        var out = Tensor(uninitializedShape: shape)
        let px = x.basePointer, py = out.storage.pointer
        Tensor.forEachRow(rows, n) { row in nk_log_softmax_row(px + row * n, py + row * n, n) }
        if let parents = Autograd.parents(self) {
            let y = out.detached()
            out.node = Node(parents, op: "log_softmax") { g, _ in
                let g = g.contiguous()
                defer { withExtendedLifetime(g) {} }
                let dx = Tensor(uninitializedShape: y.shape)
                let pg = g.basePointer, pd = dx.storage.pointer, pyv = y.basePointer
                Tensor.forEachRow(rows, n) { row in nk_log_softmax_backward_row(pyv + row * n, pg + row * n, pd + row * n, n) }
                return [dx]
            }
        }
        return out
    }

    /// Mean cross-entropy of logits [N, C] against class ids [N]; rows whose target is `ignoreIndex`
    /// count neither in the sum nor in the mean. Fused: the backward is (softmax − onehot) / count.
    public func crossEntropy(targets: [Int32], ignoreIndex: Int32 = -100) -> Tensor {
        precondition(rank == 2 && targets.count == shape[0],
                     "crossEntropy: logits \(shape) need [N, C] with N = targets.count (\(targets.count))")
        let rowsN = shape[0], c = shape[1]
        for t in targets where t != ignoreIndex {
            precondition(t >= 0 && Int(t) < c, "crossEntropy: target \(t) out of range for \(c) classes")
        }
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let recording = Autograd.parents(self) != nil
        let probs: Tensor? = recording ? Tensor(uninitializedShape: shape) : nil
        var losses = [Float](repeating: 0, count: rowsN)
        let px = x.basePointer, pp = probs?.storage.pointer
        losses.withUnsafeMutableBufferPointer { lp in
            let l = lp.baseAddress!
            Tensor.forEachRow(rowsN, c) { row in
                if targets[row] == ignoreIndex {
                    l[row] = 0
                    if let pp { nk_fill(pp + row * c, 0, c) }
                } else {
                    l[row] = nk_cross_entropy_row(px + row * c, targets[row], pp.map { $0 + row * c }, c)
                }
            }
        }
        let counted = targets.filter { $0 != ignoreIndex }.count
        let total = losses.reduce(0.0) { $0 + Double($1) }
        var out = Tensor(scalar: counted == 0 ? 0 : Float(total / Double(counted)))
        if let parents = Autograd.parents(self), let probs {
            out.node = Node(parents, op: "cross_entropy") { g, _ in
                let scale = counted == 0 ? 0 : g.item() / Float(counted)
                let pd = probs.storage.pointer
                Tensor.forEachRow(rowsN, c) { row in
                    let t = targets[row]
                    if t == ignoreIndex { return }
                    pd[row * c + Int(t)] -= 1
                    nk_affine(pd + row * c, scale, 0, pd + row * c, c)
                }
                return [probs]
            }
        }
        return out
    }
}
