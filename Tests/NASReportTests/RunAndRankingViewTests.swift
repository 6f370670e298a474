import Foundation
import NASSearch
import XCTest
@testable import NASReport

final class RunAndRankingViewTests: XCTestCase {
    func testTrainingRunViewFromMetricsLog() throws {
        let text = """
        {"elapsed_s":1.0,"grad_norm":2.0,"loss":9.5,"lr":1e-4,"step":10,"tokens_per_s":80.0}
        {"elapsed_s":2.0,"grad_norm":2.0,"loss":null,"lr":2e-4,"step":20,"tokens_per_s":82.0}
        {"eval_mlm_loss":7.5,"step":20}
        {"eval_accuracy":0.8,"step":20}
        {"loss": 3,
        """
        let log = TrainingLog(text: text)
        XCTAssertEqual(log.entries.count, 4)
        XCTAssertEqual(log.skippedLines, 1, "a partial last line is skipped")
        XCTAssertTrue(log.series("loss").values[1].isNaN)
        let html = ReportPage(title: "run", sections: TrainingRunView(name: "run", log: log).sections()).html()
        XCTAssertTrue(html.contains("Validation perplexity"))
        XCTAssertTrue(html.contains("1 non-finite values not plotted"))
        XCTAssertEqual(StudyFixture.count("class=\"eval-ppl\"", in: html), 1)
        XCTAssertFalse(html.contains("loss per size bin"), "not a supernet run")
    }

    func testSupernetLossPerSizeBin() {
        // Sandwich steps: member 0 (largest, 10M) on labels, members 1 (smallest, 2M) and 2 (6M) distilled.
        var lines: [String] = []
        for step in [10, 20] {
            lines.append("{\"step\":\(step),\"loss\":5,\"lm\":\(5 - step / 10),\"kd_smallest\":0.5,\"kd_2\":0.25,"
                         + "\"params_0\":10000000,\"params_1\":2000000,\"params_2\":6000000}")
        }
        let log = TrainingLog(text: lines.joined(separator: "\n"))
        XCTAssertTrue(log.isSupernet)
        let bins = SupernetSizeBins(log: log, binCount: 4)
        XCTAssertEqual(bins.labelLoss.count, 1)
        XCTAssertEqual(bins.labelLoss[0].meanLoss, [4, 3])
        XCTAssertEqual(bins.distillationLoss.map(\.meanLoss), [[0.5, 0.5], [0.25, 0.25]], "2M and 6M fall in bins 0 and 2")
        XCTAssertEqual(bins.distillationLoss[0].lo, 2e6)
        let html = TrainingRunView(name: "s", log: log).sections().map(\.html).joined()
        XCTAssertTrue(html.contains("In-place distillation loss per size bin"))
    }

    func testRankingViewFromRankOutput() throws {
        let folder = try StudyFixture.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = RankingReport(protocol: "test", tokens: 64, ids: ["a", "b", "c", "d"], target: [1, 2, 3, 4],
                                   proxies: [ProxyScores(name: "params", scores: [1, 2, 3, 5], secondsPerArch: 0.01),
                                             ProxyScores(name: "w-pca", scores: [4, .nan, 2, 1], secondsPerArch: 0.2)],
                                   sizes: [1, 2, 3, 4])
        try report.write(to: folder)
        guard case .ranking(let url) = ReportSource(folder.path) else { return XCTFail("a ranking folder") }
        let view = try RankingView(folder: url)
        XCTAssertEqual(view.ids, ["a", "b", "c", "d"])
        let html = view.page().html()
        XCTAssertEqual(StudyFixture.count("<tr class=\"proxy-row\">", in: html), 2)
        XCTAssertEqual(StudyFixture.count("<circle", in: html), 7, "4 + 3 finite points")
        XCTAssertTrue(html.contains("<td data-sort=\"1.0\">1.000</td>"), "params ranks perfectly: τ = 1.000")
        XCTAssertTrue(html.contains("<title>architecture b</title>"))
    }
}
