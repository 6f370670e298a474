import Foundation
import XCTest
@testable import NASTensor

final class MemoryBudgetTests: XCTestCase {
    func testSizeSaturatesInsteadOfTrapping() {
        XCTAssertEqual((Size(3) * 4 + 5).value, 17)
        XCTAssertEqual((Size(Int.max) + 1).value, Int.max)
        XCTAssertEqual((Size(1 << 40) * (1 << 30)).value, Int.max)
        XCTAssertTrue((Size(Int.max / 2) * 3).isSaturated)
        XCTAssertEqual(Size(-7).value, 0, "a negative count is zero")
        XCTAssertEqual((2 * Size(1 << 61) * 4).value, Int.max, "saturation sticks")
    }

    func testParsesSizesWithUnits() {
        XCTAssertEqual(MemoryBudget.parse("64M"), 64 << 20)
        XCTAssertEqual(MemoryBudget.parse("64MiB"), 64 << 20)
        XCTAssertEqual(MemoryBudget.parse("2g"), 2 << 30)
        XCTAssertEqual(MemoryBudget.parse("1.5G"), 3 << 29)
        XCTAssertEqual(MemoryBudget.parse("4096"), 4096)
        for bad in ["", "0", "-1M", "nan", "inf", "12X", "M", "1e30T"] { XCTAssertNil(MemoryBudget.parse(bad), bad) }
    }

    func testFormatsBytes() {
        XCTAssertEqual(MemoryBudget.format(800), "800 B")
        XCTAssertEqual(MemoryBudget.format(64 << 20), "64.0 MiB")
        XCTAssertEqual(MemoryBudget.format(3 << 29), "1.5 GiB")
    }

    func testDefaultLimitIsThreeQuartersOfPhysicalMemoryAtMost() {
        XCTAssertGreaterThan(MemoryBudget.defaultLimit, 0)
        XCTAssertLessThanOrEqual(MemoryBudget.defaultLimit, Int(ProcessInfo.processInfo.physicalMemory) / 4 * 3)
    }

    func testRequireRefusesOverTheLimitNamingTheSubject() throws {
        let saved = MemoryBudget.limit
        defer { MemoryBudget.limit = saved }
        MemoryBudget.limit = 1 << 20
        XCTAssertNoThrow(try MemoryBudget.require(Size(1 << 20), for: "exactly the limit"))
        XCTAssertThrowsError(try MemoryBudget.require(Size(1 << 20) + 1, for: "a batch")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("a batch would need about 1.0 MiB"), text)
            XCTAssertTrue(text.contains("memory limit of 1.0 MiB"), text)
        }
        XCTAssertThrowsError(try MemoryBudget.require(Size(Int.max), for: "x")) { error in
            XCTAssertTrue("\(error)".contains("more memory than can be counted"), "\(error)")
        }
    }

    func testRequireFileUsesTheSizeOnDiskTimesTheExpansion() throws {
        let saved = MemoryBudget.limit
        defer { MemoryBudget.limit = saved }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("budget-\(getpid()).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(count: 1000).write(to: url)
        MemoryBudget.limit = 8000
        XCTAssertNoThrow(try MemoryBudget.requireFile(url, expansion: 8, what: "the corpus"))
        XCTAssertThrowsError(try MemoryBudget.requireFile(url, expansion: 9, what: "the corpus")) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(url.path): the corpus of 1000 B read into memory would need about 8.8 KiB"), "\(error)")
        }
        XCTAssertNoThrow(try MemoryBudget.requireFile(url.appendingPathExtension("missing"), expansion: 9, what: "x"))
    }
}
