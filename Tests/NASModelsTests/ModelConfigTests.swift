import Foundation
import XCTest
@testable import NASModels

final class ModelConfigTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftnas-config-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    private func file(_ text: String, name: String = "config.json") throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Reading `text` fails with an error matching `matches` whose message names the file and `key`.
    private func assertRejects(_ text: String, key: String?, file: StaticString = #filePath, line: UInt = #line,
                               _ matches: (ModelConfigError) -> Bool) throws {
        let url = try self.file(text)
        do {
            let config = try ModelConfig(contentsOf: url)
            XCTFail("accepted a bad config: \(config)", file: file, line: line)
        } catch let error as ModelConfigError {
            XCTAssertTrue(matches(error), "wrong error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path), "message does not name the file: \(error)",
                          file: file, line: line)
            XCTAssertEqual(error.localizedDescription, error.description, file: file, line: line)
            if let key {
                XCTAssertTrue(error.description.contains("\"\(key)\""), "message does not name the key: \(error)",
                              file: file, line: line)
                XCTAssertEqual(error.key, key, file: file, line: line)
            }
        }
    }

    private struct LayerSpec: Codable, Equatable { var heads: Int; var ffn: Int; var eps: Double }

    // MARK: - Round trips

    func testBertRoundTrip() throws {
        let layers = [LayerSpec(heads: 4, ffn: 512, eps: 1e-12), LayerSpec(heads: 8, ffn: 1024, eps: 0.5)]
        let bert = BertConfig(vocabSize: 30522, hiddenSize: 256, numHiddenLayers: 2, numAttentionHeads: 4,
                              intermediateSize: 1024, hiddenAct: "relu", maxPositionEmbeddings: 128,
                              typeVocabSize: 1, layerNormEps: 1e-7, hiddenDropoutProb: 0.05,
                              attentionProbsDropoutProb: 0, initializerRange: 0.037, padTokenId: nil,
                              architectures: ["BertForMaskedLM"],
                              swiftnasArchitecture: try JSONValue(encoding: layers))
        let url = dir.appendingPathComponent("config.json")
        try ModelConfig.bert(bert).write(to: url)
        let back = try ModelConfig(contentsOf: url)
        XCTAssertEqual(back, .bert(bert))
        XCTAssertEqual(try back.swiftnasArchitecture?.decode([LayerSpec].self), layers)
        XCTAssertEqual(back.family, .bert)
        XCTAssertEqual(back.hiddenSize, 256)
        XCTAssertEqual(back.intermediateSize, 1024)
        XCTAssertEqual(back.activation, "relu")

        // HF key names, readable JSON; nothing else left in the folder.
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"model_type\": \"bert\""), text)
        XCTAssertTrue(text.contains("\"num_hidden_layers\": 2"), text)
        XCTAssertTrue(text.contains("\"pad_token_id\": null"), text)
        XCTAssertTrue(text.contains("\"swiftnas_architecture\": ["), text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["config.json"])
        // Deterministic output.
        let again = dir.appendingPathComponent("again.json")
        try back.write(to: again)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: again))
    }

    func testGPT2RoundTrip() throws {
        for inner in [nil, 3000] as [Int?] {
            let gpt = GPT2Config(vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, nInner: inner,
                                 activationFunction: "gelu_new", layerNormEpsilon: 1e-5, residPdrop: 0.1,
                                 embdPdrop: 0.2, attnPdrop: 0.3, initializerRange: 0.02,
                                 architectures: ["GPT2LMHeadModel"])
            let url = dir.appendingPathComponent("gpt2-\(inner ?? 0).json")
            try ModelConfig.gpt2(gpt).write(to: url)
            let back = try ModelConfig(contentsOf: url)
            XCTAssertEqual(back, .gpt2(gpt))
            XCTAssertEqual(back.intermediateSize, inner ?? 3072)
            XCTAssertEqual(back.numLayers, 12)
            XCTAssertEqual(back.maxPositions, 1024)
        }
    }

    func testDefaultsAndUnknownKeys() throws {
        let url = try file("""
            {"model_type": "bert", "vocab_size": 100, "hidden_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 128, "transformers_version": "4.8.2",
             "_name_or_path": "x", "gradient_checkpointing": false, "hidden_dropout_prob": 0}
            """)
        guard case .bert(let c) = try ModelConfig(contentsOf: url) else { return XCTFail("not bert") }
        XCTAssertEqual(c.hiddenAct, "gelu")
        XCTAssertEqual(c.maxPositionEmbeddings, 512)
        XCTAssertEqual(c.typeVocabSize, 2)
        XCTAssertEqual(c.layerNormEps, 1e-12)
        XCTAssertEqual(c.hiddenDropoutProb, 0)  // an integer is accepted where a number is expected
        XCTAssertEqual(c.padTokenId, 0)
        XCTAssertNil(c.architectures)
        XCTAssertNil(c.swiftnasArchitecture)

        let gpt = try ModelConfig(data: Data("""
            {"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12,
             "n_head": 12, "n_inner": null, "bos_token_id": 50256, "n_ctx": 1024}
            """.utf8))
        guard case .gpt2(let g) = gpt else { return XCTFail("not gpt2") }
        XCTAssertNil(g.nInner)
        XCTAssertEqual(g.innerSize, 3072)
        XCTAssertEqual(g.activationFunction, "gelu_new")
        XCTAssertEqual(g.layerNormEpsilon, 1e-5)
    }

    // MARK: - Errors

    func testMissingKeys() throws {
        try assertRejects("""
            {"model_type": "bert", "vocab_size": 100, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 128}
            """, key: "hidden_size") { if case .missingKey(_, "hidden_size") = $0 { return true }; return false }
        try assertRejects("""
            {"model_type": "gpt2", "vocab_size": 100, "n_positions": 64, "n_embd": 32, "n_layer": 2}
            """, key: "n_head") { if case .missingKey(_, "n_head") = $0 { return true }; return false }
        try assertRejects(#"{"hidden_size": 4}"#, key: "model_type") {
            if case .missingKey(_, "model_type") = $0 { return true }; return false
        }
    }

    func testWrongTypes() throws {
        let base = #""model_type": "bert", "vocab_size": 100, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128"#
        try assertRejects("{\(base), \"hidden_size\": \"384\"}", key: "hidden_size") {
            if case .wrongType(_, "hidden_size", "an integer", "string") = $0 { return true }; return false
        }
        try assertRejects("{\(base), \"hidden_size\": 384.5}", key: "hidden_size") {
            if case .wrongType(_, "hidden_size", "an integer", "number") = $0 { return true }; return false
        }
        try assertRejects("{\(base), \"hidden_size\": 64, \"layer_norm_eps\": \"small\"}", key: "layer_norm_eps") {
            if case .wrongType(_, "layer_norm_eps", "a number", "string") = $0 { return true }; return false
        }
        try assertRejects("{\(base), \"hidden_size\": 64, \"architectures\": [\"A\", 3]}", key: "architectures") {
            if case .wrongType(_, "architectures", _, "integer") = $0 { return true }; return false
        }
        try assertRejects("{\(base), \"hidden_size\": 64, \"hidden_act\": null}", key: "hidden_act") {
            if case .wrongType(_, "hidden_act", "a string", "null") = $0 { return true }; return false
        }
        try assertRejects(#"{"model_type": 5}"#, key: "model_type") {
            if case .wrongType(_, "model_type", "a string", "integer") = $0 { return true }; return false
        }
        XCTAssertTrue(ModelConfigError.wrongType(path: "p", key: "k", expected: "an integer", found: "string")
            .description.contains("expected an integer"))
    }

    func testInvalidValuesAndDocuments() throws {
        try assertRejects(#"{"model_type": "t5", "d_model": 512}"#, key: "model_type") {
            if case .unsupportedModelType(_, "t5") = $0 { return true }; return false
        }
        try assertRejects("""
            {"model_type": "gpt2", "vocab_size": 100, "n_positions": 64, "n_embd": 32, "n_layer": 0, "n_head": 2}
            """, key: "n_layer") { if case .invalidValue(_, "n_layer", _) = $0 { return true }; return false }
        try assertRejects("""
            {"model_type": "gpt2", "vocab_size": 100, "n_positions": 64, "n_embd": 32, "n_layer": 1, "n_head": 2,
             "attn_pdrop": 1.5}
            """, key: "attn_pdrop") { if case .invalidValue(_, "attn_pdrop", _) = $0 { return true }; return false }
        try assertRejects("[1, 2]", key: nil) { if case .notAnObject(_, "array") = $0 { return true }; return false }
        try assertRejects("{\"model_type\": ", key: nil) { if case .invalidJSON = $0 { return true }; return false }
        try assertRejects(#"{"model_type": "bert", "model_type": "gpt2"}"#, key: nil) {
            if case .invalidJSON = $0 { return true }; return false
        }
        let missing = dir.appendingPathComponent("absent.json")
        XCTAssertThrowsError(try ModelConfig(contentsOf: missing)) { error in
            guard case .cannotRead(missing.path, _)? = error as? ModelConfigError else { return XCTFail("\(error)") }
        }
        // Writing refuses what reading would refuse, and leaves nothing behind.
        let bad = ModelConfig.bert(BertConfig(vocabSize: 10, hiddenSize: -1, numHiddenLayers: 1,
                                              numAttentionHeads: 1, intermediateSize: 4))
        XCTAssertThrowsError(try bad.write(to: dir.appendingPathComponent("bad.json"))) { error in
            XCTAssertEqual((error as? ModelConfigError)?.key, "hidden_size")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.json").path))
    }

    func testJSONValueParsing() throws {
        let v = try JSONValue(parsing: #" {"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00\n"], "b": {}} "#)
        XCTAssertEqual(v, .object(["a": .array([.int(1), .double(-2500), .bool(true), .null, .string("xé😀\n")]),
                                   "b": .object([:])]))
        XCTAssertEqual(try JSONValue(parsing: v.serialized(pretty: true)), v)
        XCTAssertEqual(try JSONValue(parsing: v.serialized(pretty: false)), v)
        for bad in ["", "01", "1.", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "tru", "\"a\u{01}\"", "1e999", "nul"] {
            XCTAssertThrowsError(try JSONValue(parsing: bad), bad)
        }
        XCTAssertThrowsError(try JSONValue.double(.nan).serialized())
        XCTAssertEqual(try JSONValue(parsing: "9223372036854775807"), .int(Int.max))
        XCTAssertEqual(try JSONValue(parsing: "9223372036854775808"), .double(9223372036854775808))
    }

    // MARK: - The real teacher

    func testRealMiniLMConfig() throws {
        guard let teacher = SafeTensorsTests.teacherDirectory(),
              FileManager.default.fileExists(atPath: teacher.appendingPathComponent("config.json").path) else {
            throw XCTSkip("MiniLM teacher not installed (set SWIFTNAS_TEACHER_DIR or run `make teacher`); "
                          + "skipping the real config.json check")
        }
        let config = try ModelConfig(contentsOf: teacher.appendingPathComponent("config.json"))
        XCTAssertEqual(config.family, .bert)
        XCTAssertEqual(config.hiddenSize, 384)
        XCTAssertEqual(config.numLayers, 6)
        XCTAssertEqual(config.numHeads, 12)
        XCTAssertEqual(config.intermediateSize, 1536)
        XCTAssertEqual(config.vocabSize, 30522)
        XCTAssertEqual(config.maxPositions, 512)
        XCTAssertEqual(config.layerNormEps, 1e-12)
        XCTAssertEqual(config.activation, "gelu")
        guard case .bert(let bert) = config else { return XCTFail("not bert") }
        XCTAssertEqual(bert.architectures, ["BertModel"])
        // Re-written and re-read, it is the same config.
        let url = dir.appendingPathComponent("config.json")
        try config.write(to: url)
        XCTAssertEqual(try ModelConfig(contentsOf: url), config)
    }
}
