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
    /// A small decoder checkpoint and a text to score it on.
    func decoderAndText() throws -> (model: URL, corpus: URL) {
        let vocab = try CLIProcess.write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (0..<35).map { "w\($0)" }).joined(separator: "\n") + "\n",
                                         "vocab.txt", in: folder)
        let model = folder.appendingPathComponent("decoder")
        try Checkpoint.save(Transformer(.uniform(.decoder, vocabSize: 40, maxPositions: 16, hidden: 32, depth: 2, heads: 2, ffn: 64), seed: 2),
                            vocabulary: vocab, to: model)
        let corpus = try CLIProcess.write((0..<200).map { "w\(($0 * 7) % 35)" }.joined(separator: " ") + "\n", "text.txt", in: folder)
        return (model, corpus)
    }

    /// `evaluate --weight-bits`: simulated low-bit weights (and 8-bit inputs) on a decoder's text perplexity — close to
    /// fp32 at 8 bits, further at 2, PowerQuant's exponents reported per layer; a bad width and an int8 copy refused.
    func testEvaluateSimulatesLowBitWeights() throws {
        let (model, corpus) = try decoderAndText()
        func perplexity(_ extra: [String]) throws -> (Double, [String: JSONValue]) {
            let json = folder.appendingPathComponent("eval.json")
            let (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", model.path, "--corpus", corpus.path, "--sequence-length", "8",
                                                       "--json", json.path] + extra)
            XCTAssertEqual(status, 0, output)
            guard case .object(let o) = try JSONValue(parsing: try Data(contentsOf: json)), case .double(let p)? = o["perplexity"] else {
                XCTFail(output); return (.nan, [:])
            }
            return (p, o)
        }
        let (fp32, _) = try perplexity([])
        let (eight, _) = try perplexity(["--weight-bits", "8"])
        let (two, figures) = try perplexity(["--weight-bits", "2", "--weight-grid", "power"])
        XCTAssertEqual(eight, fp32, accuracy: 0.02 * fp32)
        XCTAssertGreaterThan(abs(two - fp32), abs(eight - fp32))
        guard case .array(let alphas)? = figures["alphas"] else { return XCTFail("\(figures)") }
        XCTAssertEqual(alphas.count, 12)
        var (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", model.path, "--corpus", corpus.path, "--weight-bits", "9"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("bit width 2…8"), output)
        (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", model.path, "--corpus", corpus.path, "--weight-grid", "power"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("give --weight-bits too"), output)
        let int8 = folder.appendingPathComponent("int8")
        (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--weights", "int8", "--out", int8.path])
        XCTAssertEqual(status, 0, output)
        (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", int8.path, "--corpus", corpus.path, "--weight-bits", "4"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("already quantized"), output)
    }

    /// `quantize apply --weight-bits B | --bits-from FILE`: the compressed model as a file, smaller than int8's, that
    /// `evaluate` runs close to the simulation of the same bits; mixed bits from a search result; bad files refused.
    func testQuantizeApplyWritesLowBitModels() throws {
        let (model, corpus) = try decoderAndText()
        func perplexity(_ checkpoint: URL, _ extra: [String] = []) throws -> Double {
            let json = folder.appendingPathComponent("eval.json")
            let (status, output) = try CLIProcess.run(["evaluate", "--checkpoint", checkpoint.path, "--corpus", corpus.path, "--sequence-length", "8",
                                                       "--json", json.path] + extra)
            XCTAssertEqual(status, 0, output)
            guard case .object(let o) = try JSONValue(parsing: try Data(contentsOf: json)), case .double(let p)? = o["perplexity"] else { return .nan }
            return p
        }
        func size(_ dir: URL) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("model.safetensors").path)[.size] as! Int
        }
        let (int8, three, mixed) = (folder.appendingPathComponent("int8"), folder.appendingPathComponent("w3"), folder.appendingPathComponent("mixed"))
        var (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--weights", "int8", "--out", int8.path])
        XCTAssertEqual(status, 0, output)
        (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--weight-bits", "3", "--out", three.path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("12 Linear layers to 3.000 bits per weight and 2 embedding tables to int8"), output)
        XCTAssertLessThan(try size(three), try size(int8))
        let simulated = try perplexity(model, ["--weight-bits", "3"]), stored = try perplexity(three)
        XCTAssertNotEqual(stored, try perplexity(model), "3 bits change the model")
        XCTAssertEqual(stored, simulated, accuracy: 0.02 * simulated, "the file runs what was simulated")
        let power = folder.appendingPathComponent("w3-power")
        (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--weight-bits", "3", "--weight-grid", "power",
                                               "--out", power.path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("PowerQuant") || output.contains("power grid"), output)
        let powerSimulated = try perplexity(model, ["--weight-bits", "3", "--weight-grid", "power"])
        XCTAssertEqual(try perplexity(power), powerSimulated, accuracy: 0.02 * powerSimulated, "the power-grid file runs its simulation")
        XCTAssertLessThan(try size(power), try size(int8), "3-bit codes")

        let units = (0..<2).flatMap { i in ["Q", "K", "V", "O", "FFN1", "FFN2"].map { "layer\(i).\($0)" } }
        var files = 0
        func configuration(_ units: [String], _ bits: [Int]) throws -> URL {
            let json: JSONValue = .object(["units": .array(units.map { .string($0) }), "bits": .array(bits.map { .int($0) }), "accuracy": .double(0.5)])
            files += 1
            return try CLIProcess.write(try json.serialized(pretty: true), "bits-\(files).json", in: folder)
        }
        (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--bits-from",
                                               try configuration(units, Array(repeating: [2, 4], count: 6).flatMap { $0 }).path, "--out", mixed.path])
        XCTAssertEqual(status, 0, output)
        let file = try SafeTensorsFile(contentsOf: mixed.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try file.withRawBytes("h.0.attn.q_proj.weight_bits") { $0[0] }, 2, file.names.joined(separator: " "))
        XCTAssertEqual(try file.withRawBytes("h.0.attn.k_proj.weight_bits") { $0[0] }, 4)
        XCTAssertTrue(try perplexity(mixed).isFinite)

        for (bad, message) in [(try configuration(Array(units.dropLast()), Array(repeating: 3, count: 11)), "field 'units' names 11 units, expected this model's 12"),
                               (try configuration(units, Array(repeating: 3, count: 11)), "field 'bits' has 11 values"),
                               (try configuration(units, [9] + Array(repeating: 3, count: 11)), "field 'bits[0]' is 9, expected a bit width 2…8")] {
            (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--bits-from", bad.path,
                                                   "--out", folder.appendingPathComponent("bad").path])
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(output.contains(message), output)
        }
        for (options, message) in [(["--weights", "int8", "--weight-bits", "3"], "give one of --weights, --weight-bits and --bits-from"),
                                   (["--weight-bits", "3", "--activation-bits", "4"], "a written model's Linears take 8-bit inputs"),
                                   (["--bits-from", units.first ?? "", "--weight-grid", "power"], "give --weight-bits too")] {
            (status, output) = try CLIProcess.run(["quantize", "apply", "--checkpoint", model.path, "--out", folder.appendingPathComponent("bad").path] + options)
            XCTAssertEqual(status, 64, output)
            XCTAssertTrue(output.contains(message), output)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad").path))
    }
}
