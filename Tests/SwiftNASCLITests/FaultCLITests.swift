import Foundation
import XCTest
import NASModels
import NASSearch
import NASTensor

/// Hostile input and faults, as the user meets them: each refusal exits ≠ 0 with a message naming the
/// file and the problem, and leaves the files it was given byte for byte as they were.
final class FaultCLITests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fault-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws {
        chmod(folder.appendingPathComponent("locked").path, 0o755)
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs the child under a 1 GiB address-space limit (`CLIProcess.runLimited`), as every fault test does.
    func run(_ arguments: [String]) throws -> (Int32, String) { try CLIProcess.runLimited(arguments) }
    func write(_ text: String, _ name: String) throws -> URL { try CLIProcess.write(text, name, in: folder) }

    /// Every file under `url` (relative path → bytes; a plain file maps to itself).
    func snapshot(_ url: URL) throws -> [String: Data] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { return [:] }
        guard isFolder.boolValue else { return ["": try Data(contentsOf: url)] }
        var files: [String: Data] = [:]
        let base = url.standardizedFileURL.path
        for case let item as URL in FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)! {
            FileManager.default.fileExists(atPath: item.path, isDirectory: &isFolder)
            files[String(item.standardizedFileURL.path.dropFirst(base.count))] =
                isFolder.boolValue ? Data("<folder>".utf8) : try Data(contentsOf: item)
        }
        return files
    }

    func decoderArch() throws -> URL {
        try write("""
            {"family": "decoder", "vocabSize": 22, "maxPositions": 32, "hidden": 16, "layers": [{"heads": 2, "qkv": 16, "ffn": 32}]}
            """, "gpt.json")
    }

    func pretrain(_ out: URL, _ extra: [String] = []) throws -> [String] {
        ["pretrain", "--arch", try decoderArch().path, "--corpus", try CLIProcess.corpus(in: folder).path, "--tokenizer", "char",
         "--out", out.path, "--steps", "4", "--warmup", "0", "--batch-size", "4", "--sequence-length", "16",
         "--checkpoint-every", "2", "--log-every", "1", "--threads", "1"] + extra
    }

    // MARK: - Item 1: checkpoints never lost

    /// With `latest` gone, a fresh run is refused and `--resume` continues from the newest complete
    /// checkpoint (saying so) instead of starting again at step 1 and deleting it; a dead writer's
    /// staging folder is tidied on the way.
    func testResumeWithoutLatestKeepsTheCheckpointAndSaysSo() throws {
        let out = folder.appendingPathComponent("run")
        var (status, output) = try run(try pretrain(out))
        XCTAssertEqual(status, 0, output)
        try FileManager.default.removeItem(at: out.appendingPathComponent("latest"))
        let checkpoint = try snapshot(out.appendingPathComponent("checkpoint-4"))
        XCTAssertFalse(checkpoint.isEmpty)

        let before = try snapshot(out)
        (status, output) = try run(try pretrain(out))
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("\(out.path) already holds a training run; pass --resume"), output)
        XCTAssertEqual(try snapshot(out), before, "the refused run changed nothing")

        let stale = out.appendingPathComponent(".checkpoint-6.tmp-\(Int32.max - 1)")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: false)
        (status, output) = try run(try pretrain(out, ["--resume"]))
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("note: \(out.path)/latest is missing; resuming from checkpoint-4, the newest complete checkpoint"), output)
        XCTAssertFalse(output.contains("step 1/4"), "nothing was trained again: \(output)")
        XCTAssertEqual(try snapshot(out.appendingPathComponent("checkpoint-4")), checkpoint, "the checkpoint is kept as it was")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "the dead writer's staging folder was removed")
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("latest"), encoding: .utf8), "checkpoint-4\n", "latest is repaired")
    }

    /// A run that turns non-finite before its first checkpoint leaves no run folder behind, and the hint
    /// does not promise a checkpoint that does not exist.
    func testANonFiniteStopBeforeAnyCheckpointLeavesNoFolder() throws {
        let out = folder.appendingPathComponent("nan")
        let (status, output) = try run(try pretrain(out, ["--lr", "1e30", "--clip", "0"]).map { $0 == "2" ? "1000" : $0 })
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("training stopped") && output.contains("no checkpoint was written"), output)
        XCTAssertFalse(output.contains("intact"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no folder left at \(out.path)")
    }

    // MARK: - Item 2: non-finite weights refused on load

    func testEveryReaderRefusesACheckpointWithNonFiniteWeights() throws {
        let vocab = try write((["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "a", "very"]).joined(separator: "\n") + "\n",
                              "vocab.txt")
        let arch = Architecture(family: .encoder, vocabSize: 10, maxPositions: 16, hidden: 8, layers: [.init(heads: 2, qkv: 8, ffn: 16)])
        let model = folder.appendingPathComponent("model")
        try Checkpoint.save(Transformer(arch, seed: 1), vocabulary: vocab, to: model)
        let weights = model.appendingPathComponent("model.safetensors")
        let file = try SafeTensorsFile(contentsOf: weights)
        let damaged = "encoder.layer.0.attention.self.query.weight"
        try SafeTensorsFile.write(try file.names.map { name in
            let t = try file.tensor(name)
            return (name, name == damaged ? Tensor(shape: t.shape, scalars: [Float](repeating: .nan, count: t.count)) : t)
        }, to: weights)
        let before = try snapshot(model)
        let corpus = try write("a good film\na very bad film\n", "text.txt")
        let exported = folder.appendingPathComponent("hf")
        for command in [["model", "info", "--checkpoint", model.path],
                        ["embed", "--checkpoint", model.path, "a good film"],
                        ["evaluate", "--checkpoint", model.path, "--corpus", corpus.path, "--sequence-length", "8"],
                        ["export", "--checkpoint", model.path, "--to", "hf", exported.path]] {
            let (status, output) = try run(command)
            XCTAssertNotEqual(status, 0, "\(command): \(output)")
            XCTAssertTrue(output.contains("\(weights.path): tensor '\(damaged)' holds 64 non-finite values (NaN/±inf); the checkpoint is damaged"),
                          "\(command): \(output)")
            XCTAssertEqual(try snapshot(model), before)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: exported.path), "export wrote nothing")
    }

    // MARK: - Item 4: one writer per study

    func testASecondWriterOfAStudyIsRefusedAndTheFileUnchanged() throws {
        var text = ""
        var rng = RandomGenerator(seed: 1)
        let words = ["the", "king", "speaks", "to", "a", "quiet", "river", "and", "night", "falls"]
        for _ in 0..<400 { text += (0..<6).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") + ".\n" }
        let corpus = try write(text, "search-corpus.txt")
        let space = try write("""
            {"name": "lock-test", "family": "encoder", "vocabSize": 40, "maxPositions": 32, "depth": [1, 2],
             "hidden": [16, 32], "layers": "shared", "heads": [2], "ffn": [32, 64]}
            """, "space.json")
        let study = folder.appendingPathComponent("s.db")
        let arguments = ["search", "--space", space.path, "--objective", "params", "--strategy", "random", "--trials", "3",
                         "--seed", "1", "--study", study.path, "--corpus", corpus.path, "--sequence-length", "16",
                         "--batch-size", "4", "--threads", "1", "--out", folder.appendingPathComponent("best").path]
        var (status, output) = try run(arguments)
        XCTAssertEqual(status, 0, output)

        // This process holds the study open for writing, as a running search would.
        let holder = try SQLiteStudyStorage.open(at: study)
        let before = try snapshot(study)
        (status, output) = try run(arguments.map { $0 == "3" ? "6" : $0 })
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("\(study.path) is open for writing by another process (pid \(getpid())): an SQLite "
                                      + "study has one writer; several workers need a PostgreSQL study"), output)
        XCTAssertEqual(try snapshot(study), before)
        XCTAssertEqual(try holder.trials().count, 3)
        holder.close()
        // Once the holder is gone, the same command continues the study.
        (status, output) = try run(arguments.map { $0 == "3" ? "6" : $0 })
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(try SQLiteStudyStorage.open(at: study, readOnly: true).trials().count, 6)
    }

    // MARK: - Item 5: an unusable --out is refused before any work

    func testAnOutputPathThatIsAFileIsRefusedBeforeWork() throws {
        let file = try write("not a folder\n", "taken")
        let arch = try decoderArch()
        let commands: [[String]] = [
            try pretrain(file),
            ["finetune", "--arch", arch.path, "--task", "sst-2", "--out", file.path],
            ["supernet", "train", "--space", "autotinybert", "--out", file.path],
            ["export", "--checkpoint", folder.path, "--to", "hf", file.path],
            ["search", "--space", "autotinybert", "--objective", "params", "--trials", "2", "--study",
             folder.appendingPathComponent("s.db").path, "--out", file.path],
        ]
        for command in commands {
            let (status, output) = try run(command)
            XCTAssertNotEqual(status, 0, "\(command): \(output)")
            XCTAssertTrue(output.contains("\(file.path): cannot create the output folder: a file exists at this path"), "\(command): \(output)")
            XCTAssertFalse(output.contains("NSCocoaErrorDomain"), output)
            XCTAssertEqual(try Data(contentsOf: file), Data("not a folder\n".utf8))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("s.db").path), "no study was created")
    }

    /// Root ignores folder permissions, so as root the child runs as `nobody` (through setpriv).
    func testAReadOnlyOutputFolderIsRefusedBeforeWork() throws {
        let setpriv = URL(fileURLWithPath: "/usr/bin/setpriv")
        if getuid() == 0 && !FileManager.default.isExecutableFile(atPath: setpriv.path) {
            throw XCTSkip("root ignores folder permissions, and there is no setpriv to run the child as another user")
        }
        func runUnprivileged(_ arguments: [String]) throws -> (Int32, String) {
            guard getuid() == 0 else { return try run(arguments) }
            let p = Process()
            p.executableURL = setpriv
            p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try CLIProcess.executable.path] + arguments
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let arch = try decoderArch()
        let locked = folder.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        chmod(folder.path, 0o755)
        chmod(locked.path, 0o555)
        for command in [try pretrain(locked), ["finetune", "--arch", arch.path, "--task", "sst-2", "--out", locked.path],
                        ["export", "--checkpoint", folder.path, "--to", "hf", locked.path]] {
            let (status, output) = try runUnprivileged(command)
            XCTAssertNotEqual(status, 0, output)
            XCTAssertTrue(output.contains("\(locked.path): the output folder exists but cannot be written into (permission denied)"), output)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: locked.path), [])
        }
    }
}
