import Foundation
import COpenBLAS

/// Thread settings of the engine and the one helper that splits work across cores.
///
/// Work is split into a number of chunks that depends only on `Engine.threads` and the work size, and
/// each chunk writes its own output range, so results are bit-identical for the same thread count.
public enum Engine {
    /// OpenBLAS's kernel set ("Cooperlake", "SkylakeX", …), chosen once before the first BLAS call: an OpenBLAS
    /// older than the CPU falls back to its SSE3 "Prescott" kernels, and `swiftnas_openblas_select_core` then
    /// picks the set the CPU's features support (5× faster sgemm on this machine's AVX-512 Xeon).
    public static let blasCore: String = String(cString: swiftnas_openblas_select_core())

    nonisolated(unsafe) private static var _threads: Int = {
        _ = blasCore
        // OpenBLAS stays single-threaded: the engine splits large GEMMs over its own threads, so no
        // BLAS worker busy-waits (sched_yield) on a core that an elementwise kernel needs.
        openblas_set_num_threads(1)
        return ProcessInfo.processInfo.activeProcessorCount
    }()

    /// Threads used by the engine's kernels, GEMM splitting included.
    public static var threads: Int {
        get { _threads }
        set { _threads = max(1, newValue) }
    }

    nonisolated(unsafe) private static var flops = 0

    /// Matrix-multiply FLOPs (2·m·n·k per product) executed since the last `resetFLOPs()`: an
    /// independent count to check analytic FLOP formulas against.
    public static var countedFLOPs: Int { flops }
    public static func resetFLOPs() { flops = 0 }
    static func countFLOPs(_ n: Int) { flops &+= n }

    /// Elements below which an elementwise kernel stays on one thread (no dispatch overhead).
    public static let parallelThreshold = 1 << 15

    /// Runs `body` over `0..<count` split into contiguous ranges, one per thread, when
    /// `count * costPerItem` is large enough to pay for a dispatch; otherwise in the caller's thread.
    @inline(__always)
    public static func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, count)
        if chunks <= 1 || count * costPerItem < parallelThreshold {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}
