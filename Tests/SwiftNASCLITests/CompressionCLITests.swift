import Foundation
import XCTest
import NASModels

/// `prune` and `evaluate --weight-grid nupes` as processes on a small fine-tuned model: the structured result is a smaller
/// model that `evaluate` and `model info` read, with the accuracy `prune` reported; bad options, an existing output
/// folder and a quantized model are refused.
final class CompressionCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("compression-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testPruneWritesASmallerModelThatEvaluateReads() throws {
        let (ft, task) = try CLIProcess.fineTunedModel(in: folder)
        let out = folder.appendingPathComponent("pruned").path, json = folder.appendingPathComponent("prune.json")
        let prune = ["prune", "--checkpoint", ft, "--data", task, "--max-length", "16", "--sparsity", "0.5", "--structured",
                     "--search-steps", "3", "--batch-size", "8", "--out", out]
        var (status, output) = try CLIProcess.run(prune + ["--json", json.path])
        XCTAssertEqual(status, 0, output)
        guard case .object(let r) = try JSONValue(parsing: Data(contentsOf: json)), case .double(let accuracy)? = r["accuracy"],
              case .double(let sparsity)? = r["sparsity"], case .object(let arch)? = r["architecture"], case .array(let layers)? = arch["layers"],
              case .array(let losses)? = r["search_loss"] else { return XCTFail("prune JSON: \(output)") }
        XCTAssertEqual(losses.count, 3)
        // 2 heads and 32 neurons per layer, half of each kind pruned by one threshold over both layers, ≥ 1 head per layer.
        XCTAssertEqual(sparsity, 0.5, accuracy: 0.05)
        for case .object(let l) in layers { XCTAssertEqual(l["heads"], .int(1)) }

        (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", out, "--data", task, "--max-length", "16"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains(String(format: "accuracy %.4f", accuracy)), "evaluate reads the pruned model back: \(output)")
        (status, output) = try CLIProcess.run(["model", "info", "--checkpoint", out, "--latency", "--seq", "16"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("ms per sequence of 16 tokens"), output)
        (status, output) = try CLIProcess.run(["model", "info", "--checkpoint", out, "--latency", "--seq", "64"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("exceeds the model's 32 positions"), output)

        (status, output) = try CLIProcess.run(prune)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("already exists"), output)
        (status, output) = try CLIProcess.run(["prune", "--checkpoint", ft, "--sparsity", "1.5"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("(0, 1)"), output)
        let int8 = folder.appendingPathComponent("int8").path
        (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", ft, "--weights", "int8", "--out", int8])
        XCTAssertEqual(status, 0, output)
        (status, output) = try CLIProcess.run(["prune", "--checkpoint", int8, "--data", task, "--sparsity", "0.5"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("already quantized") && output.contains("prune its fp32 source"), output)
    }

    func testNUPESEvaluatesOnATaskOnly() throws {
        let (ft, task) = try CLIProcess.fineTunedModel(in: folder)
        let json = folder.appendingPathComponent("nupes.json")
        var (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", ft, "--data", task, "--max-length", "16", "--weight-bits", "3",
                                                   "--weight-grid", "nupes", "--calibration-examples", "8", "--nupes-steps", "5", "--json", json.path])
        XCTAssertEqual(status, 0, output)
        guard case .object(let r) = try JSONValue(parsing: Data(contentsOf: json)), case .double(let start)? = r["output_error_start"],
              case .double(let end)? = r["output_error"] else { return XCTFail("NUPES figures: \(output)") }
        XCTAssertLessThanOrEqual(end, start, "the fit never raises the calibration error")
        (status, output) = try CLIProcess.run(["quantize", "benchmark", "--checkpoint", ft, "--data", task, "--weight-grid", "nupes",
                                               "--out", folder.appendingPathComponent("b.json").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("mixed precision takes uniform or power"), output)
    }
}
