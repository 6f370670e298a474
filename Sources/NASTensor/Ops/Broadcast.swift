/// NumPy broadcasting: shapes align at the right; a dimension of 1 (or a missing one) stretches.
enum Broadcast {
    static func shape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            precondition(da == db || da == 1 || db == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Strides that read `t` as if it had shape `target` (stride 0 along broadcast dimensions).
    static func strides(_ t: Tensor, to target: [Int]) -> [Int] {
        let lead = target.count - t.rank
        return (0..<target.count).map { i in
            i < lead ? 0 : (t.shape[i - lead] == 1 && target[i] != 1 ? 0 : t.strides[i - lead])
        }
    }
}

extension Tensor {
    /// Sums a broadcast gradient back down to `shape` (the backward of broadcasting).
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "sum(toShape:): \(shape) cannot reduce to \(target)")
        var axes: [Int] = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[i + lead] != 1 { axes.append(i + lead) }
        return sum(axes: axes, keepDims: true).reshaped(target)
    }

    /// A contiguous copy of `self` broadcast to `target` (no graph).
    func materialized(to target: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: target)
        let view = Tensor(storage: storage, shape: target, strides: Broadcast.strides(self, to: target), offset: offset)
        StridedLoop.copy(from: view, to: out.storage.pointer)
        return out
    }
}
