import Foundation
import XCTest
import NASModels
@testable import NASSearch

final class LTSBenchmarkTests: XCTestCase {

    static var devFile: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()   // package root
            .appendingPathComponent(LTSBenchmark.devRelativePath).standardizedFileURL
    }

    /// The README's facts, and the mapping's non-embedding count against upstream's `params.nonembedding`.
    ///
    /// Per layer of width D with FFN f our decoder has 4D² + 4D (Q, K, V, O with biases) + 2Df + f + D
    /// (two dense layers with biases) + 4D (two LayerNorms), plus a final LayerNorm 2D. Upstream's count
    /// is the same for all 100 rows (their Attn + FFN plus the norms; the adaptive embedding, its
    /// projections and the adaptive softmax are all in `AdaEmb`), so the maximum relative difference is 0.
    func testRealDevFileAndTheNonEmbeddingCountOfTheMapping() throws {
        let url = Self.devFile
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("LTS dev benchmark not found at \(url.path)") }
        let rows = try LTSBenchmark.load(from: url)
        XCTAssertEqual(rows.count, 100)
        XCTAssertEqual(rows[0].id, "config_0_j0")
        XCTAssertEqual(rows[0].heads, [2, 4, 4, 8, 8])
        XCTAssertEqual(rows[0].innerWidths, [1071, 640, 1286, 800, 1871])
        XCTAssertEqual(rows[0].validPerplexity, 45.022968707221274)
        XCTAssertEqual(rows[0].target, -45.022968707221274)
        XCTAssertEqual(Set(rows.map(\.dModel)), [64, 128, 256, 512])
        XCTAssertEqual(rows.map(\.layerCount).min(), 2)
        XCTAssertEqual(rows.map(\.layerCount).max(), 16)
        var maxRelative = 0.0
        for row in rows {
            let arch = row.architecture()
            XCTAssertNoThrow(try arch.validate(), row.id)
            XCTAssertEqual(arch.family, .decoder)
            XCTAssertEqual(arch.vocabSize, 30522)
            XCTAssertEqual(arch.maxPositions, 512)
            XCTAssertEqual(arch.embeddingWidth, row.dModel)
            let d = row.dModel
            let handCount = zip(row.heads, row.innerWidths).reduce(2 * d) { n, l in
                n + 4 * d * d + 4 * d + 2 * d * l.1 + l.1 + d + 4 * d
            }
            XCTAssertEqual(arch.nonEmbeddingParameterCount, handCount, row.id)
            maxRelative = max(maxRelative, abs(Double(arch.nonEmbeddingParameterCount) - row.nonEmbeddingParameters)
                                / row.nonEmbeddingParameters)
        }
        XCTAssertEqual(maxRelative, 0)
        // The README's fact on all 200 rows is τ(non-embedding params, −valid_ppl) = 0.85; on this half
        // it must be of the same order.
        let tau = RankCorrelation.kendallTauB(rows.map(\.nonEmbeddingParameters), rows.map(\.target))
        XCTAssertGreaterThan(tau, 0.75)
    }

    static func row(id: String = "config_1_j0", nLayer: String = "2", nHead: String = "[2, 4]",
                    dInner: String = "[100, 200]", dHead: String = "-1", validPPL: String = "30.5") -> String {
        """
        {"id": "\(id)", "config": {"n_layer": \(nLayer), "d_model": 64, "d_embed": 128, "n_head": \(nHead),
         "d_inner": \(dInner), "d_head": \(dHead), "div_val": 4, "n_token": 50264, "tgt_len": 192},
         "valid_ppl": \(validPPL), "test_ppl": 31.0, "params": {"nonembedding": 1234.0, "total": 99999.0}}
        """
    }

    func testSyntheticRowAndTheHeadSizeRule() throws {
        let rows = try LTSBenchmark.parse(Data("[\(Self.row())]".utf8), file: "b.json")
        let arch = rows[0].architecture(vocabSize: 100, maxPositions: 64)
        XCTAssertEqual(arch.layers.map(\.heads), [2, 4])
        XCTAssertEqual(arch.layers.map(\.qkv), [64, 64])   // d_head −1: qkv = d_model
        XCTAssertEqual(arch.layers.map(\.ffn), [100, 200])
        XCTAssertEqual(arch.hidden, 64)
        XCTAssertNil(arch.embeddingSize)
        XCTAssertEqual(arch.vocabSize, 100)
        XCTAssertEqual(arch.maxPositions, 64)
        XCTAssertEqual(rows[0].dEmbed, 128)
        XCTAssertEqual(rows[0].nonEmbeddingParameters, 1234)
        // A given d_head: qkv = n_head · d_head.
        let explicit = try LTSBenchmark.parse(Data("[\(Self.row(dHead: "8"))]".utf8), file: "b.json")
        XCTAssertEqual(explicit[0].headSize, 8)
        XCTAssertEqual(explicit[0].architecture().layers.map(\.qkv), [16, 32])
    }

    func assertError(_ json: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LTSBenchmark.parse(Data(json.utf8), file: "b.json"), file: file, line: line) {
            XCTAssertEqual("\($0)", expected, file: file, line: line)
        }
    }

    func testErrorsNameTheFileTheRowIdAndTheField() {
        let good = Self.row(id: "a")
        assertError("[\(good), \(Self.row(id: "b", nHead: "[2]"))]",
                    "b.json: row 1 (id b): config.n_head: expected 2 entries (one per layer, n_layer = 2), got 1")
        assertError("[\(Self.row(nHead: "[2, 0]"))]",
                    "b.json: row 0 (id config_1_j0): config.n_head[1]: expected a positive integer, got 0")
        assertError("[\(Self.row(nHead: "[2, 3]"))]",
                    "b.json: row 0 (id config_1_j0): config.n_head[1]: 3 heads do not divide d_model = 64 (d_head = -1)")
        assertError("[\(Self.row(dInner: "[100, \"200\"]"))]",
                    "b.json: row 0 (id config_1_j0): config.d_inner[1]: expected an integer, got \"200\"")
        assertError("[\(Self.row(dHead: "0"))]",
                    "b.json: row 0 (id config_1_j0): config.d_head: expected -1 (d_model / n_head) or a positive integer, got 0")
        assertError("[\(Self.row(nLayer: "2.0"))]",
                    "b.json: row 0 (id config_1_j0): config.n_layer: expected an integer, got 2.0")
        assertError("[\(Self.row(validPPL: "-3"))]",
                    "b.json: row 0 (id config_1_j0): valid_ppl: expected a finite positive number, got -3.0")
        assertError("[\(Self.row(validPPL: "null"))]",
                    "b.json: row 0 (id config_1_j0): valid_ppl: expected a number, got null")
        assertError("[\(Self.row().replacingOccurrences(of: "\"tgt_len\": 192", with: "\"tgt_len_x\": 192"))]",
                    "b.json: row 0 (id config_1_j0): config.tgt_len: missing")
        assertError("[\(Self.row().replacingOccurrences(of: "\"id\": \"config_1_j0\"", with: "\"id\": 7"))]",
                    "b.json: row 0: id: expected a non-empty string, got 7")
        assertError("[\(good), \(good)]", "b.json: row 1 (id a): id: duplicate id (also row 0)")
        assertError("{}", "b.json: expected a JSON array of rows, got an object")
        assertError("[]", "b.json: no rows")
        XCTAssertThrowsError(try LTSBenchmark.load(from: URL(fileURLWithPath: "/nonexistent/lts.json"))) {
            XCTAssertTrue("\($0)".hasPrefix("/nonexistent/lts.json: cannot read"), "\($0)")
        }
    }

    func testBenchmarkKindDetection() throws {
        XCTAssertEqual(try RankingBenchmarkKind.detect(Data("[\(Self.row())]".utf8), file: "b.json"), .lts)
        let flexi = "[{\"id\": 0, \"hparams\": {}, \"scores\": {}}]"
        XCTAssertEqual(try RankingBenchmarkKind.detect(Data(flexi.utf8), file: "f.json"), .flexiBERT)
        XCTAssertThrowsError(try RankingBenchmarkKind.detect(Data("[{\"id\": 1, \"config\": {}}]".utf8), file: "x.json")) {
            XCTAssertEqual("\($0)", "x.json: row 0 is neither a FlexiBERT row (with \"hparams\") nor an LTS row "
                           + "(with \"config\" and \"valid_ppl\"); its keys: config, id")
        }
        XCTAssertThrowsError(try RankingBenchmarkKind.detect(Data("{\"a\": 1}".utf8), file: "x.json")) {
            XCTAssertEqual("\($0)", "x.json: expected a non-empty JSON array of benchmark rows, got an object")
        }
        XCTAssertThrowsError(try RankingBenchmarkKind.detect(Data("[3]".utf8), file: "x.json")) {
            XCTAssertEqual("\($0)", "x.json: row 0: expected an object, got 3")
        }
        if FileManager.default.fileExists(atPath: Self.devFile.path) {
            XCTAssertEqual(try RankingBenchmarkKind.detect(contentsOf: Self.devFile), .lts)
        }
        if FileManager.default.fileExists(atPath: FlexiBERTBenchmarkTests.devFile.path) {
            XCTAssertEqual(try RankingBenchmarkKind.detect(contentsOf: FlexiBERTBenchmarkTests.devFile), .flexiBERT)
        }
    }

    /// Every proxy scores a mapped LTS decoder (tiny widths, our causal context) to a finite number, and
    /// a function scorer sees the architecture without building the model.
    func testEveryProxyAndAFunctionScorerRunOnAMappedDecoder() throws {
        let row = LTSRow(id: "t", dModel: 16, heads: [2, 4], innerWidths: [24, 40], dEmbed: 16, divVal: 1,
                         vocabularySize: 50264, targetLength: 192, validPerplexity: 40, testPerplexity: 41,
                         nonEmbeddingParameters: 1, totalParameters: 2)
        let arch = row.architecture(vocabSize: 11, maxPositions: 8)
        let batch = TokenBatch(ids: (0..<12).map { Int32($0 * 7 % 11) }, batchSize: 2, length: 6)
        var scorers = try Proxies.names.map { RankingScorer.proxy(try Proxies.named($0)) }
        scorers.append(.architecture("layers") { Double($0.depth) })
        for scorer in scorers {
            let c = try ProxyContext(architecture: arch, batch: batch, seed: 3)
            let value = try scorer.score(c)
            XCTAssertTrue(value.isFinite, "\(scorer.name): \(value)")
        }
        XCTAssertEqual(scorers.last?.name, "layers")
        XCTAssertEqual(try scorers.last!.score(ProxyContext(architecture: arch, batch: batch, seed: 3)), 2)
        // The default SynFlow input is exactly 0 on a pre-LN decoder at initialisation (SynFlowProxy's
        // doc); `swiftnas rank` uses the token-embedding input for LTS.
        XCTAssertEqual(try SynFlowProxy().score(ProxyContext(architecture: arch, batch: batch, seed: 3)), 0)
        XCTAssertNotEqual(try SynFlowProxy(input: .onesTokenEmbeddings).score(ProxyContext(architecture: arch, batch: batch, seed: 3)), 0)
    }
}
