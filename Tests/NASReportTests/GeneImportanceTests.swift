import NASModels
import NASSearch
import XCTest
@testable import NASReport

final class GeneImportanceTests: XCTestCase {
    private func trial(_ n: Int, _ genome: [Int], _ y: Double, failed: Bool = false) -> Trial {
        let arch = Architecture.uniform(.encoder, vocabSize: 100, maxPositions: 16, hidden: 32, depth: 1, heads: 2, ffn: 64)
        return Trial(number: n, genome: genome, architecture: arch, objectives: ["score": y], costs: Costs(params: 1, flops: 1),
                     state: failed ? .failed : .complete, seconds: 0)
    }

    func testEtaSquaredByHand() {
        let settings = StudyFixture.settings()
        // Gene a (position 1) decides the objective (groups {1, 1} and {3, 3}); gene b splits each group evenly.
        let trials = [trial(0, [0, 0], 1), trial(1, [1, 0], 1), trial(2, [0, 1], 3), trial(3, [1, 1], 3),
                      trial(4, [1, 1], 100, failed: true)]
        let rows = GeneImportance.etaSquared(trials: trials, settings: settings, geneNames: ["b", "a"])
        XCTAssertEqual(rows.map(\.gene), ["a", "b"], "largest first")
        XCTAssertEqual(rows[0].etaSquared, 1, accuracy: 1e-12)
        XCTAssertEqual(rows[1].etaSquared, 0, accuracy: 1e-12)
        XCTAssertEqual(rows[0].trials, 4, "the failed trial is not counted")

        // y = 1, 2, 4, 5 in groups {1, 2} and {4, 5}: SS_total = 10, SS_between = 4 · 1.5² = 9 → 0.9.
        let mixed = [trial(0, [0], 1), trial(1, [0], 2), trial(2, [1], 4), trial(3, [1], 5)]
        let one = GeneImportance.etaSquared(trials: mixed, settings: settings, geneNames: ["g"])
        XCTAssertEqual(one[0].etaSquared, 0.9, accuracy: 1e-12)
        XCTAssertEqual(one[0].choicesSeen, 2)
    }

    func testConstantObjectiveIsUndefined() {
        let rows = GeneImportance.etaSquared(trials: [trial(0, [0], 2), trial(1, [1], 2)], settings: StudyFixture.settings(),
                                             geneNames: ["g"])
        XCTAssertTrue(rows[0].etaSquared.isNaN)
    }
}
