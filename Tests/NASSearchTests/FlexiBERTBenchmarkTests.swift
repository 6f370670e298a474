import Foundation
import XCTest
@testable import NASSearch

final class FlexiBERTBenchmarkTests: XCTestCase {

    static var devFile: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()   // package root
            .appendingPathComponent(FlexiBERTBenchmark.devRelativePath).standardizedFileURL
    }

    func testRealDevFileMatchesTheREADME() throws {
        let url = Self.devFile
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("FlexiBERT dev benchmark not found at \(url.path) (it lives in the shared data folder)")
        }
        let rows = try FlexiBERTBenchmark.load(from: url)
        XCTAssertEqual(rows.count, 250)
        XCTAssertEqual(rows.filter { $0.hiddenSize == 128 }.count, 127)
        XCTAssertEqual(rows.filter { $0.hiddenSize == 256 }.count, 123)
        XCTAssertEqual(rows.filter { $0.layers.count == 2 }.count, 122)
        XCTAssertEqual(rows.filter { $0.layers.count == 4 }.count, 128)
        XCTAssertTrue(rows.allSatisfy { $0.id % 2 == 0 }, "the dev half holds the even ids")
        let glue = rows.map(\.glue)
        XCTAssertEqual(glue.min()!, 54.806, accuracy: 5e-4)
        XCTAssertEqual(glue.max()!, 74.734, accuracy: 5e-4)
        XCTAssertEqual(glue.reduce(0, +) / Double(glue.count), 68.845, accuracy: 5e-4)
        XCTAssertEqual(rows.filter { $0.scores["cola"] == 0 }.count, 29)   // README caveat 4

        // Row 0 as printed in the README.
        let first = rows[0]
        XCTAssertEqual(first.id, 0)
        XCTAssertEqual(first.hiddenSize, 256)
        XCTAssertEqual(first.scores["cola"], 42.69)
        XCTAssertEqual(first.glue, 74.73375)
        XCTAssertEqual(first.layers.first, FlexiBERTLayerSpec(operation: .wma, heads: 4, feedForwardDimension: 1024,
                                                              numFeedForward: 3))
        XCTAssertEqual(first.layers[1].operation, .dct)

        // Value sets stated in the README.
        let layers = rows.flatMap(\.layers)
        XCTAssertEqual(Set(layers.map(\.heads)), [2, 4])
        XCTAssertEqual(Set(layers.map(\.feedForwardDimension)), [512, 1024])
        XCTAssertEqual(Set(layers.map(\.numFeedForward)), [1, 3])
        XCTAssertEqual(Set(layers.map(\.operation)),
                       [.sdp, .wma, .dft, .dct, .dynamicConv(kernel: 5), .dynamicConv(kernel: 9)])
        XCTAssertTrue(rows.allSatisfy { Set($0.scores.keys) == Set(FlexiBERTBenchmark.taskNames) })
    }

    // MARK: - Hostile input

    static let goodLayer = #"{"operation_type": "SA", "operation_parameter": "SDP", "num_operation_heads": 2, "feed_forward_dimension": 512, "num_feed_forward": 1}"#

    /// A row in the file's format; glue = mean of the 8 tasks (all 60 → 60).
    static func row(id: Int, layers: [String] = [goodLayer, goodLayer, goodLayer], hidden: String = "128") -> String {
        let scores = FlexiBERTBenchmark.taskNames.map { "\"\($0)\": 60.0" }.joined(separator: ", ")
        return """
        {"id": \(id), "is_running": false, "completed": true, "time_to_train": 1.5, "scores": {\(scores)}, \
        "hparams": {"learning_rate": 0.0005, "model_hparam_overrides": {"hidden_size": \(hidden), \
        "nas_config": {"encoder_layers": [\(layers.joined(separator: ", "))]}}}}
        """
    }

    /// 18 rows with ids 0, 2, …, 34; row 17 (id 34) replaced by `hostile`.
    static func file(hostile: String) -> Data {
        var rows = (0..<17).map { row(id: 2 * $0) }
        rows.append(hostile)
        return Data(("[" + rows.joined(separator: ", ") + "]").utf8)
    }

    func assertError(_ hostile: String, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try FlexiBERTBenchmark.parse(Self.file(hostile: hostile), file: "bench.json"),
                             line: line) { error in
            XCTAssertEqual("\(error)", expected, line: line)
            XCTAssertTrue(error is FlexiBERTBenchmarkError, line: line)
        }
    }

    func testWellFormedSyntheticFileParses() throws {
        let dsc = #"{"operation_type": "DSC", "operation_parameter": 9, "num_operation_heads": 4, "feed_forward_dimension": 1024, "num_feed_forward": 3}"#
        let rows = try FlexiBERTBenchmark.parse(Self.file(hostile: Self.row(id: 34, layers: [dsc], hidden: "256")),
                                                file: "bench.json")
        XCTAssertEqual(rows.count, 18)
        XCTAssertEqual(rows[17].id, 34)
        XCTAssertEqual(rows[17].hiddenSize, 256)
        XCTAssertEqual(rows[17].layers, [FlexiBERTLayerSpec(operation: .dynamicConv(kernel: 9), heads: 4,
                                                            feedForwardDimension: 1024, numFeedForward: 3)])
        XCTAssertEqual(rows[0].glue, 60)
    }

    func testUnknownOperationParameterNamesRowIdAndPath() {
        let bad = Self.goodLayer.replacingOccurrences(of: "SDP", with: "XYZ")
        assertError(Self.row(id: 34, layers: [Self.goodLayer, Self.goodLayer, bad]),
                    #"bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers[2].operation_parameter: expected SDP or WMA for SA, got "XYZ""#)
        let lt = Self.goodLayer.replacingOccurrences(of: "\"SA\"", with: "\"LT\"")
        assertError(Self.row(id: 34, layers: [lt]),
                    #"bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers[0].operation_parameter: expected DFT or DCT for LT, got "SDP""#)
        let dscString = Self.goodLayer.replacingOccurrences(of: "\"SA\"", with: "\"DSC\"")
            .replacingOccurrences(of: "\"SDP\"", with: "\"5\"")
        assertError(Self.row(id: 34, layers: [dscString]),
                    #"bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers[0].operation_parameter: expected a positive integer kernel size for DSC, got "5""#)
    }

    func testUnknownOperationType() {
        let bad = Self.goodLayer.replacingOccurrences(of: "\"SA\"", with: "\"RNN\"")
        assertError(Self.row(id: 34, layers: [Self.goodLayer, bad]),
                    #"bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers[1].operation_type: expected SA, LT or DSC, got "RNN""#)
    }

    func testMissingFields() {
        assertError(Self.row(id: 34).replacingOccurrences(of: "\"hidden_size\": 128, ", with: ""),
                    "bench.json: row 17 (id 34): hparams.model_hparam_overrides.hidden_size: missing")
        let noHeads = Self.goodLayer.replacingOccurrences(of: "\"num_operation_heads\": 2, ", with: "")
        assertError(Self.row(id: 34, layers: [noHeads]),
                    "bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers[0].num_operation_heads: missing")
        assertError(Self.row(id: 34).replacingOccurrences(of: "\"rte\": 60.0, ", with: ""),
                    "bench.json: row 17 (id 34): scores.rte: missing")
        assertError(Self.row(id: 34).replacingOccurrences(of: "\"id\": 34, ", with: ""),
                    "bench.json: row 17: id: missing")
        assertError(Self.row(id: 34, layers: []),
                    "bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers: no layers")
    }

    func testWrongTypesAndValues() {
        let stringHeads = Self.goodLayer.replacingOccurrences(of: "\"num_operation_heads\": 2", with: "\"num_operation_heads\": \"2\"")
        assertError(Self.row(id: 34, layers: [stringHeads]),
                    #"bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers[0].num_operation_heads: expected an integer, got "2""#)
        assertError(Self.row(id: 34, hidden: "128.5"),
                    "bench.json: row 17 (id 34): hparams.model_hparam_overrides.hidden_size: expected an integer, got 128.5")
        assertError(Self.row(id: 34, hidden: "0"),
                    "bench.json: row 17 (id 34): hparams.model_hparam_overrides.hidden_size: expected a positive integer, got 0")
        assertError(Self.row(id: 34).replacingOccurrences(of: "\"cola\": 60.0", with: "\"cola\": null"),
                    "bench.json: row 17 (id 34): scores.cola: expected a number, got null")
        assertError(Self.row(id: 34).replacingOccurrences(of: "\"glue\": 60.0", with: "\"glue\": 70.0"),
                    "bench.json: row 17 (id 34): scores.glue: 70.0 is not the mean of the 8 task scores (60.0)")
        assertError(Self.row(id: 34).replacingOccurrences(of: "\"id\": 34", with: "\"id\": \"34\""),
                    #"bench.json: row 17: id: expected a non-negative integer, got "34""#)
        assertError(Self.row(id: 32), "bench.json: row 17 (id 32): id: duplicate id (also row 16)")
        assertError("[1, 2]", "bench.json: row 17: expected an object, got an array")
        assertError(Self.row(id: 34).replacingOccurrences(of: "{\"encoder_layers\": [", with: "{\"encoder_layers\": {\"a\": [")
                        .replacingOccurrences(of: "]}}}}", with: "]}}}}}"),
                    "bench.json: row 17 (id 34): hparams.model_hparam_overrides.nas_config.encoder_layers: expected an array, got an object")
    }

    func testFileLevelErrors() {
        XCTAssertThrowsError(try FlexiBERTBenchmark.parse(Data("{}".utf8), file: "f.json")) {
            XCTAssertEqual("\($0)", "f.json: expected a JSON array of rows, got an object")
        }
        XCTAssertThrowsError(try FlexiBERTBenchmark.parse(Data("[]".utf8), file: "f.json")) {
            XCTAssertEqual("\($0)", "f.json: no rows")
        }
        XCTAssertThrowsError(try FlexiBERTBenchmark.parse(Data("[{\"id\": 1,}]".utf8), file: "f.json")) {
            XCTAssertTrue("\($0)".hasPrefix("f.json: invalid JSON: "), "\($0)")
        }
        XCTAssertThrowsError(try FlexiBERTBenchmark.load(from: URL(fileURLWithPath: "/nonexistent/bench.json"))) {
            XCTAssertTrue("\($0)".hasPrefix("/nonexistent/bench.json: cannot read"), "\($0)")
        }
    }
}
