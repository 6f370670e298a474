import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import NASSearch

/// Counts elements and collects text while checking the document is well-formed XML.
private final class SVGInspector: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var text = ""
    var attributes: [String: [[String: String]]] = [:]

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes attributeDict: [String: String] = [:]) {
        elements[name, default: 0] += 1
        attributes[name, default: []].append(attributeDict)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    static func inspect(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> SVGInspector {
        let inspector = SVGInspector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = inspector
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))",
                      file: file, line: line)
        return inspector
    }
}

final class ScatterPlotTests: XCTestCase {

    func testWellFormedWithTitleAndOneCirclePerFinitePoint() {
        let x: [Double] = [0.1, 0.5, .nan, 0.9, 1.3, .infinity, 2.0]
        let y: [Double] = [60, 65, 70, .nan, 72, 68, 74]
        let plot = ScatterPlot(x: x, y: y, title: "W-PCA vs GLUE, τ = 0.512", xLabel: "W-PCA", yLabel: "GLUE (dev)")
        XCTAssertFalse(plot.usesLogX)
        let svg = plot.svg()
        let doc = SVGInspector.inspect(svg)
        XCTAssertEqual(doc.elements["svg"], 1)
        XCTAssertEqual(doc.elements["circle"], 4)   // (0.1,60) (0.5,65) (1.3,72) (2.0,74)
        XCTAssertTrue(doc.text.contains("W-PCA vs GLUE, τ = 0.512"))
        XCTAssertTrue(doc.text.contains("3 with non-finite values omitted"))
        XCTAssertTrue(doc.text.contains("n = 4 plotted"))
        // Every circle lies inside the plot frame.
        let frame = doc.attributes["rect"]!.first { $0["fill"] == "none" }!
        let (fx, fy) = (Double(frame["x"]!)!, Double(frame["y"]!)!)
        let (fw, fh) = (Double(frame["width"]!)!, Double(frame["height"]!)!)
        for c in doc.attributes["circle"]! {
            let cx = Double(c["cx"]!)!, cy = Double(c["cy"]!)!
            XCTAssertTrue(cx >= fx - 1e-9 && cx <= fx + fw + 1e-9 && cy >= fy - 1e-9 && cy <= fy + fh + 1e-9)
        }
    }

    func testLogAxisChosenAutomaticallyForWideRanges() {
        let x: [Double] = [1e-2, 3, 40, 1e3, 2e5]
        let plot = ScatterPlot(x: x, y: [1, 2, 3, 4, 5], title: "synflow", xLabel: "synflow", yLabel: "GLUE")
        XCTAssertTrue(plot.usesLogX)
        let doc = SVGInspector.inspect(plot.svg())
        XCTAssertEqual(doc.elements["circle"], 5)
        XCTAssertTrue(doc.text.contains("(log scale)"))
        XCTAssertTrue(doc.text.contains("1e5"), doc.text)
        // Narrow positive range or a non-positive value: linear.
        XCTAssertFalse(ScatterPlot(x: [1, 500], y: [1, 2], title: "", xLabel: "", yLabel: "").usesLogX)
        XCTAssertFalse(ScatterPlot(x: [-1, 1e6], y: [1, 2], title: "", xLabel: "", yLabel: "").usesLogX)
    }

    func testForcedLogAxisDropsNonPositiveX() {
        let plot = ScatterPlot(x: [0, -3, 10, 100], y: [1, 2, 3, 4], title: "t", xLabel: "x", yLabel: "y",
                               xScale: .logarithmic)
        let doc = SVGInspector.inspect(plot.svg())
        XCTAssertEqual(doc.elements["circle"], 2)
        XCTAssertTrue(doc.text.contains("2 with x ≤ 0 omitted (log axis)"))
    }

    func testDegenerateInputsStayWellFormed() {
        let cases: [([Double], [Double])] = [
            ([], []), ([.nan], [.nan]), ([5], [5]), ([1, 1, 1], [2, 2, 2]),
            ([-1e308, 1e308], [0, 1]), ([1e-300, 2e-300], [3, 4]), ([0.001, 0.0011], [70.1, 70.1]),
        ]
        for (x, y) in cases {
            let plot = ScatterPlot(x: x, y: y, title: "a < b & \"c\"", xLabel: "<x>", yLabel: "y & z")
            let doc = SVGInspector.inspect(plot.svg())
            XCTAssertEqual(doc.elements["circle"] ?? 0, zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }.count)
            XCTAssertTrue(doc.text.contains("a < b & \"c\""))
        }
    }

    func testNiceTicks() {
        let axis = ScatterPlot.linearAxis([54.8, 74.7])
        XCTAssertEqual(axis.lo, 50)
        XCTAssertEqual(axis.hi, 75)
        XCTAssertEqual(axis.ticks.map(\.1), ["50", "55", "60", "65", "70", "75"])
        XCTAssertEqual(ScatterPlot.linearAxis([-0.23, 0.61]).ticks.map(\.1),
                       ["-0.4", "-0.2", "0.0", "0.2", "0.4", "0.6", "0.8"])
    }

    func testWriteIsAtomicAndLeavesNoTemporaryFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scatter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("p.svg")
        try Data("old".utf8).write(to: url)
        let plot = ScatterPlot(x: [1, 2], y: [3, 4], title: "t", xLabel: "x", yLabel: "y")
        try plot.write(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), plot.svg())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["p.svg"])
        XCTAssertThrowsError(try plot.write(to: dir.appendingPathComponent("missing/p.svg")))
    }
}

final class RankingReportTests: XCTestCase {

    static let sample = RankingResult(
        protocol: "flexibert-dev, 1 batch", tokens: 4096, architectures: 250,
        proxies: [
            ProxyCorrelation(name: "W-PCA", kendall: 0.5, spearman: 0.75, pearson: -0.25, withinBandKendall: 0.375,
                             secondsPerArch: 0.125,
                             perTask: ["cola": Correlations(kendall: 0.25, spearman: .nan, pearson: 0.5)]),
            ProxyCorrelation(name: "synflow \"x\"", kendall: .nan, spearman: 0.0625, pearson: 1, secondsPerArch: 2),
        ])

    func testRankingJSONTextIsExactlyTheSpecifiedShape() {
        let expected = """
        {
          "proxies": [
            {
              "name": "W-PCA",
              "kendall": 0.5,
              "spearman": 0.75,
              "pearson": -0.25,
              "withinBandKendall": 0.375,
              "secondsPerArch": 0.125,
              "perTask": {
                "cola": {"kendall": 0.25, "spearman": null, "pearson": 0.5}
              }
            },
            {
              "name": "synflow \\"x\\"",
              "kendall": null,
              "spearman": 0.0625,
              "pearson": 1.0,
              "withinBandKendall": null,
              "secondsPerArch": 2.0
            }
          ],
          "protocol": "flexibert-dev, 1 batch",
          "tokens": 4096,
          "architectures": 250
        }

        """
        XCTAssertEqual(Self.sample.jsonText(), expected)
    }

    func testRankingJSONParsesWithTheSpecifiedKeysAndRoundTrips() throws {
        let data = Data(Self.sample.jsonText().utf8)
        let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(top.keys), ["proxies", "protocol", "tokens", "architectures"])
        XCTAssertEqual(top["tokens"] as? Int, 4096)
        let proxies = try XCTUnwrap(top["proxies"] as? [[String: Any]])
        XCTAssertEqual(Set(proxies[0].keys), ["name", "kendall", "spearman", "pearson", "withinBandKendall", "secondsPerArch",
                                              "perTask"])
        XCTAssertEqual(Set(proxies[1].keys), ["name", "kendall", "spearman", "pearson", "withinBandKendall", "secondsPerArch"])
        XCTAssertTrue(proxies[1]["withinBandKendall"] is NSNull)
        XCTAssertTrue(proxies[1]["kendall"] is NSNull)
        XCTAssertEqual(try RankingResult(jsonData: data), Self.sample)
        // No proxies at all is still valid JSON.
        let empty = RankingResult(protocol: "p", tokens: 0, architectures: 0, proxies: [])
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(empty.jsonText().utf8)))
        XCTAssertEqual(try RankingResult(jsonData: Data(empty.jsonText().utf8)), empty)
    }

    /// Four architectures; proxy "size" agrees perfectly with the target, "broken" is NaN for one.
    static func smallReport(perTask: Bool = false) -> RankingReport {
        RankingReport(
            protocol: "test", tokens: 128, ids: [0, 2, 4, 6], target: [60, 70, 65, 72],
            proxies: [ProxyScores(name: "size", scores: [1, 3, 2, 4], secondsPerArch: 0.5),
                      ProxyScores(name: "broken, really", scores: [4, .nan, 3, .infinity], secondsPerArch: 0.01)],
            taskTargets: perTask ? ["cola": [10, 30, 20, 40], "rte": [1, 1, 1, 1]] : nil)
    }

    func testCorrelationsCSVAndTable() {
        let report = Self.smallReport(perTask: true)
        XCTAssertEqual(report.result.architectures, 4)
        XCTAssertEqual(report.result.proxies[0].kendall, 1)
        XCTAssertEqual(report.result.proxies[1].kendall, -1)   // finite pairs (60, 4), (65, 3)
        XCTAssertTrue(report.result.proxies[0].perTask!["rte"]!.kendall.isNaN)   // constant target
        XCTAssertEqual(report.scoresCSV(), """
        id,glue,size,"broken, really"
        0,60.0,1.0,4.0
        2,70.0,3.0,nan
        4,65.0,2.0,3.0
        6,72.0,4.0,inf

        """)
        let csv = report.correlationsCSV().split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + 2 * 3)
        XCTAssertEqual(csv[0], "proxy,task,n,kendall,spearman,pearson,within_band_kendall,bands_used,band_rows,seconds_per_arch")
        XCTAssertEqual(csv[1], "size,glue,4,1.0,1.0,\(RankCorrelation.pearson([1, 3, 2, 4], [60, 70, 65, 72])),nan,0,0,0.5")
        XCTAssertEqual(csv[2], "size,cola,4,1.0,1.0,1.0,nan,0,0,0.5")
        XCTAssertEqual(csv[3], "size,rte,4,nan,nan,nan,nan,0,0,0.5")
        XCTAssertTrue(csv[4].hasPrefix("\"broken, really\",glue,2,-1.0,"), String(csv[4]))
        let table = report.table()
        XCTAssertTrue(table.contains("architectures: 4"))
        XCTAssertTrue(table.contains("size" + String(repeating: " ", count: 15) + "1.000"), table)   // name column 14 wide
        XCTAssertTrue(table.contains("Kendall τ-b per task"), table)
        let widths = Set(table.split(separator: "\n").dropFirst().prefix(3).map(\.count))
        XCTAssertEqual(widths.count, 1, "fixed width:\n\(table)")
    }

    func testWriteProducesAllFilesAtomically() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rank-\(UUID().uuidString)/out")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let report = Self.smallReport()
        try report.write(to: dir)
        try report.write(to: dir)   // overwriting is fine
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(files, ["correlations.csv", "ranking.json", "scatter-broken-really.svg", "scatter-size.svg",
                               "scores.csv"])
        let json = try Data(contentsOf: dir.appendingPathComponent("ranking.json"))
        XCTAssertEqual(try RankingResult(jsonData: json), report.result)
        let svg = try String(contentsOf: dir.appendingPathComponent("scatter-broken-really.svg"), encoding: .utf8)
        let doc = SVGInspector.inspect(svg)
        XCTAssertEqual(doc.elements["circle"], 2)
        XCTAssertTrue(doc.text.contains("broken, really vs GLUE, τ = -1.000"), doc.text)
        XCTAssertTrue(doc.text.contains("2 with non-finite values omitted"))
    }

    func testDuplicateProxyNamesGetDistinctPlotFiles() {
        let report = RankingReport(protocol: "p", tokens: 1, ids: [1, 2], target: [1, 2],
                                   proxies: [ProxyScores(name: "a b", scores: [1, 2], secondsPerArch: 0),
                                             ProxyScores(name: "a-b", scores: [2, 1], secondsPerArch: 0),
                                             ProxyScores(name: "ΣΣ", scores: [2, 1], secondsPerArch: 0)])
        XCTAssertEqual(report.scatterPlots().map(\.fileName), ["scatter-a-b.svg", "scatter-a-b-2.svg", "scatter-proxy.svg"])
    }

    func testOlderRankingJSONWithoutWithinBandReadsAsNaN() throws {
        let old = """
        {"proxies": [{"name": "snip", "kendall": 0.5, "spearman": 0.25, "pearson": 0.125, "secondsPerArch": 1.5}],
         "protocol": "true-size", "tokens": 4096, "architectures": 250}
        """
        let r = try RankingResult(jsonData: Data(old.utf8))
        XCTAssertEqual(r.proxies.count, 1)
        XCTAssertTrue(r.proxies[0].withinBandKendall.isNaN)
        XCTAssertEqual(r.proxies[0].kendall, 0.5)
        let bad = old.replacingOccurrences(of: "\"secondsPerArch\"", with: "\"withinBandKendall\": \"x\", \"secondsPerArch\"")
        XCTAssertThrowsError(try RankingResult(jsonData: Data(bad.utf8))) {
            XCTAssertEqual("\($0)", "ranking.json: proxies[0].withinBandKendall: expected a number or null")
        }
        // The committed FlexiBERT run (written before within-band τ existed) still reads.
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("results/flexibert-dev/true-size-4096/ranking.json")
        let result = try RankingResult(jsonData: Data(contentsOf: committed))
        XCTAssertEqual(result.proxies.count, 14)
        XCTAssertTrue(result.proxies.allSatisfy { $0.withinBandKendall.isNaN })
    }

    /// Sizes 100…104 form one band of 5 (all within 1.10× of 100) and 200, 201 a band of 2 (skipped):
    /// the within-band τ is the τ of the first five rows alone.
    func testReportWithSizesCarriesWithinBandTauIntoJSONCSVAndTable() throws {
        let report = RankingReport(
            protocol: "lts", tokens: 64, ids: ["a", "b", "c", "d", "e", "f", "g"],
            target: [-50, -40, -45, -30, -35, -20, -10], targetName: "-valid_ppl",
            proxies: [ProxyScores(name: "p", scores: [1, 2, 3, 4, 5, 6, 7], secondsPerArch: 0.25)],
            sizes: [100, 101, 102, 103, 104, 200, 201])
        // Band of 5: proxy 1…5 against −50, −40, −45, −30, −35: 10 pairs, 2 discordant → τ = 0.6.
        XCTAssertEqual(report.withinBand[0], WithinBandCorrelation(kendall: 0.6, bandsUsed: 1, rowsCovered: 5, bandCount: 2))
        XCTAssertEqual(report.result.proxies[0].withinBandKendall, 0.6, accuracy: 1e-15)
        XCTAssertTrue(report.result.jsonText().contains("\"pearson\": \(report.result.proxies[0].pearson),\n      \"withinBandKendall\": 0.6"))
        let csv = report.correlationsCSV().split(separator: "\n")
        XCTAssertTrue(csv[1].hasPrefix("p,-valid_ppl,7,"), String(csv[1]))
        XCTAssertTrue(csv[1].hasSuffix(",0.6,1,5,0.25"), String(csv[1]))
        XCTAssertTrue(report.scoresCSV().hasPrefix("id,-valid_ppl,p\na,-50.0,1.0\n"))
        let table = report.table()
        XCTAssertTrue(table.contains("in-band τ"), table)
        XCTAssertTrue(table.contains("     0.600      1"), table)
        XCTAssertTrue(table.contains("2 bands"), table)
    }

    func testHarnessOnTheRealBenchmark() throws {
        let url = FlexiBERTBenchmarkTests.devFile
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("FlexiBERT dev benchmark not found at \(url.path)")
        }
        let rows = try FlexiBERTBenchmark.load(from: url)
        // A crude size proxy (hidden² × layers), with one architecture failing (NaN).
        var size = rows.map { Double($0.hiddenSize * $0.hiddenSize * $0.layers.count) }
        size[3] = .nan
        let report = RankingReport(protocol: "dev", tokens: 0, rows: rows,
                                   proxies: [ProxyScores(name: "size", scores: size, secondsPerArch: 0)],
                                   perTask: true)
        let c = report.result.proxies[0]
        XCTAssertEqual(report.result.architectures, 250)
        XCTAssertGreaterThan(c.kendall, 0.3)
        XCTAssertEqual(Set(c.perTask!.keys), Set(FlexiBERTBenchmark.taskNames.dropLast()))
        XCTAssertEqual(SVGInspector.inspect(report.scatterPlots()[0].plot.svg()).elements["circle"], 249)
    }
}
