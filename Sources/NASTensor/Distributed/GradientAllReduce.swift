import Foundation

extension Communicator {
    /// Sums the gradients of `parameters` over the ranks, in place, so that every rank holds Σ_r ∇_r
    /// (synchronous data parallelism: Li et al., "PyTorch Distributed: Experiences on Accelerating Data
    /// Parallel Training", VLDB 2020; Sergeev & Del Balso, "Horovod", 2018).
    ///
    /// Two collectives: a maximum over which parameters have a gradient on some rank (a parameter no
    /// rank reached keeps a nil gradient, so the optimizer still skips it; one reached elsewhere gets
    /// zeros here first), then one sum over all reached gradients packed into one flat buffer, so the
    /// per-call latency is paid once per step rather than once per tensor. Every rank must pass the same
    /// parameters in the same order.
    public func allReduceGradients(_ parameters: [Parameter]) {
        guard isDistributed else { return }
        var reached = parameters.map { $0.requiresGrad && $0.grad != nil ? 1.0 : 0.0 }
        allReduceMax(&reached)
        let chosen = parameters.indices.filter { reached[$0] > 0 }
        let total = chosen.reduce(0) { $0 + parameters[$1].value.count }
        guard total > 0 else { return }
        if scratch.count < total { scratch = [Float](repeating: 0, count: total) }
        scratch.withUnsafeMutableBufferPointer { flat in
            var offset = 0
            for i in chosen {
                let storage = parameters[i].gradientStorage()
                let n = parameters[i].value.count
                (flat.baseAddress! + offset).update(from: storage.pointer, count: n)
                offset += n
            }
            allReduceSum(UnsafeMutableBufferPointer(rebasing: flat[0..<total]))
            offset = 0
            for i in chosen {
                let storage = parameters[i].gradientStorage()
                let n = parameters[i].value.count
                storage.pointer.update(from: flat.baseAddress! + offset, count: n)
                offset += n
            }
        }
    }

    /// Copies `root`'s parameter values to every rank (one broadcast of one flat buffer), so that ranks
    /// start from identical weights.
    public func broadcastValues(_ parameters: [Parameter], root: Int = 0) {
        guard isDistributed else { return }
        let total = parameters.reduce(0) { $0 + $1.value.count }
        guard total > 0 else { return }
        if scratch.count < total { scratch = [Float](repeating: 0, count: total) }
        scratch.withUnsafeMutableBufferPointer { flat in
            var offset = 0
            for p in parameters {
                let v = p.value.contiguous()
                (flat.baseAddress! + offset).update(from: v.basePointer, count: v.count)
                offset += v.count
            }
            broadcast(UnsafeMutableBufferPointer(rebasing: flat[0..<total]), root: root)
            // In place, as an optimizer updates.
            offset = 0
            for p in parameters {
                let n = p.value.count
                let source = flat.baseAddress! + offset
                p.value.withMutableBuffer { $0.baseAddress!.update(from: source, count: n) }
                offset += n
            }
        }
    }
}
