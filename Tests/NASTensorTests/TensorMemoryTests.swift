import XCTest
@testable import NASTensor

final class TensorMemoryTests: XCTestCase {
    /// Live tensor bytes rise by a new storage's size and fall back when it is freed; the peak keeps the high mark.
    /// A freed large buffer serves the next buffer of the same page-rounded size (no new mapping, so no page
    /// faults), a tensor's storage included; other sizes get their own; small buffers come from the heap.
    func testLargeBuffersAreKeptAndReusedBySize() {
        let a = LargeBufferCache.allocate(3 << 20)
        XCTAssertEqual(Int(bitPattern: a) % 64, 0)
        a.storeBytes(of: 7, toByteOffset: (3 << 20) - 4, as: Int32.self)   // the whole size is usable
        LargeBufferCache.release(a, 3 << 20)
        let b = LargeBufferCache.allocate((3 << 20) - 100)
        XCTAssertEqual(b, a, "the same page-rounded size reuses the kept buffer")
        let c = LargeBufferCache.allocate(5 << 20)
        XCTAssertNotEqual(c, a)
        LargeBufferCache.release(b, (3 << 20) - 100)
        LargeBufferCache.release(c, 5 << 20)
        let small = LargeBufferCache.allocate(1000)
        XCTAssertEqual(Int(bitPattern: small) % 64, 0)
        LargeBufferCache.release(small, 1000)
        var first: UnsafeMutablePointer<Float>?
        do {
            let t = Tensor(zeros: [1 << 19])   // 2 MiB
            first = t.storage.pointer
        }
        let t2 = Tensor(uninitializedShape: [1 << 19])
        XCTAssertEqual(t2.storage.pointer, first, "a tensor's freed storage serves the next tensor of its size")
        let t3 = Tensor(zeros: [1 << 19])
        XCTAssertTrue(t3.scalars.allSatisfy { $0 == 0 }, "zeros are written, whatever the reused buffer held")
    }

    func testLiveAndPeakBytesFollowAllocations() {
        let before = TensorStorage.liveBytes
        TensorStorage.resetPeak()
        do {
            let t = Tensor(zeros: [1000, 250])
            XCTAssertEqual(TensorStorage.liveBytes - before, 1_000_000)
            XCTAssertEqual(t.count, 250_000)
        }
        XCTAssertEqual(TensorStorage.liveBytes, before)
        XCTAssertGreaterThanOrEqual(TensorStorage.peakBytes - before, 1_000_000)
    }
}
