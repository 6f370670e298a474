import XCTest
@testable import NASTensor

final class TensorMemoryTests: XCTestCase {
    /// Live tensor bytes rise by a new storage's size and fall back when it is freed; the peak keeps the high mark.
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
