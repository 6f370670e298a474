import Foundation
import XCTest
import NASModels
import NASTensor

/// `mpirun -np 2 swiftnas pretrain|supernet train …` against the same command on one process: two ranks
/// on half a batch each equal one rank on the whole batch — the step's losses and gradient norms, and the
/// weights after several steps — within a float-summation tolerance (the gradient sums are added in
/// another order), with dropout on and masked-LM targets that differ per shard; a plain step (pretrain)
/// and a sandwich step (supernet train, four sub-networks per step). An interrupted two-rank run resumed
/// on two ranks ends bit for bit where the uninterrupted one does. Skipped, saying so, without `mpirun`.
final class DataParallelCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ text: String, _ name: String) throws -> URL { try CLIProcess.write(text, name, in: folder) }

    /// A WordPiece vocabulary of the test corpus's words.
    func vocabulary() throws -> URL {
        let words = ["the", "king", "speaks", "to", "a", "quiet", "river", "and", "night", "falls", "over", "old", "town", "."]
        return try write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).joined(separator: "\n") + "\n", "vocab.txt")
    }

    /// The log's lines by step.
    func log(_ run: URL) throws -> [[String: Double]] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
            guard case .object(let o) = try JSONValue(parsing: String(line)) else { return [:] }
            return o.compactMapValues { value -> Double? in
                switch value { case .int(let i): return Double(i); case .double(let d): return d; default: return nil }
            }
        }
    }

    /// One process and two ranks ran the same steps: equal logs (the keys, and every loss, metric and
    /// gradient norm within `tolerance` relative, `absolute` for values near 0) and equal weights (within 1e-5).
    func assertEqualRuns(_ one: URL, _ two: URL, checkpoint: String, keys: [String], tolerance: Double = 1e-5,
                         absolute: Double = 1e-6, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try log(one), b = try log(two)
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(Set(x.keys), Set(y.keys), file: file, line: line)
            for key in keys {
                guard let u = x[key], let v = y[key] else { XCTFail("step \(x["step"] ?? -1): no \(key)", file: file, line: line); continue }
                XCTAssertEqual(u, v, accuracy: max(absolute, tolerance * abs(u)), "step \(x["step"] ?? -1): \(key)", file: file, line: line)
            }
        }
        let wa = try SafeTensorsFile(contentsOf: one.appendingPathComponent("\(checkpoint)/model.safetensors"))
        let wb = try SafeTensorsFile(contentsOf: two.appendingPathComponent("\(checkpoint)/model.safetensors"))
        XCTAssertEqual(wa.names, wb.names, file: file, line: line)
        for name in wa.names {
            let u = try wa.tensor(name).scalars, v = try wb.tensor(name).scalars
            let gap = zip(u, v).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(gap, 1e-5, "\(name)", file: file, line: line)
        }
    }

    /// Both runs really ran: the two-rank one on two ranks, with one progress line and closing note (rank 0's).
    func assertRan(_ one: (Int32, String), _ two: (Int32, String), file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(one.0, 0, one.1, file: file, line: line)
        XCTAssertEqual(two.0, 0, two.1, file: file, line: line)
        XCTAssertFalse(one.1.contains("data-parallel"), one.1, file: file, line: line)
        XCTAssertTrue(two.1.contains("data-parallel over 2 ranks"), two.1, file: file, line: line)
        XCTAssertEqual(two.1.components(separatedBy: "checkpoint →").count, 2, "only rank 0 prints: \(two.1)", file: file, line: line)
    }

    func testTwoRanksOnHalfBatchesEqualOneRankOnAPlainStep() throws {
        let corpus = try CLIProcess.corpus(in: folder), vocab = try vocabulary()
        let arch = try write("""
            {"family": "encoder", "vocabSize": 19, "maxPositions": 32, "hidden": 32,
             "layers": [{"heads": 2, "qkv": 32, "ffn": 64}, {"heads": 4, "qkv": 32, "ffn": 48}]}
            """, "bert.json")
        let arguments = { (out: URL) in
            ["pretrain", "--arch", arch.path, "--corpus", corpus.path, "--tokenizer", vocab.path, "--out", out.path, "--steps", "6",
             "--warmup", "1", "--batch-size", "5", "--sequence-length", "16", "--dropout", "0.1", "--log-every", "1", "--threads", "1",
             "--seed", "7"]   // shards of 2 and 3 rows
        }
        let one = folder.appendingPathComponent("one"), two = folder.appendingPathComponent("two")
        let single = try CLIProcess.run(arguments(one))
        let double = try CLIProcess.runMPI(ranks: 2, arguments(two))
        assertRan(single, double)
        try assertEqualRuns(one, two, checkpoint: "checkpoint-6", keys: ["loss", "mlm", "grad_norm"])
    }

    func testTwoRanksOnHalfBatchesEqualOneRankOnASandwichStep() throws {
        let corpus = try CLIProcess.corpus(in: folder), vocab = try vocabulary()
        let space = try write("""
            {"name": "tiny-bert", "family": "encoder", "vocabSize": 19, "maxPositions": 32, "depth": [1, 2],
             "hidden": [16, 32], "layers": "per-layer", "heads": [1, 2], "ffn": {"min": 16, "max": 64, "step": 16}}
            """, "space.json")
        let arguments = { (out: URL) in
            ["supernet", "train", "--space", space.path, "--rule", "sandwich", "--random-count", "2", "--corpus", corpus.path,
             "--tokenizer", vocab.path, "--out", out.path, "--steps", "5", "--warmup", "1", "--batch-size", "6",
             "--sequence-length", "16", "--log-every", "1", "--threads", "1", "--seed", "3"]
        }
        let one = folder.appendingPathComponent("one"), two = folder.appendingPathComponent("two")
        let single = try CLIProcess.run(arguments(one))
        let double = try CLIProcess.runMPI(ranks: 2, arguments(two))
        assertRan(single, double)
        // The distillation losses are small differences of near-equal distributions: compared absolutely.
        try assertEqualRuns(one, two, checkpoint: "checkpoint-5",
                            keys: ["loss", "lm", "grad_norm", "kd_smallest", "kd_2", "kd_3", "params_0", "params_1", "params_2", "params_3"])
    }

    func testAnInterruptedTwoRankRunResumesOnTwoRanksBitForBit() throws {
        let corpus = try CLIProcess.corpus(in: folder)
        let arch = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 32,
             "layers": [{"heads": 2, "qkv": 32, "ffn": 64}, {"heads": 2, "qkv": 32, "ffn": 64}]}
            """, "gpt.json")
        let arguments = { (out: URL) in
            ["pretrain", "--arch", arch.path, "--corpus", corpus.path, "--tokenizer", "char", "--out", out.path, "--steps", "6",
             "--warmup", "1", "--batch-size", "4", "--sequence-length", "24", "--log-every", "1", "--threads", "1", "--seed", "5"]
        }
        let whole = folder.appendingPathComponent("whole"), part = folder.appendingPathComponent("part")
        var (status, output) = try CLIProcess.runMPI(ranks: 2, arguments(whole))
        XCTAssertEqual(status, 0, output)
        // A budget of 6 ms stops both ranks together after the first step, with rank 0's checkpoint.
        (status, output) = try CLIProcess.runMPI(ranks: 2, arguments(part) + ["--time-budget", "0.0001"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("time budget reached at step"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: part.appendingPathComponent("checkpoint-6").path))
        (status, output) = try CLIProcess.runMPI(ranks: 2, arguments(part) + ["--resume"])
        XCTAssertEqual(status, 0, output)
        let a = try SafeTensorsFile(contentsOf: whole.appendingPathComponent("checkpoint-6/model.safetensors"))
        let b = try SafeTensorsFile(contentsOf: part.appendingPathComponent("checkpoint-6/model.safetensors"))
        XCTAssertEqual(a.names, b.names)
        for name in a.names { XCTAssertEqual(try a.tensor(name).scalars, try b.tensor(name).scalars, name) }
        XCTAssertEqual(try log(whole).map { $0["loss"] }, try log(part).map { $0["loss"] }, "the resumed log equals the uninterrupted one")
    }

    func testABatchSmallerThanTheRanksIsRefused() throws {
        let corpus = try CLIProcess.corpus(in: folder)
        let arch = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 16, "layers": [{"heads": 2, "qkv": 16, "ffn": 32}]}
            """, "gpt.json")
        let (status, output) = try CLIProcess.runMPI(ranks: 2, [
            "pretrain", "--arch", arch.path, "--corpus", corpus.path, "--tokenizer", "char", "--out", folder.appendingPathComponent("x").path,
            "--steps", "2", "--warmup", "0", "--batch-size", "1", "--sequence-length", "16", "--threads", "1"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--batch-size 1 is split over 2 data-parallel ranks"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("x/checkpoint-2").path))
    }

    func testFinetuneUnderMPIIsRefused() throws {
        let (status, output) = try CLIProcess.runMPI(ranks: 2, ["finetune", "--arch", "none.json", "--task", "sst-2",
                                                                 "--out", folder.appendingPathComponent("ft").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("finetune does not train data-parallel"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("ft").path))
    }
}
