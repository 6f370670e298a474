import Foundation
import XCTest
import NASModels
import NASTensor

/// `swiftnas quantize apply` as a process: the copy is read by the other commands, a quantized source and
/// an existing output are refused, the source is left unchanged.
final class QuantizeCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("quantize-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testQuantizeApplyWritesACheckpointTheOtherCommandsRead() throws {
        let source = folder.appendingPathComponent("model")
        let vocab = try CLIProcess.write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (0..<35).map { "w\($0)" }).joined(separator: "\n") + "\n",
                                         "vocab.txt", in: folder)
        try Checkpoint.save(Transformer(.uniform(.encoder, vocabSize: 40, maxPositions: 16, hidden: 32, depth: 2, heads: 2, ffn: 64), seed: 1),
                            vocabulary: vocab, to: source)
        let weightsBefore = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        for format in ["int8", "bf16"] {
            let out = folder.appendingPathComponent(format)
            var (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", source.path, "--weights", format, "--out", out.path])
            XCTAssertEqual(status, 0, output)
            XCTAssertTrue(output.contains("quantized 12 Linear layers to \(format)"), output)
            let config = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
            XCTAssertTrue(config.contains("\"swiftnas_quantization\"") && config.contains("\"weights\": \"\(format)\""), config)
            (status, output) = try CLIProcess.run(["embed", "--checkpoint", out.path, "--max-length", "16", "w1 w2 w3", "w3 w2"])
            XCTAssertEqual(status, 0, output)
            (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", out.path, "--weights", "int8",
                                                   "--out", folder.appendingPathComponent("twice").path])
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(output.contains("already quantized"), output)
            (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", source.path, "--weights", format, "--out", out.path])
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(output.contains("already exists"), output)
        }
        var (status, output) = try CLIProcess.run(["export", "--checkpoint", folder.appendingPathComponent("int8").path, "--to", "hf",
                                                   folder.appendingPathComponent("hf").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("stored as int8"), output)
        (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", source.path, "--weights", "int4", "--out",
                                               folder.appendingPathComponent("x").path])
        XCTAssertEqual(status, 64, output)
        XCTAssertEqual(try Data(contentsOf: source.appendingPathComponent("model.safetensors")), weightsBefore, "the source is unchanged")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("twice").path))
    }
}
