import Foundation
import XCTest
import NASModels
import NASSearch
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

    /// AutoDistil: `--space PARTITION` trains one supernet per sub-space distilled from a teacher (relation KL in
    /// the log), refuses a second run into the same folder, resumes; `search --objective distillation` scores a
    /// sub-space's members with its supernet and needs --teacher and --subspace; `--subspaces 2` cuts a plain space.
    /// A WordPiece vocabulary of the test corpus (25 entries: the corpus has 22 characters, which the objectives'
    /// batch reads), a teacher encoder (one layer, width 24) pretrained 2 steps on it, and the common options.
    func encoderTeacher() throws -> (corpus: URL, vocab: URL, teacher: URL, common: [String]) {
        let corpus = try CLIProcess.corpus(in: folder)
        let words = ["the", "king", "speaks", "to", "a", "quiet", "river", "and", "night", "falls", "over", "old", "town", ".",
                     "sea", "sun", "moon", "star", "wind", "rain"]
        let vocab = try write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).joined(separator: "\n") + "\n", "vocab.txt")
        let teacherArch = try write("""
            {"family": "encoder", "vocabSize": 25, "maxPositions": 32, "hidden": 24, "layers": [{"heads": 2, "qkv": 24, "ffn": 32}, {"heads": 2, "qkv": 24, "ffn": 32}]}
            """, "teacher.json")
        let teacher = folder.appendingPathComponent("teacher")
        let common = ["--corpus", corpus.path, "--tokenizer", vocab.path, "--batch-size", "4", "--sequence-length", "16",
                      "--warmup", "0", "--threads", "1", "--log-every", "1"]
        let (status, output) = try run(["pretrain", "--arch", teacherArch.path, "--out", teacher.path, "--steps", "2"] + common)
        XCTAssertEqual(status, 0, output)
        return (corpus, vocab, teacher, common)
    }

    /// An encoder space of the teacher's vocabulary: 1–3 layers, hidden 8 or 16.
    func encoderSpace() throws -> URL {
        try write(#"{"name": "tiny-enc", "family": "encoder", "vocabSize": 25, "maxPositions": 32, "depth": [1, 2, 3], "hidden": [8, 16], "layers": "shared", "heads": [1, 2], "ffn": [16, 32]}"#,
                  "enc-space.json")
    }

    /// A run into `part` stopped by its wall-clock budget before `checkpoint` and resumed ends with the weights of an
    /// uninterrupted run into `whole` (every tensor equal); returns the tensor names and the uninterrupted run's output.
    func assertStopThenResumeEqualsUninterrupted(whole: URL, part: URL, checkpoint: String, _ arguments: (URL) -> [String],
                                                 file: StaticString = #filePath, line: UInt = #line) throws -> (names: [String], output: String) {
        var (status, output) = try run(arguments(whole))
        XCTAssertEqual(status, 0, output, file: file, line: line)
        let wholeOutput = output
        (status, output) = try run(arguments(part) + ["--time-budget", "0.0001"])
        XCTAssertEqual(status, 0, output, file: file, line: line)
        XCTAssertTrue(output.contains("time budget reached at step"), output, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: part.appendingPathComponent(checkpoint).path), file: file, line: line)
        (status, output) = try run(arguments(part) + ["--resume"])
        XCTAssertEqual(status, 0, output, file: file, line: line)
        let a = try SafeTensorsFile(contentsOf: whole.appendingPathComponent("\(checkpoint)/model.safetensors"))
        let b = try SafeTensorsFile(contentsOf: part.appendingPathComponent("\(checkpoint)/model.safetensors"))
        XCTAssertEqual(a.names, b.names, file: file, line: line)
        for name in a.names { XCTAssertEqual(try a.tensor(name).scalars, try b.tensor(name).scalars, name, file: file, line: line) }
        return (a.names, wholeOutput)
    }

    func testSubspaceSupernetsTrainDistilledAndSearchByDistillationLoss() throws {
        let (corpus, _, teacher, common) = try encoderTeacher()
        var status: Int32, output: String
        func space(_ name: String, depth: String, hidden: String) -> String {
            #"{"name": "\#(name)", "family": "encoder", "vocabSize": 25, "maxPositions": 32, "depth": \#(depth), "hidden": \#(hidden), "layers": "shared", "heads": [1, 2], "ffn": [16, 32]}"#
        }
        let partition = try write(#"{"name": "tiny-2", "subspaces": [\#(space("small", depth: "[1]", hidden: "[8, 16]")), \#(space("large", depth: "[1, 2]", hidden: "[24]"))]}"#,
                                  "partition.json")
        let runFolder = folder.appendingPathComponent("subspaces")
        let train = ["supernet", "train", "--space", partition.path, "--teacher", teacher.path, "--rule", "sandwich", "--steps", "8",
                     "--teacher-for-every-member", "--lm-weight", "0", "--hidden-weight", "0",
                     "--out", runFolder.path, "--checkpoint-every", "4"] + common
        (status, output) = try run(train)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("2 sub-spaces") && output.contains("4 steps each"), output)
        for i in 1...2 {
            let log = try String(contentsOf: runFolder.appendingPathComponent("subspace-\(i)/metrics.jsonl"), encoding: .utf8)
            XCTAssertTrue(log.contains("attention_kl_smallest") && log.contains("\"step\":4") && !log.contains("kd_smallest"), log)
        }
        XCTAssertEqual(try SubspacePartition.load(from: runFolder.appendingPathComponent("subspaces.json")).subspaces.map(\.name), ["small", "large"])
        (status, output) = try run(train)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--resume"), output)
        (status, output) = try run(train + ["--resume"])
        XCTAssertEqual(status, 0, output)
        (status, output) = try run(train + ["--resume", "--subspaces", "3"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("holds 2 sub-spaces"), output)

        let search = ["search", "--space", partition.path, "--objective", "distillation", "--supernet", runFolder.path, "--strategy", "random",
                      "--trials", "4", "--corpus", corpus.path, "--sequence-length", "16", "--batch-size", "4",
                      "--threads", "1"]
        (status, output) = try run(search + ["--subspace", "2", "--teacher", teacher.path, "--study", folder.appendingPathComponent("s.db").path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("best of 4 trials (0 failed)"), output)
        (status, output) = try run(search + ["--teacher", teacher.path, "--study", folder.appendingPathComponent("t.db").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--subspace 1…2"), output)
        (status, output) = try run(search + ["--subspace", "1", "--study", folder.appendingPathComponent("u.db").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--teacher"), output)

        // A member's held-out relation KL to the teacher: 0 for the teacher itself, more for a member.
        let member = try write(#"{"family": "encoder", "vocabSize": 25, "maxPositions": 32, "hidden": 24, "layers": [{"heads": 2, "qkv": 24, "ffn": 16}]}"#,
                               "member.json")
        let extracted = folder.appendingPathComponent("member")
        (status, output) = try run(["supernet", "extract", "--supernet", runFolder.appendingPathComponent("subspace-2").path, "--arch", member.path,
                                    "--out", extracted.path])
        XCTAssertEqual(status, 0, output)
        func relationKL(_ checkpoint: URL) throws -> Double {
            let json = folder.appendingPathComponent("eval-\(checkpoint.lastPathComponent).json")
            let (status, output) = try run(["evaluate", "--checkpoint", checkpoint.path, "--corpus", corpus.path, "--teacher", teacher.path,
                                            "--sequence-length", "16", "--max-windows", "20", "--threads", "1", "--json", json.path])
            XCTAssertEqual(status, 0, output)
            guard case .object(let o) = try JSONValue(parsing: try Data(contentsOf: json)), case .double(let kl)? = o["attention_relation_kl"] else {
                XCTFail(output); return .nan
            }
            return kl
        }
        // (Near-uniform attention at this size keeps the member's KL small, but not 0.)
        XCTAssertEqual(try relationKL(teacher), 0, accuracy: 1e-10)
        XCTAssertGreaterThan(try relationKL(extracted), 1e-8)

        // A plain space cut in two by --subspaces.
        let plain = try write(space("plain", depth: "[1, 2]", hidden: "[8, 16]"), "plain.json")
        let cut = folder.appendingPathComponent("cut")
        (status, output) = try run(["supernet", "train", "--space", plain.path, "--subspaces", "2", "--rule", "uniform", "--steps", "2",
                                    "--out", cut.path] + common)
        XCTAssertEqual(status, 0, output)
        let halves = try SubspacePartition.load(from: cut.appendingPathComponent("subspaces.json")).subspaces
        XCTAssertEqual(halves.map(\.hidden), [[8], [16]])
        XCTAssertEqual(halves.map(\.depth), [[1], [2]])
    }

    /// DNA: `supernet blockwise train` logs each block's loss and a held-out rating, refuses a second run into the
    /// same folder and a teacher its blocks do not divide; `rate` rates members (and refuses a non-member);
    /// `combine` writes the best student within a parameter or latency budget (and its checkpoint), or says that none fits.
    func testBlockwiseTrainRateAndCombine() throws {
        let (corpus, _, teacher, common) = try encoderTeacher()
        let space = try encoderSpace()
        let runFolder = folder.appendingPathComponent("blockwise")
        let train = ["supernet", "blockwise", "train", "--space", space.path, "--teacher", teacher.path, "--blocks", "2", "--steps", "6",
                     "--validation", corpus.path, "--eval-every", "3", "--eval-windows", "4", "--out", runFolder.path] + common
        var (status, output) = try run(train)
        XCTAssertEqual(status, 0, output)
        let log = try String(contentsOf: runFolder.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("block_0") && log.contains("block_1") && log.contains("eval_largest_loss"), log)
        (status, output) = try run(train)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--resume"), output)
        (status, output) = try run(train.map { $0 == "2" ? "3" : $0 } + ["--out", folder.appendingPathComponent("three").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("cannot be cut into 3"), output)

        let members = try ["1 × 8": (1, 8), "3 × 16": (3, 16)].map { name, shape in
            try write(#"{"family": "encoder", "vocabSize": 25, "maxPositions": 32, "hidden": \#(shape.1), "layers": [\#(Array(repeating: #"{"heads": 2, "qkv": \#(shape.1), "ffn": 16}"#, count: shape.0).joined(separator: ", "))]}"#,
                      "member-\(shape.0).json")
        }
        let rated = folder.appendingPathComponent("rated.json")
        let inputs = ["--supernet", runFolder.path, "--teacher", teacher.path, "--corpus", corpus.path, "--windows", "4", "--sequence-length", "16",
                      "--threads", "1"]
        (status, output) = try run(["supernet", "blockwise", "rate"] + inputs + members.flatMap { ["--arch", $0.path] } + ["--json", rated.path])
        XCTAssertEqual(status, 0, output)
        guard case .array(let rows) = try JSONValue(parsing: try Data(contentsOf: rated)) else { return XCTFail(output) }
        XCTAssertEqual(rows.count, 2)
        for row in rows {
            guard case .object(let o) = row, case .array(let blocks)? = o["blocks"], case .double(let rating)? = o["rating"] else { return XCTFail("\(row)") }
            XCTAssertEqual(blocks.count, 2)
            XCTAssertTrue(rating.isFinite && rating > 0, "\(row)")
        }
        let outside = try write(#"{"family": "encoder", "vocabSize": 25, "maxPositions": 32, "hidden": 12, "layers": [{"heads": 2, "qkv": 12, "ffn": 16}]}"#, "outside.json")
        (status, output) = try run(["supernet", "blockwise", "rate"] + inputs + ["--arch", outside.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("not a member"), output)

        let best = folder.appendingPathComponent("best.json")
        (status, output) = try run(["supernet", "blockwise", "combine"] + inputs + ["--max-params", "5000", "--candidates", "30", "--out", best.path])
        XCTAssertEqual(status, 0, output)
        guard case .object(let choice) = try JSONValue(parsing: try Data(contentsOf: best)), case .int(let parameters)? = choice["parameters"],
              case .array(let chosen)? = choice["blocks"] else { return XCTFail(output) }
        XCTAssertLessThanOrEqual(parameters, 5000)
        XCTAssertEqual(chosen.count, 2)
        (status, output) = try run(["supernet", "blockwise", "combine"] + inputs + ["--max-params", "100", "--out", best.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("no combination"), output)
        (status, output) = try run(["supernet", "blockwise", "combine"] + inputs + ["--max-params", "5000", "--max-latency", "3", "--out", best.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("one budget"), output)

        // Under a latency budget: the parts' summed latency is within it, the student is re-measured whole and written as
        // a checkpoint that `embed` reads like any other.
        let student = folder.appendingPathComponent("student")
        (status, output) = try run(["supernet", "blockwise", "combine"] + inputs + ["--max-latency", "1000", "--candidates", "30", "--out", best.path,
                                                                                    "--student", student.path])
        XCTAssertEqual(status, 0, output)
        guard case .object(let timed) = try JSONValue(parsing: try Data(contentsOf: best)), case .double(let summed)? = timed["summed_latency_ms"],
              case .double(let measured)? = timed["measured_latency_ms"], case .double(let loss)? = timed["student_loss"] else { return XCTFail(output) }
        XCTAssertTrue(summed > 0 && summed <= 1000 && measured > 0 && measured <= 1000 && loss.isFinite, "\(timed)")
        (status, output) = try run(["embed", "--checkpoint", student.path, "--max-length", "16", "a good film"])
        XCTAssertEqual(status, 0, output)
        (status, output) = try run(["supernet", "blockwise", "combine"] + inputs + ["--max-params", "5000", "--out", best.path, "--student", student.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains(student.path), output)
    }

    /// BossNAS: `blockwise train --self-supervised` (no teacher) checkpoints the moving-average target with the
    /// online weights, so a run stopped by its budget and resumed ends as an uninterrupted one; `rate` rates members
    /// as a population without --teacher (and refuses one).
    func testSelfSupervisedBlockwiseResumesBitIdenticallyAndRatesWithoutATeacher() throws {
        let (corpus, _, teacher, common) = try encoderTeacher()
        let space = try encoderSpace()
        let train = { (out: URL) in
            ["supernet", "blockwise", "train", "--space", space.path, "--self-supervised", "--blocks", "2", "--steps", "6", "--paths", "2",
             "--checkpoint-every", "2", "--out", out.path] + common
        }
        let whole = folder.appendingPathComponent("whole")
        let (names, wholeOutput) = try assertStopThenResumeEqualsUninterrupted(whole: whole, part: folder.appendingPathComponent("part"),
                                                                               checkpoint: "checkpoint-6", train)
        XCTAssertTrue(wholeOutput.contains("self-supervised"), wholeOutput)
        XCTAssertTrue(names.contains { $0.hasPrefix("target.") } && names.contains { $0.contains("predictor") }, names.joined(separator: " "))
        var (status, output) = try run(train(folder.appendingPathComponent("both")) + ["--teacher", teacher.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("without --teacher"), output)

        let members = try [(1, 8), (3, 16), (2, 16)].map { depth, width in
            try write(#"{"family": "encoder", "vocabSize": 25, "maxPositions": 32, "hidden": \#(width), "layers": [\#(Array(repeating: #"{"heads": 2, "qkv": \#(width), "ffn": 32}"#, count: depth).joined(separator: ", "))]}"#,
                      "ss-member-\(depth).json")
        }
        let inputs = ["--supernet", whole.path, "--corpus", corpus.path, "--windows", "4", "--sequence-length", "16", "--threads", "1"]
        (status, output) = try run(["supernet", "blockwise", "rate"] + inputs + members.flatMap { ["--arch", $0.path] })
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output.components(separatedBy: "rating ").count, 4, output)
        (status, output) = try run(["supernet", "blockwise", "rate"] + inputs + ["--teacher", teacher.path, "--arch", members[0].path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("without --teacher"), output)
    }

    /// InstaTune: `finetune --elastic SPACE` trains the largest member on the labels and random members on its
    /// logits, stores the space and reports the smallest's dev metric; a space that does not fit the checkpoint is
    /// refused naming the dimension; `search --objective task-accuracy` (LINAS) scores members with the inherited
    /// weights and writes the Pareto front against latency.
    func testElasticFinetuneAndTaskAccuracySearch() throws {
        let (corpus, _, teacher, _) = try encoderTeacher()
        let sentences = ["the king speaks to a quiet river\t1", "night falls over old town\t0", "the old king falls\t0",
                         "a quiet town and a river\t1", "the river speaks to the king\t1", "night falls and the town speaks\t0"]
        _ = try write("sentence\tlabel\n" + sentences.joined(separator: "\n") + "\n", "glue/SST-2/train.tsv")
        _ = try write("sentence\tlabel\n" + sentences.prefix(4).joined(separator: "\n") + "\n", "glue/SST-2/dev.tsv")
        let elastic = try write(#"{"name": "elastic", "family": "encoder", "vocabSize": 25, "maxPositions": 32, "depth": [1, 2], "hidden": [24], "layers": "per-layer", "blocks": [{"heads": 1, "qkv": 12, "ffn": 16}, {"heads": 2, "qkv": 24, "ffn": 32}]}"#,
                                "elastic.json")
        let out = folder.appendingPathComponent("instatune")
        let finetune = ["finetune", "--checkpoint", teacher.path, "--task", "sst-2", "--data", folder.appendingPathComponent("glue/SST-2").path,
                        "--epochs", "2", "--batch-size", "2", "--max-length", "16", "--log-every", "1", "--threads", "1", "--out", out.path]
        var (status, output) = try run(finetune + ["--elastic", elastic.path])
        XCTAssertEqual(status, 0, output)
        let log = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("kd_1") && log.contains("kd_2"), log)
        let eval = try String(contentsOf: out.appendingPathComponent("eval.json"), encoding: .utf8)
        XCTAssertTrue(eval.contains("smallest_accuracy"), eval)
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("checkpoint-6/config.json"), encoding: .utf8).contains("\"space\""))
        let wide = try write(#"{"name": "wide", "family": "encoder", "vocabSize": 25, "maxPositions": 32, "depth": [1, 2], "hidden": [24], "layers": "shared", "heads": [2], "ffn": [16, 64]}"#,
                             "wide.json")
        (status, output) = try run(finetune.map { $0 == out.path ? folder.appendingPathComponent("wide-ft").path : $0 } + ["--elastic", wide.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("ffn: layer 0 up to 64"), output)

        let study = folder.appendingPathComponent("instatune.db")
        (status, output) = try run(["search", "--space", elastic.path, "--objective", "task-accuracy", "--supernet", out.path, "--data", folder.path,
                                    "--strategy", "linas", "--trials", "5", "--pareto-cost", "params", "--sequence-length", "16", "--corpus", corpus.path,
                                    "--study", study.path, "--threads", "1"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("best of 5 trials (0 failed)") && output.contains("Pareto front"), output)
        (status, output) = try run(["search", "--space", elastic.path, "--objective", "task-accuracy", "--supernet", teacher.path, "--data", folder.path,
                                    "--trials", "2", "--sequence-length", "16", "--corpus", corpus.path,
                                    "--study", folder.appendingPathComponent("x.db").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("finetune --elastic"), output)
    }

    /// A run stopped by its wall-clock budget and resumed with `--resume` ends with the weights of an
    /// uninterrupted run (the complexity rule: its learned distribution is restored from the checkpoint).
    func testTimeBudgetStopThenResumeEqualsAnUninterruptedRun() throws {
        let corpus = try CLIProcess.corpus(in: folder), space = try space()
        let whole = folder.appendingPathComponent("whole"), part = folder.appendingPathComponent("part")
        // Checkpoints every 3 steps: the resumed run prunes the checkpoint it resumed from, and must still save its characters.
        let names = try assertStopThenResumeEqualsUninterrupted(whole: whole, part: part, checkpoint: "checkpoint-12") { out in
            self.trainArguments(space, corpus, out, rule: "complexity") + ["--bins", "3", "--update-every", "2", "--checkpoint-every", "3"]
        }.names
        XCTAssertFalse(names.isEmpty)
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
