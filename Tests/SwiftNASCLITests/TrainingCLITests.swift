import Foundation
import XCTest
import NASModels
import NASTensor

/// `swiftnas pretrain`, `finetune` and `evaluate` as processes: Ctrl-C saves a checkpoint and `--resume`
/// continues bit for bit; bad inputs fail with the file, the line or the field, and exit ≠ 0.
final class TrainingCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func start(_ arguments: [String]) throws -> (Process, Pipe) { try CLIProcess.start(arguments) }
    func run(_ arguments: [String]) throws -> (Int32, String) { try CLIProcess.run(arguments) }

    func write(_ text: String, _ name: String) throws -> URL { try CLIProcess.write(text, name, in: folder) }

    /// A 10-word WordPiece vocabulary and a one-layer encoder over it: the GLUE tests' model.
    func tinyEncoder() throws -> (vocab: URL, arch: URL) {
        let vocab = try write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "a", "very"]).joined(separator: "\n") + "\n",
                              "vocab.txt")
        let arch = try write("""
            {"family": "encoder", "vocabSize": 10, "maxPositions": 32, "hidden": 16,
             "layers": [{"heads": 2, "qkv": 16, "ffn": 32}]}
            """, "bert.json")
        return (vocab, arch)
    }

    func pretrainArguments(_ arch: URL, _ corpus: URL, _ out: URL) -> [String] {
        ["pretrain", "--arch", arch.path, "--corpus", corpus.path, "--tokenizer", "char", "--out", out.path, "--steps", "60",
         "--warmup", "5", "--batch-size", "8", "--sequence-length", "32", "--log-every", "1", "--checkpoint-every", "1000",
         "--threads", "1", "--seed", "4"]
    }

    func testCtrlCSavesACheckpointAndResumeIsBitIdentical() throws {
        let corpus = try CLIProcess.corpus(in: folder)
        let arch = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 48,
             "layers": [{"heads": 4, "qkv": 48, "ffn": 96}, {"heads": 4, "qkv": 48, "ffn": 96}]}
            """, "gpt.json")
        let whole = folder.appendingPathComponent("whole"), part = folder.appendingPathComponent("part")
        var (status, output) = try run(pretrainArguments(arch, corpus, whole))
        XCTAssertEqual(status, 0, output)

        let (p, pipe) = try start(pretrainArguments(arch, corpus, part))
        let log = part.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.split(separator: "\n").count >= 10 { break }
            usleep(5_000)
        }
        XCTAssertTrue(p.isRunning, "training ended before the interrupt")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 130, output)
        XCTAssertTrue(output.contains("interrupted at step"), output)
        let latest = try String(contentsOf: part.appendingPathComponent("latest"), encoding: .utf8)
        XCTAssertTrue(latest.hasPrefix("checkpoint-"), latest)
        XCTAssertNotEqual(latest.trimmingCharacters(in: .whitespacesAndNewlines), "checkpoint-60")

        // Without --resume the run is refused; with it, it ends where the uninterrupted run ended.
        (status, output) = try run(pretrainArguments(arch, corpus, part))
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--resume"), output)
        // Resuming with another batch size is refused, naming it.
        (status, output) = try run(pretrainArguments(arch, corpus, part).map { $0 == "8" ? "4" : $0 } + ["--resume"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--batch-size 8, not 4"), output)
        (status, output) = try run(pretrainArguments(arch, corpus, part) + ["--resume"])
        XCTAssertEqual(status, 0, output)
        let a = try SafeTensorsFile(contentsOf: whole.appendingPathComponent("checkpoint-60/model.safetensors"))
        let b = try SafeTensorsFile(contentsOf: part.appendingPathComponent("checkpoint-60/model.safetensors"))
        XCTAssertEqual(a.names, b.names)
        for name in a.names { XCTAssertEqual(try a.tensor(name).scalars, try b.tensor(name).scalars, name) }
        func losses(_ run: URL) throws -> [String] {
            try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                guard case .object(let o) = try JSONValue(parsing: String(line)) else { return "" }
                return "\(o["step"].map { "\($0)" } ?? "") \(o["loss"].map { "\($0)" } ?? "")"
            }
        }
        XCTAssertEqual(try losses(whole), try losses(part), "the log of the resumed run equals the uninterrupted one")

        // Evaluate: validation perplexity of the checkpoint.
        (status, output) = try run(["evaluate", "--checkpoint", part.path, "--corpus", corpus.path, "--sequence-length", "32",
                                    "--max-windows", "20", "--json", folder.appendingPathComponent("ppl.json").path])
        XCTAssertEqual(status, 0, output)
        guard case .object(let figures) = try JSONValue(parsing: Data(contentsOf: folder.appendingPathComponent("ppl.json"))),
              case .double(let ppl)? = figures["perplexity"] else { return XCTFail("no perplexity: \(output)") }
        XCTAssertLessThan(ppl, 22, "trained below the uniform perplexity of the 22-character vocabulary")

        // Validation windows as long as the model's positions (TangleNAS's block size = --sequence-length).
        (status, output) = try run(["pretrain", "--arch", arch.path, "--corpus", corpus.path, "--tokenizer", "char",
                                    "--out", folder.appendingPathComponent("full").path, "--steps", "2", "--warmup", "0",
                                    "--batch-size", "2", "--sequence-length", "64", "--validation", corpus.path, "--eval-windows", "2"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(try String(contentsOf: folder.appendingPathComponent("full/metrics.jsonl"), encoding: .utf8).contains("eval_perplexity"))
    }

    /// `augment search`: every grid point (and the N = 0 baseline) is a finetune run scored on the held-out tail of the
    /// training set, never on dev; a second call reads the finished runs back instead of training again, and a call with
    /// other finetune options is refused.
    func testAugmentSearchScoresHeldOutRunsAndResumes() throws {
        let (vocab, arch) = try tinyEncoder()
        let rows = (0..<12).map { i in i % 2 == 0 ? "a very good film\t1" : "a bad film\t0" }
        _ = try write("sentence\tlabel\n" + rows.joined(separator: "\n") + "\n", "task/train.tsv")
        _ = try write("sentence\tlabel\na very good film\t1\n", "task/dev.tsv")
        let finetune = ["--arch", arch.path, "--task", "sst-2", "--data", folder.appendingPathComponent("task").path, "--tokenizer", vocab.path,
                        "--epochs", "1", "--max-length", "32", "--batch-size", "4"]
        let grid = folder.appendingPathComponent("grid")
        let search = ["augment", "search", "--out", grid.path, "--holdout", "4", "--counts", "2", "--magnitudes", "5", "--seeds", "0", "1", "--"]
        var (status, output) = try run(search + finetune)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("finetune SST-2: 8 training examples, 4 held out"), output)
        XCTAssertTrue(output.contains("best: --augment"), output)
        for run in ["n0-m0-seed0", "n0-m0-seed1", "n2-m5-seed0", "n2-m5-seed1"] {
            guard case .object(let eval) = try JSONValue(parsing: Data(contentsOf: grid.appendingPathComponent("\(run)/eval.json"))) else {
                return XCTFail("\(run): no eval.json")
            }
            XCTAssertEqual(eval["evaluated_on"], .string("holdout"), run)
            XCTAssertEqual(eval["examples"], .int(4), run)
        }
        let first = try Data(contentsOf: grid.appendingPathComponent("grid.json"))
        guard case .object(let record) = try JSONValue(parsing: first), case .array(let runs)? = record["runs"],
              case .array(let points)? = record["points"] else { return XCTFail("grid.json: \(String(decoding: first, as: UTF8.self))") }
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(points.count, 2)

        // Resumed: nothing is trained again and the record is unchanged.
        (status, output) = try run(search + finetune)
        XCTAssertEqual(status, 0, output)
        XCTAssertFalse(output.contains("augment search: N ="), output)
        XCTAssertEqual(try Data(contentsOf: grid.appendingPathComponent("grid.json")), first)

        // Other finetune options for the same study, an option the search sets itself, a holdout that leaves nothing.
        (status, output) = try run(search + finetune + ["--lr", "1e-3"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("grid.json was made with other options"), output)
        (status, output) = try run(search + finetune + ["--augment", "1,1"])
        XCTAssertEqual(status, 64, output)
        XCTAssertTrue(output.contains("--augment after -- is set by augment search"), output)
        (status, output) = try run(["augment", "search", "--out", folder.appendingPathComponent("grid2").path, "--holdout", "12", "--"] + finetune)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--holdout 12 leaves no training examples"), output)
    }

    func testBadInputsFailWithFileLineOrField() throws {
        let (vocab, arch) = try tinyEncoder()
        _ = try write("sentence\tlabel\na good film\t1\na bad film\t0\tEXTRA\n", "task/train.tsv")
        _ = try write("sentence\tlabel\na very good film\t1\n", "task/dev.tsv")
        let task = folder.appendingPathComponent("task")
        func finetune(_ extra: [String], out: String = "ft") -> [String] {
            ["finetune", "--arch", arch.path, "--task", "sst-2", "--data", task.path, "--tokenizer", vocab.path,
             "--out", folder.appendingPathComponent(out).path, "--epochs", "1", "--max-length", "32"] + extra
        }
        var (status, output) = try run(finetune([]))
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("train.tsv") && output.contains("line 3"), output)

        _ = try write("sentence\tlabel\na good film\t1\na bad film\tmaybe\n", "task/train.tsv")
        (status, output) = try run(finetune([]))
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("line 3") && output.contains("maybe"), output)

        // A valid task: fine-tuning runs and writes the dev metrics.
        _ = try write("sentence\tlabel\na good film\t1\na bad film\t0\nvery good\t1\nvery bad\t0\n", "task/train.tsv")
        (status, output) = try run(finetune(["--batch-size", "2", "--log-every", "1"]))
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("ft/eval.json").path))
        // RandAugment for text: the policy is announced (no embeddings here: the five operations that need none), and a
        // malformed one is refused.
        (status, output) = try run(finetune(["--batch-size", "2", "--augment", "2,5"], out: "ft-augment"))
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("RandAugment N = 2, M = 5 over swap, adjacent-swap, deletion, span-deletion, mask, tfidf"), output)
        (status, output) = try run(finetune(["--augment", "2,11"], out: "ft-bad"))
        XCTAssertEqual(status, 64, output)
        // Soft labels from a fine-tuned teacher of the same task (here the model just trained).
        (status, output) = try run(finetune(["--batch-size", "2", "--log-every", "1", "--teacher", folder.appendingPathComponent("ft").path],
                                            out: "ft-distilled"))
        XCTAssertEqual(status, 0, output)
        let distilledLog = try String(contentsOf: folder.appendingPathComponent("ft-distilled/metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(distilledLog.contains("soft_label_loss"), distilledLog)

        // Vocabulary mismatch between the architecture and the tokenizer.
        let wide = try write("""
            {"family": "encoder", "vocabSize": 30522, "maxPositions": 32, "hidden": 16, "layers": [{"heads": 2, "qkv": 16, "ffn": 32}]}
            """, "wide.json")
        (status, output) = try run(["finetune", "--arch", wide.path, "--task", "sst-2", "--data", task.path, "--tokenizer", vocab.path,
                                    "--out", folder.appendingPathComponent("ft2").path, "--max-length", "32"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("vocabulary mismatch"), output)

        // An architecture larger than the checkpoint it is initialised from.
        let big = try write("""
            {"family": "encoder", "vocabSize": 10, "maxPositions": 32, "hidden": 32, "layers": [{"heads": 2, "qkv": 16, "ffn": 32}]}
            """, "big.json")
        (status, output) = try run(finetune(["--init-from", folder.appendingPathComponent("ft").path], out: "ft3")
                                   .map { $0 == arch.path ? big.path : $0 })
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("larger than the checkpoint") && output.contains("hidden 32 > 16"), output)

        // An empty corpus.
        let empty = try write("\n\n", "empty.txt")
        (status, output) = try run(["pretrain", "--arch", arch.path, "--corpus", empty.path, "--tokenizer", vocab.path,
                                    "--out", folder.appendingPathComponent("pt").path, "--steps", "2", "--warmup", "0",
                                    "--sequence-length", "16"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("empty.txt") && output.contains("empty"), output)
    }
}
