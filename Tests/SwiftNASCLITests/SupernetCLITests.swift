import Foundation
import XCTest
import NASModels
import NASTensor

/// `swiftnas supernet train|extract`, `search --objective supernet` and `rank --supernet` as processes:
/// a trained supernet's checkpoint, its sub-networks extracted and evaluated, a search scored with
/// inherited weights, and bad requests refused with a message and exit ≠ 0.
final class SupernetCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("supernet-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func run(_ arguments: [String]) throws -> (Int32, String) { try CLIProcess.run(arguments) }

    func write(_ text: String, _ name: String) throws -> URL { try CLIProcess.write(text, name, in: folder) }

    func space() throws -> URL {
        try write("""
            {"name": "tiny-gpt", "family": "decoder", "vocabSize": 22, "maxPositions": 64, "depth": [1, 2, 3],
             "hidden": [16, 32], "layers": "per-layer", "heads": [1, 2, 4], "ffn": {"min": 16, "max": 64, "step": 16}}
            """, "space.json")
    }

    func trainArguments(_ space: URL, _ corpus: URL, _ out: URL, rule: String) -> [String] {
        ["supernet", "train", "--space", space.path, "--rule", rule, "--corpus", corpus.path, "--validation", corpus.path,
         "--tokenizer", "char", "--out", out.path, "--steps", "12", "--warmup", "2", "--batch-size", "4", "--sequence-length", "32",
         "--log-every", "1", "--eval-every", "6", "--eval-windows", "4", "--threads", "1", "--seed", "2"]
    }

    func testTrainExtractSearchAndRankWithASupernet() throws {
        let corpus = try CLIProcess.corpus(in: folder), space = try space()
        let run = folder.appendingPathComponent("run")
        var (status, output) = try self.run(trainArguments(space, corpus, run, rule: "sandwich"))
        XCTAssertEqual(status, 0, output)
        let log = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("kd_smallest") && log.contains("eval_largest_loss") && log.contains("eval_smallest_loss"), log)
        let config = try String(contentsOf: run.appendingPathComponent("checkpoint-12/config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"supernet\"") && config.contains("\"ruleState\""), config)

        // Resuming with another rule is refused, naming the option.
        (status, output) = try self.run(trainArguments(space, corpus, run, rule: "uniform") + ["--resume"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--rule"), output)

        // A member extracted, evaluated as a standalone model.
        let member = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 16,
             "layers": [{"heads": 2, "qkv": 16, "ffn": 32}, {"heads": 1, "qkv": 16, "ffn": 48}]}
            """, "member.json")
        let extracted = folder.appendingPathComponent("member")
        (status, output) = try self.run(["supernet", "extract", "--supernet", run.path, "--arch", member.path, "--out", extracted.path])
        XCTAssertEqual(status, 0, output)
        (status, output) = try self.run(["evaluate", "--checkpoint", extracted.path, "--corpus", corpus.path, "--sequence-length", "32",
                                         "--threads", "1"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("perplexity"), output)
        // Not a member: refused, and nothing written.
        let wide = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 48, "layers": [{"heads": 2, "qkv": 48, "ffn": 32}]}
            """, "wide.json")
        (status, output) = try self.run(["supernet", "extract", "--supernet", run.path, "--arch", wide.path,
                                         "--out", folder.appendingPathComponent("wide").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("not a sub-network"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("wide").path))

        // A search scored with inherited weights: lower loss is better.
        let study = folder.appendingPathComponent("study.db")
        (status, output) = try self.run(["search", "--space", space.path, "--objective", "supernet", "--supernet", run.path,
                                         "--strategy", "random", "--trials", "6", "--study", study.path, "--corpus", corpus.path,
                                         "--sequence-length", "32", "--batch-size", "4", "--threads", "1"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("best of 6 trials (0 failed)"), output)
        (status, output) = try self.run(["search", "--space", space.path, "--objective", "supernet", "--trials", "2",
                                         "--study", folder.appendingPathComponent("none.db").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--supernet"), output)
    }

    /// Mixture-of-Supernets: `--experts 2 --routing neuron` trains a routed supernet whose checkpoint says so;
    /// it resumes only with the same routing, scores members in a search, and a member extracts as a plain model.
    func testARoutedSupernetTrainsResumesSearchesAndExtractsAPlainModel() throws {
        let corpus = try CLIProcess.corpus(in: folder), space = try space()
        let run = folder.appendingPathComponent("routed")
        let arguments = trainArguments(space, corpus, run, rule: "sandwich") + ["--experts", "2", "--routing", "neuron", "--router-hidden", "8"]
        var (status, output) = try self.run(arguments)
        XCTAssertEqual(status, 0, output)
        let config = try String(contentsOf: run.appendingPathComponent("checkpoint-12/config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"routing\"") && config.contains("\"neuron\""), config)
        let weights = try SafeTensorsFile(contentsOf: run.appendingPathComponent("checkpoint-12/model.safetensors"))
        XCTAssertTrue(weights.names.contains("h.0.mlp.c_fc.experts.1.weight") && weights.names.contains("h.0.mlp.router.fc1.2.weight"),
                      weights.names.joined(separator: " "))
        (status, output) = try self.run(trainArguments(space, corpus, run, rule: "sandwich")
                                        + ["--experts", "3", "--routing", "neuron", "--router-hidden", "8", "--resume"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("experts"), output)

        (status, output) = try self.run(["search", "--space", space.path, "--objective", "supernet", "--supernet", run.path,
                                         "--strategy", "random", "--trials", "3", "--study", folder.appendingPathComponent("s.db").path,
                                         "--corpus", corpus.path, "--sequence-length", "32", "--batch-size", "4", "--threads", "1"])
        XCTAssertEqual(status, 0, output)
        let member = try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 64, "hidden": 16, "layers": [{"heads": 2, "qkv": 16, "ffn": 32}]}
            """, "member.json")
        let extracted = folder.appendingPathComponent("member")
        (status, output) = try self.run(["supernet", "extract", "--supernet", run.path, "--arch", member.path, "--out", extracted.path])
        XCTAssertEqual(status, 0, output)
        // The routed supernet itself is not a plain model: refused with the command that makes one.
        (status, output) = try self.run(["evaluate", "--checkpoint", run.appendingPathComponent("checkpoint-12").path, "--corpus", corpus.path,
                                         "--sequence-length", "32", "--threads", "1"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("supernet extract"), output)
        let plain = try SafeTensorsFile(contentsOf: extracted.appendingPathComponent("model.safetensors"))
        XCTAssertFalse(plain.names.contains { $0.contains("experts") || $0.contains("router") }, plain.names.joined(separator: " "))
        (status, output) = try self.run(["evaluate", "--checkpoint", extracted.path, "--corpus", corpus.path, "--sequence-length", "32",
                                         "--threads", "1"])
        XCTAssertEqual(status, 0, output)
    }

    /// A run stopped by its wall-clock budget and resumed with `--resume` ends with the weights of an
    /// uninterrupted run (the complexity rule: its learned distribution is restored from the checkpoint).
    func testTimeBudgetStopThenResumeEqualsAnUninterruptedRun() throws {
        let corpus = try CLIProcess.corpus(in: folder), space = try space()
        let whole = folder.appendingPathComponent("whole"), part = folder.appendingPathComponent("part")
        let arguments = { (out: URL) in self.trainArguments(space, corpus, out, rule: "complexity") + ["--bins", "3", "--update-every", "2"] }
        var (status, output) = try run(arguments(whole))
        XCTAssertEqual(status, 0, output)
        (status, output) = try run(arguments(part) + ["--time-budget", "0.0001"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("time budget reached at step"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: part.appendingPathComponent("checkpoint-12").path))
        (status, output) = try run(arguments(part) + ["--resume"])
        XCTAssertEqual(status, 0, output)
        let a = try SafeTensorsFile(contentsOf: whole.appendingPathComponent("checkpoint-12/model.safetensors"))
        let b = try SafeTensorsFile(contentsOf: part.appendingPathComponent("checkpoint-12/model.safetensors"))
        XCTAssertEqual(a.names, b.names)
        for name in a.names { XCTAssertEqual(try a.tensor(name).scalars, try b.tensor(name).scalars, name) }
        let state = { (run: URL) in try String(contentsOf: run.appendingPathComponent("checkpoint-12/config.json"), encoding: .utf8) }
        XCTAssertEqual(try state(whole), try state(part), "the same space, rule and rule state")
    }

    func testASpaceWithoutOneLargestMemberIsRefused() throws {
        let (status, output) = try run(["supernet", "train", "--space", "w-pca", "--out", folder.appendingPathComponent("x").path,
                                        "--steps", "1", "--warmup", "0"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("leading slice"), output)
    }

    /// `supernet search`: a DrNAS search with DARTS-PT selection writes the chosen architecture (which the
    /// checkpoint, a supernet, extracts), the decisions and the argmax trajectory; encoder spaces are refused.
    func testGradientSearchSelectsAnArchitectureTheSupernetHolds() throws {
        let corpus = try CLIProcess.corpus(in: folder), space = try space()
        let run = folder.appendingPathComponent("search")
        var (status, output) = try self.run(["supernet", "search", "--space", space.path, "--method", "drnas", "--select", "pt",
                                             "--pt-steps", "1", "--corpus", corpus.path, "--tokenizer", "char", "--out", run.path,
                                             "--steps", "6", "--warmup", "1", "--batch-size", "2", "--sequence-length", "16",
                                             "--eval-every", "3", "--eval-windows", "2", "--threads", "1", "--max-params", "20000",
                                             "--study", folder.appendingPathComponent("study.db").path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("selected (pt)"), output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("argmax-architecture.json").path))
        let log = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("eval_argmax.hidden") && log.contains("alpha_loss") && log.contains("expected_params"), log)
        let selection = try String(contentsOf: run.appendingPathComponent("selection.json"), encoding: .utf8)
        // 1 depth + 1 hidden + 3 slots × (heads, FFN) dimensions, each decided once.
        XCTAssertEqual(selection.components(separatedBy: "\"dimension\"").count - 1, 8, selection)
        let extracted = folder.appendingPathComponent("chosen")
        (status, output) = try self.run(["supernet", "extract", "--supernet", run.path,
                                         "--arch", run.appendingPathComponent("architecture.json").path, "--out", extracted.path])
        XCTAssertEqual(status, 0, output)

        // SPOS + random search: weights on uniformly drawn members, then 5 candidates scored with inherited weights.
        let spos = folder.appendingPathComponent("spos")
        (status, output) = try self.run(["supernet", "search", "--space", space.path, "--method", "spos-rs", "--trials", "5",
                                         "--corpus", corpus.path, "--tokenizer", "char", "--out", spos.path, "--steps", "4",
                                         "--warmup", "1", "--batch-size", "2", "--sequence-length", "16", "--eval-windows", "2",
                                         "--threads", "1", "--max-params", "20000", "--study", folder.appendingPathComponent("study.db").path])
        XCTAssertEqual(status, 0, output)
        let candidates = try String(contentsOf: spos.appendingPathComponent("selection.json"), encoding: .utf8)
        XCTAssertEqual(candidates.components(separatedBy: "\"heldOutLoss\"").count - 1, 6, candidates)
        // Both searches' choices are trials of one study.
        (status, output) = try self.run(["study", "show", folder.appendingPathComponent("study.db").path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("2 trials") || output.contains("trials: 2"), output)

        // ENAS: the controller's children trained in alternation with the controller, then the best of 3 derived.
        let enas = folder.appendingPathComponent("enas")
        (status, output) = try self.run(["supernet", "search", "--space", space.path, "--method", "enas-buffer", "--controller-every", "2",
                                         "--controller-steps", "2", "--derive-samples", "3", "--corpus", corpus.path, "--tokenizer", "char",
                                         "--out", enas.path, "--steps", "4", "--warmup", "1", "--log-every", "1", "--batch-size", "2", "--sequence-length", "16",
                                         "--eval-windows", "2", "--threads", "1"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(try String(contentsOf: enas.appendingPathComponent("metrics.jsonl"), encoding: .utf8).contains("controller_loss"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: enas.appendingPathComponent("architecture.json").path))
        let enasSelection = try JSONValue(parsing: String(contentsOf: enas.appendingPathComponent("selection.json"), encoding: .utf8))
        guard case .object(let fields) = enasSelection, case .object(let trained)? = fields["hiddenStateVsEditDistance"],
              case .int(let pairs)? = trained["pairs"], fields["hiddenStateVsEditDistanceAtInit"] != nil else {
            return XCTFail("selection.json lacks the hidden-state analysis: \(enasSelection)")
        }
        XCTAssertEqual(pairs, 60 * 59 / 2)

        // Out of --time-budget, the search still selects (from the checkpoint it stopped at).
        let timed = folder.appendingPathComponent("timed")
        (status, output) = try self.run(["supernet", "search", "--space", space.path, "--method", "darts", "--corpus", corpus.path,
                                         "--tokenizer", "char", "--out", timed.path, "--steps", "50", "--warmup", "1", "--batch-size", "2",
                                         "--sequence-length", "16", "--eval-windows", "2", "--threads", "1", "--time-budget", "0.0001"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("time budget reached") && output.contains("selected (argmax)"), output)
        XCTAssertTrue(try String(contentsOf: timed.appendingPathComponent("selection.json"), encoding: .utf8).contains("selectionSeconds"))
        (status, output) = try self.run(["supernet", "search", "--space", space.path, "--method", "spos-re", "--select", "pt",
                                         "--out", folder.appendingPathComponent("x").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--select pt"), output)

        (status, output) = try self.run(["supernet", "search", "--space", "autotinybert", "--out", folder.appendingPathComponent("e").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("decoder"), output)
    }
}
