import CKernels
import Foundation
import Synchronization

/// A reference-counted, 64-byte aligned buffer of `Float`s. Tensors share one storage between views
/// and copy it only on write when it is shared (see `Tensor.ensureUniqueStorage`).
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Keep freed tensor memory in the process: glibc otherwise maps each large buffer afresh and pays
    /// a page fault (and the kernel's zeroing) for every 4 KB page of every new activation. Buffers of
    /// 1 MiB and more come from `LargeBufferCache`.
    private static let heapConfigured: Void = nk_configure_heap()

    /// Uninitialised storage for `count` floats (callers overwrite every element).
    public init(uninitialized count: Int) {
        _ = TensorStorage.heapConfigured
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = LargeBufferCache.allocate(bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        let live = Self.live.add(bytes, ordering: .relaxed).newValue
        var peak = Self.peak.load(ordering: .relaxed)
        while live > peak {
            let (exchanged, original) = Self.peak.compareExchange(expected: peak, desired: live, ordering: .relaxed)
            if exchanged { break }
            peak = original
        }
    }

    public convenience init(zeros count: Int) {
        self.init(uninitialized: count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        Self.live.subtract(bytes, ordering: .relaxed)
        LargeBufferCache.release(UnsafeMutableRawPointer(pointer), bytes)
    }

    private static let live = Atomic<Int>(0), peak = Atomic<Int>(0)

    /// Bytes of tensor storage alive now, and the most alive at once since the last `resetPeak` (what a
    /// step's activations and gradients cost: `bench superposition` reads it around one step).
    public static var liveBytes: Int { live.load(ordering: .relaxed) }
    public static var peakBytes: Int { peak.load(ordering: .relaxed) }
    public static func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }
}
