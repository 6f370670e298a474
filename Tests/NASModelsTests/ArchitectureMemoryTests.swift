import Foundation
import XCTest
import NASTensor
@testable import NASModels

/// The memory rule on models: sizes that cannot be counted saturate instead of trapping, the estimate
/// follows its formula, and too-large models are refused before anything is allocated, by field.
final class ArchitectureMemoryTests: XCTestCase {
    private let tiny = Architecture(family: .encoder, vocabSize: 10, maxPositions: 4, typeVocabSize: 0, hidden: 2,
                                    layers: [.init(heads: 1, qkv: 2, ffn: 4)])

    private func withLimit(_ bytes: Int, _ body: () throws -> Void) rethrows {
        let saved = MemoryBudget.limit
        defer { MemoryBudget.limit = saved }
        MemoryBudget.limit = bytes
        try body()
    }

    func testAbsurdSizesSaturateInsteadOfTrapping() {
        var arch = tiny
        arch.hidden = .max
        XCTAssertEqual(arch.parameterCount, .max)
        XCTAssertEqual(arch.nonEmbeddingParameterCount, .max)
        XCTAssertEqual(tiny.flops(sequenceLength: .max), .max)
        XCTAssertTrue(arch.memoryEstimate(batch: 32, sequenceLength: 128, training: true).isSaturated)
        XCTAssertThrowsError(try arch.validate()) { error in
            XCTAssertEqual((error as? Architecture.Invalid)?.field, "hidden")
        }
    }

    func testEstimateFollowsItsFormula() {
        // P by hand: embeddings (10 + 4 + 0)·2 + LayerNorm 4 = 32; SDP 3(2·2 + 2) + 2·2 + 2 = 24;
        // two LayerNorms 8; FFN 2·4 + 4 + 4·2 + 2 = 22 → 86.
        XCTAssertEqual(tiny.parameterCount, 86)
        XCTAssertEqual(tiny.memoryEstimate().value, 4 * 86 + 49152)
        // Training at B = 2, T = 3 with 10 outputs: 16P + objects + 4·6·(10·2 + 6·2 + 3·4) + 12·(2·1·3·3) + 4·6·10·3.
        XCTAssertEqual(tiny.memoryEstimate(batch: 2, sequenceLength: 3, outputs: 10, training: true).value,
                       16 * 86 + 49152 + 1056 + 216 + 720)
        // Inference holds one layer: 4·6·(4·2 + 3·2 + 2·4) + 8·(2·1·9) + 4·6·10.
        XCTAssertEqual(tiny.memoryEstimate(batch: 2, sequenceLength: 3, outputs: 10).value,
                       4 * 86 + 49152 + 528 + 144 + 240)
    }

    func testTooLargeModelIsRefusedByItsLargestField() throws {
        var arch = tiny
        arch.layers[0].ffn = 1_000_000
        try withLimit(1 << 20) {
            XCTAssertThrowsError(try arch.validate()) { error in
                let invalid = error as? Architecture.Invalid
                XCTAssertEqual(invalid?.field, "layers[0].ffn")
                XCTAssertTrue(invalid?.message.contains("1000000 is too large") ?? false, "\(error)")
                XCTAssertTrue(invalid?.message.contains("memory limit of 1.0 MiB") ?? false, "\(error)")
            }
            XCTAssertNoThrow(try tiny.validate())
            XCTAssertThrowsError(try tiny.requireMemory(batch: 4096, sequenceLength: 4, outputs: 10, training: true, source: "arch.json")) {
                XCTAssertTrue("\($0)".hasPrefix("arch.json: the model (86 parameters; field 'vocabSize' = 10) for training on batches of 4096 × 4 tokens"), "\($0)")
            }
        }
    }

    func testLayerNormEpsilonMustBePositive() {
        for eps: Float in [0, -1, .nan, .infinity] {
            var arch = tiny
            arch.layerNormEps = eps
            XCTAssertThrowsError(try arch.validate(), "\(eps)") { XCTAssertEqual(($0 as? Architecture.Invalid)?.field, "layerNormEps") }
        }
    }

    func testHuggingFaceConfigIsSizedBeforeItsLayersAreBuilt() throws {
        func config(layers: String, ffn: String) throws -> ModelConfig {
            try ModelConfig(data: Data("""
                {"model_type": "bert", "vocab_size": 100, "hidden_size": 8, "num_hidden_layers": \(layers),
                 "num_attention_heads": 2, "intermediate_size": \(ffn), "max_position_embeddings": 16}
                """.utf8), path: "config.json")
        }
        // 2^62 layers: refused from the number, before an array of that many layers is made.
        XCTAssertThrowsError(try Checkpoint.architecture(of: try config(layers: "4611686018427387904", ffn: "32"), path: "config.json")) {
            XCTAssertTrue("\($0)".contains("config.json: key \"num_hidden_layers\" = 4611686018427387904 would need more memory"), "\($0)")
        }
        XCTAssertThrowsError(try Checkpoint.architecture(of: try config(layers: "2", ffn: "1000000000000"), path: "config.json")) {
            XCTAssertTrue("\($0)".contains("key \"intermediate_size\": 1000000000000 is too large"), "\($0)")
        }
        XCTAssertEqual(try Checkpoint.architecture(of: try config(layers: "2", ffn: "32"), path: "config.json").depth, 2)
    }
}
