import Foundation
import XCTest
@testable import NASSearch

final class WithinBandCorrelationTests: XCTestCase {

    // Four bands by size (ratio 1.10 of the band's FIRST member):
    //   A: 100, 102, 105, 108, 110   (110 = exactly 1.10 × 100 stays)     5 rows
    //      proxy [1, 2, 3, 4, 5], truth [1, 3, 2, 4, 5]: one discordant pair of 10 → τ = (9 − 1)/10 = 0.8
    //   B: 111, 115, 120             (111 > 110 opens B; 130 > 122.1 closes it) 3 rows → skipped (< 5)
    //   C: 130 … 135                 6 rows, the proxy constant → τ undefined → skipped
    //   D: 200 … 205                 6 rows, proxy [1, 1, 2, 3, 4, 5], truth [1 … 6]: n0 = 15, one pair
    //      tied in x, 14 concordant → τ_b = 14/√(14·15) = √(14/15)
    //   mean = (5 · 0.8 + 6 · √(14/15)) / 11 over 2 bands and 11 rows, 4 bands in all.
    // The rows are given shuffled, so the sort by size is exercised.
    static let bandA: [(Double, Double, Double)] = [(100, 1, 1), (102, 2, 3), (105, 3, 2), (108, 4, 4), (110, 5, 5)]
    static let bandB: [(Double, Double, Double)] = [(111, 9, 1), (115, 1, 9), (120, 5, 5)]
    static let bandC: [(Double, Double, Double)] = (0..<6).map { (130 + Double($0), 7, Double($0)) }
    static let bandD: [(Double, Double, Double)] = [(200, 1, 1), (201, 1, 2), (202, 2, 3), (203, 3, 4), (204, 4, 5),
                                                    (205, 5, 6)]

    static func shuffled() -> (sizes: [Double], proxy: [Double], truth: [Double]) {
        let all = bandA + bandB + bandC + bandD
        // A fixed permutation of the 20 rows.
        let order = [7, 19, 0, 12, 3, 15, 9, 1, 18, 5, 11, 14, 2, 17, 8, 4, 13, 10, 16, 6]
        XCTAssertEqual(Set(order), Set(0..<all.count))
        return (order.map { all[$0].0 }, order.map { all[$0].1 }, order.map { all[$0].2 })
    }

    func testHandComputedBandsWithASkippedSmallBandAndAConstantProxyBand() {
        let (sizes, proxy, truth) = Self.shuffled()
        let bands = WithinBandCorrelation.bands(sizes: sizes)
        XCTAssertEqual(bands.map { $0.map { sizes[$0] } },
                       [[100, 102, 105, 108, 110], [111, 115, 120], [130, 131, 132, 133, 134, 135],
                        [200, 201, 202, 203, 204, 205]])
        let w = WithinBandCorrelation.kendall(sizes: sizes, proxy: proxy, truth: truth)
        XCTAssertEqual(w.kendall, (5 * 0.8 + 6 * (14.0 / 15).squareRoot()) / 11, accuracy: 1e-12)
        XCTAssertEqual(w.bandsUsed, 2)
        XCTAssertEqual(w.rowsCovered, 11)
        XCTAssertEqual(w.bandCount, 4)
        // A constant truth over a band is undefined too: make D's truth constant and only A remains.
        let flatD = zip(sizes, truth).map { $0.0 >= 200 ? 3.0 : $0.1 }
        let onlyA = WithinBandCorrelation.kendall(sizes: sizes, proxy: proxy, truth: flatD)
        XCTAssertEqual(onlyA, WithinBandCorrelation(kendall: 0.8, bandsUsed: 1, rowsCovered: 5, bandCount: 4))
        // A minimum band size of 3 lets B in: proxy [9, 1, 5] against truth [1, 9, 5], all 3 pairs discordant → −1.
        let withB = WithinBandCorrelation.kendall(sizes: sizes, proxy: proxy, truth: truth, minimumBandSize: 3)
        XCTAssertEqual(withB.kendall, (5 * 0.8 + 3 * -1.0 + 6 * (14.0 / 15).squareRoot()) / 14, accuracy: 1e-12)
        XCTAssertEqual(withB.bandsUsed, 3)
    }

    func testTheRatioBoundary() {
        // Exactly 1.10 × the first member stays in the band (for integer counts 1.1 × x rounds to ≥ the
        // exact value); just above opens a new band. The reference is the band's FIRST member, not the
        // previous one: 100, 105, 110 is one band although 110 / 105 < 1.1 and 115.4 / 105 < 1.1 too.
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [100, 110]), [[0, 1]])
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [100, 110.000001]), [[0], [1]])
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [115.4, 100, 105, 110]), [[1, 2, 3], [0]])
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [1_000_000, 1_100_000, 1_100_001]), [[0, 1], [2]])
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [3_000_000, 3_300_000]), [[0, 1]])
        // Another ratio.
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [1, 2, 3, 4, 5], ratio: 2), [[0, 1], [2, 3, 4]])   // 5 ≤ 2 × 3
        // Equal sizes keep their row order.
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: [5, 5, 5]), [[0, 1, 2]])
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: []), [])
    }

    func testNonFiniteValues() {
        var (sizes, proxy, truth) = Self.shuffled()
        // A NaN proxy score in band A leaves 4 finite pairs: A is skipped and only D remains.
        let a0 = sizes.firstIndex(of: 102)!
        proxy[a0] = .nan
        var w = WithinBandCorrelation.kendall(sizes: sizes, proxy: proxy, truth: truth)
        XCTAssertEqual(w.kendall, (14.0 / 15).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(w.bandsUsed, 1)
        XCTAssertEqual(w.rowsCovered, 6)
        // An infinite truth in D: 5 finite pairs remain, (1,1) tied in x → τ_b = 9/√(9·10).
        truth[sizes.firstIndex(of: 205)!] = .infinity
        w = WithinBandCorrelation.kendall(sizes: sizes, proxy: proxy, truth: truth)
        XCTAssertEqual(w.kendall, 9 / 90.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(w.rowsCovered, 5)
        // A row without a finite size is in no band (it would have opened one of its own).
        sizes[sizes.firstIndex(of: 100)!] = .nan
        XCTAssertEqual(WithinBandCorrelation.bands(sizes: sizes).first?.map { sizes[$0] }, [102, 105, 108, 110, 111])
        // Nothing usable: NaN, no band used.
        let none = WithinBandCorrelation.kendall(sizes: [1, 2, 3], proxy: [1, 2, 3], truth: [3, 2, 1])
        XCTAssertTrue(none.kendall.isNaN)
        XCTAssertEqual(none.bandsUsed, 0)
        XCTAssertEqual(none.rowsCovered, 0)
        let allNaN = WithinBandCorrelation.kendall(sizes: [1, 1, 1, 1, 1], proxy: [Double](repeating: .nan, count: 5),
                                                   truth: [1, 2, 3, 4, 5])
        XCTAssertTrue(allNaN.kendall.isNaN)
        XCTAssertEqual(allNaN.bandCount, 1)
    }

    /// The figures on the 250 FlexiBERT dev rows (true-size protocol): W-PCA 0.16, #params 0.34,
    /// NASWOT 0.43, recomputed from the committed scores, with sizes = each row's true-size
    /// `parameterCount` (checked equal to the file's `params` column). Reference values from
    /// `scipy.stats.kendalltau` on the same bands: 0.16235217513, 0.33958685386, 0.43136953199.
    func testFlexiBERTDevWithinBandFromTheCommittedScores() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let csvURL = root.appendingPathComponent("results/flexibert-dev/true-size-4096/scores.csv")
        let benchmarkURL = FlexiBERTBenchmarkTests.devFile
        guard FileManager.default.fileExists(atPath: benchmarkURL.path) else {
            throw XCTSkip("FlexiBERT dev benchmark not found at \(benchmarkURL.path)")
        }
        let lines = try String(contentsOf: csvURL, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let table = lines.dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
        XCTAssertEqual(table.count, 250)
        func column(_ name: String) throws -> [Double] {
            let k = try XCTUnwrap(header.firstIndex(of: name), name)
            return table.map { $0[k] }
        }
        let rows = Dictionary(uniqueKeysWithValues: try FlexiBERTBenchmark.load(from: benchmarkURL).map { ($0.id, $0) })
        let sizes = try column("id").map { id in
            Double(FlexiBERTProtocol.trueSize.architecture(of: try XCTUnwrap(rows[Int(id)])).parameterCount)
        }
        XCTAssertEqual(sizes, try column("params"))
        let glue = try column("glue")
        let expected = ["w-pca": 0.16235217513033434, "params": 0.3395868538572491, "naswot": 0.4313695319939042]
        for (name, reference) in expected {
            let w = WithinBandCorrelation.kendall(sizes: sizes, proxy: try column(name), truth: glue)
            XCTAssertEqual(w.kendall, reference, accuracy: 1e-9, name)
            XCTAssertEqual(w.bandsUsed, 9, name)
            XCTAssertEqual(w.rowsCovered, 247, name)
            XCTAssertEqual(w.bandCount, 11, name)
        }
    }
}
