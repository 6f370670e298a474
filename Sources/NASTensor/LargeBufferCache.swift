import Foundation
import Synchronization

/// Buffers of 1 MiB and more (tensors, bf16 copies, packed GEMM operands): mapped from the kernel (`mmap`) and, once freed, kept for the next
/// buffer of the same page-rounded size. A training step or an inference allocates the same shapes every
/// time, so its activations are served from this cache without a page fault, and the process's memory
/// stays at its working set: glibc's heap, which served them before, fragments under the mix of sizes and
/// grew by 3–17 MB per BERT-tiny inference (measured on 2 threads, flat at 1).
///
/// At most `capacity` bytes are kept; beyond that the oldest kept buffer is unmapped.
enum LargeBufferCache {
    static let threshold = 1 << 20
    static let capacity = 512 << 20
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    private struct State {
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        /// Kept buffers, oldest first (for eviction).
        var order: [(bytes: Int, pointer: UnsafeMutableRawPointer)] = []
        var keptBytes = 0
    }
    private static let state = Mutex(State())

    static func rounded(_ bytes: Int) -> Int { (bytes + pageSize - 1) / pageSize * pageSize }

    /// A buffer of at least `bytes`, 64-byte aligned: below `threshold` from the heap, else page-aligned
    /// from the cache or a new mapping.
    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes < threshold { return UnsafeMutableRawPointer.allocate(byteCount: Swift.max(bytes, 1), alignment: 64) }
        let size = rounded(bytes)
        let reused: UnsafeMutableRawPointer? = state.withLock { s in
            guard let p = s.free[size]?.popLast() else { return nil }
            s.keptBytes -= size
            if let i = s.order.firstIndex(where: { $0.pointer == p }) { s.order.remove(at: i) }
            return p
        }
        if let reused { return reused }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("TensorStorage: cannot map \(size) bytes (errno \(errno))")
        }
        return p
    }

    /// Takes back a buffer of `allocate(bytes)`.
    static func release(_ pointer: UnsafeMutableRawPointer, _ bytes: Int) {
        if bytes < threshold { return pointer.deallocate() }
        let size = rounded(bytes)
        let evicted: [(Int, UnsafeMutableRawPointer)] = state.withLock { s in
            s.free[size, default: []].append(pointer)
            s.order.append((size, pointer))
            s.keptBytes += size
            var out: [(Int, UnsafeMutableRawPointer)] = []
            while s.keptBytes > capacity, let (b, p) = s.order.first {
                s.order.removeFirst()
                if let i = s.free[b]?.firstIndex(of: p) { s.free[b]!.remove(at: i) }
                s.keptBytes -= b
                out.append((b, p))
            }
            return out
        }
        for (b, p) in evicted { munmap(p, b) }
    }
}
