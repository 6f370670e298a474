import XCTest
import NASText
@testable import NASSearch

final class RankingStatisticsTests: XCTestCase {

    // x = [1, 2, 2, 3], y = [1, 3, 2, 2]; n = 4, n0 = 6 pairs (i, j):
    //   (0,1) x 1<2, y 1<3 → concordant      (1,2) x tied            → neither (n1 += 1)
    //   (0,2) x 1<2, y 1<2 → concordant      (1,3) x 2<3, y 3>2      → discordant
    //   (0,3) x 1<3, y 1<2 → concordant      (2,3) y tied            → neither (n2 += 1)
    //   n_c = 3, n_d = 1, n1 = 1, n2 = 1  →  τ_b = (3 − 1)/√((6 − 1)(6 − 1)) = 2/5 = 0.4
    // Spearman: ranks x = [1, 2.5, 2.5, 4], y = [1, 4, 2.5, 2.5], both means 2.5;
    //   deviations [−1.5, 0, 0, 1.5] and [−1.5, 1.5, 0, 0]: Σdxdy = 2.25, Σdx² = Σdy² = 4.5 → ρ = 0.5
    // Pearson on the raw values: means 2 and 2, deviations [−1, 0, 0, 1] and [−1, 1, 0, 0]:
    //   Σdxdy = 1, Σdx² = Σdy² = 2 → r = 0.5
    // (scipy.stats agrees: kendalltau 0.4, spearmanr 0.5, pearsonr 0.5.)
    func testHandComputedCaseWithTiesInBothVariables() {
        let x: [Double] = [1, 2, 2, 3], y: [Double] = [1, 3, 2, 2]
        XCTAssertEqual(RankCorrelation.kendallTauB(x, y), 0.4, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.spearman(x, y), 0.5, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.pearson(x, y), 0.5, accuracy: 1e-12)
    }

    // x = [1, 1, 2, 3, 3], y = [2, 2, 1, 3, 4]; n = 5, n0 = 10:
    //   (0,1) tied in x AND y (counts in n1 and n2)   (0,2) x<, y> → D   (0,3) C   (0,4) C
    //   (1,2) D   (1,3) C   (1,4) C   (2,3) C   (2,4) C   (3,4) tied in x only
    //   n_c = 6, n_d = 2, n1 = 2, n2 = 1  →  τ_b = 4/√(8·9) = 4/√72 ≈ 0.4714045
    // Spearman: ranks x = [1.5, 1.5, 3, 4.5, 4.5], y = [2.5, 2.5, 1, 4, 5], means 3 and 3;
    //   dx = [−1.5, −1.5, 0, 1.5, 1.5], dy = [−0.5, −0.5, −2, 1, 2]:
    //   Σdxdy = 0.75 + 0.75 + 0 + 1.5 + 3 = 6, Σdx² = 9, Σdy² = 9.5 → ρ = 6/√85.5 ≈ 0.6488857
    // Pearson: means 2 and 2.4, dx = [−1, −1, 0, 1, 1], dy = [−0.4, −0.4, −1.4, 0.6, 1.6]:
    //   Σdxdy = 3, Σdx² = 4, Σdy² = 5.2 → r = 3/√20.8 ≈ 0.6577935
    func testHandComputedCaseWithAPairTiedOnBothSides() {
        let x: [Double] = [1, 1, 2, 3, 3], y: [Double] = [2, 2, 1, 3, 4]
        XCTAssertEqual(RankCorrelation.kendallTauB(x, y), 4 / 72.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.spearman(x, y), 6 / 85.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.pearson(x, y), 3 / 20.8.squareRoot(), accuracy: 1e-12)
    }

    func testAverageRanks() {
        XCTAssertEqual(TaskMetrics.averageRanks([10, 20, 20, 30]), [1, 2.5, 2.5, 4])
        XCTAssertEqual(TaskMetrics.averageRanks([3, 1, 3, 3, 2]), [4, 1, 4, 4, 2])
        XCTAssertEqual(TaskMetrics.averageRanks([]), [])
    }

    func testPerfectAgreementAndReversal() {
        let x: [Double] = [0.3, 1.7, 2.2, 5, 9.5, 11]
        let up = x.map { exp($0) }           // monotone but not linear: rank coefficients exactly 1
        let down = x.map { -$0 * 3 + 1 }     // linear reversal: all three −1
        XCTAssertEqual(RankCorrelation.kendallTauB(x, up), 1)
        XCTAssertEqual(RankCorrelation.spearman(x, up), 1, accuracy: 1e-12)
        XCTAssertLessThan(RankCorrelation.pearson(x, up), 0.99)
        XCTAssertEqual(RankCorrelation.kendallTauB(x, down), -1)
        XCTAssertEqual(RankCorrelation.spearman(x, down), -1, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.pearson(x, down), -1, accuracy: 1e-12)
        // With ties on both sides, identical vectors still agree perfectly.
        let tied: [Double] = [1, 1, 2, 2, 2, 3]
        XCTAssertEqual(RankCorrelation.kendallTauB(tied, tied), 1, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.spearman(tied, tied), 1, accuracy: 1e-12)
    }

    /// Against values computed with scipy.stats 1.x (kendalltau = τ-b, spearmanr, pearsonr) for
    /// x_i = 7i mod 11, y_i = 3i² mod 13 + (i mod 5)/2, i = 0…39 (many ties in x, some in y).
    func testAgainstScipyOnATiedSequence() {
        let x = (0..<40).map { Double(($0 * 7) % 11) }
        let y = (0..<40).map { (i: Int) -> Double in
            let square = Double((i * i * 3) % 13)
            return square + Double(i % 5) * 0.5
        }
        XCTAssertEqual(RankCorrelation.kendallTauB(x, y), -0.09564651496267117, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.spearman(x, y), -0.1307469220345373, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.pearson(x, y), -0.13254995022595514, accuracy: 1e-12)
    }

    /// τ-b in Kendall's own form, Σ a_ij b_ij / √(Σ a_ij² · Σ b_ij²) with a_ij = sign(x_i − x_j) over
    /// all ordered pairs: a different route to the same number, on random data with many ties.
    func testKendallAgainstSignMatrixFormOnRandomTiedData() {
        var rng = SplitMix(seed: 7)
        for trial in 0..<30 {
            let n = 2 + trial * 3
            let x = (0..<n).map { _ in Double(rng.next() % 6) }
            let y = (0..<n).map { _ in Double(rng.next() % 4) }
            var sab = 0.0, saa = 0.0, sbb = 0.0
            for i in 0..<n { for j in 0..<n where i != j {
                let a = Double((x[i] - x[j]).sign == .minus ? -1 : (x[i] == x[j] ? 0 : 1))
                let b = Double((y[i] - y[j]).sign == .minus ? -1 : (y[i] == y[j] ? 0 : 1))
                sab += a * b; saa += a * a; sbb += b * b
            } }
            let reference = saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : .nan
            let tau = RankCorrelation.kendallTauB(x, y)
            if reference.isNaN { XCTAssertTrue(tau.isNaN, "trial \(trial)") }
            else { XCTAssertEqual(tau, reference, accuracy: 1e-12, "trial \(trial)") }
            // Spearman = Pearson of average ranks, and symmetric.
            XCTAssertEqual(RankCorrelation.spearman(x, y).isNaN, RankCorrelation.spearman(y, x).isNaN)
            if !tau.isNaN { XCTAssertEqual(RankCorrelation.spearman(x, y), RankCorrelation.spearman(y, x), accuracy: 1e-12) }
        }
    }

    func testDegenerateInputsAreNaN() {
        for f in [RankCorrelation.kendallTauB, RankCorrelation.spearman, RankCorrelation.pearson] {
            XCTAssertTrue(f([], []).isNaN)
            XCTAssertTrue(f([1], [2]).isNaN)
            XCTAssertTrue(f([1, 2, 3], [5, 5, 5]).isNaN, "constant y")
            XCTAssertTrue(f([4, 4, 4], [1, 2, 3]).isNaN, "constant x")
            XCTAssertTrue(f([.nan, .nan, .nan], [1, 2, 3]).isNaN, "nothing finite")
        }
        XCTAssertEqual(RankCorrelation.all([1, 1], [1, 2]), .undefined)
    }

    func testNonFinitePairsAreDropped() {
        let x: [Double] = [1, .nan, 2, .infinity, 3, 4, -.infinity]
        let y: [Double] = [10, 20, 20, 40, .nan, 40, 60]
        // Usable pairs: (1,10), (2,20), (4,40) → concordant and exactly linear.
        XCTAssertEqual(RankCorrelation.finitePairCount(x, y), 3)
        XCTAssertEqual(RankCorrelation.kendallTauB(x, y), 1)
        XCTAssertEqual(RankCorrelation.spearman(x, y), 1, accuracy: 1e-12)
        XCTAssertEqual(RankCorrelation.pearson(x, y), 1, accuracy: 1e-12)
        let clean = RankCorrelation.finitePairs(x, y)
        XCTAssertEqual(clean.x, [1, 2, 4])
        XCTAssertEqual(clean.y, [10, 20, 40])
    }

    func testPearsonIsStableUnderALargeOffset() {
        let x: [Double] = [1, 2, 3, 4, 5].map { $0 + 1e9 }
        let y: [Double] = [2, 4, 5, 4, 5]
        let shifted = RankCorrelation.pearson(x, y)
        XCTAssertEqual(shifted, RankCorrelation.pearson([1, 2, 3, 4, 5], y), accuracy: 1e-9)
        XCTAssertEqual(shifted, 0.7745966692414834, accuracy: 1e-9)   // 6/√60
    }
}

/// Small deterministic generator for test data.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
