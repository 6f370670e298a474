import Foundation
import XCTest
@testable import NASModels
@testable import NASText
@testable import NASTrain
import NASTensor

/// The rules that keep a run's checkpoints from being lost (see `TrainingCheckpoint`): a resume without
/// a usable `latest` takes the newest complete checkpoint and says so; a fresh run refuses a folder with
/// checkpoint folders; saving never removes or replaces a folder the run did not write or resume from;
/// leftovers of interrupted saves are tidied; a NaN before the first checkpoint leaves no run folder;
/// the NaN hint tells the truth.
final class TrainingCheckpointTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A process id that does not exist (far above Linux's pid_max).
    let deadPID = Int32.max - 1

    func makeTrainer(_ run: URL, steps: Int, checkpointEvery: Int = 5, learningRate: Float = 3e-3) -> Trainer {
        let arch = Architecture.uniform(.decoder, vocabSize: 12, maxPositions: 16, hidden: 16, depth: 1, heads: 2, ffn: 32)
        let options = TrainingOptions(steps: steps, learningRate: learningRate, warmupSteps: 0, schedule: .constant, seed: 5,
                                      checkpointEvery: checkpointEvery, logEvery: 1)
        return Trainer(run: run, options: options, model: Transformer(arch, seed: 1))
    }

    func step(_ trainer: Trainer) -> (inout RandomGenerator) throws -> Trainer.StepResult {
        { rng in
            let ids = (0..<400).map { Int32($0 * 7 % 12) }
            let batch = try TextCorpus(tokens: ids, path: "ids").decoderBatch(batchSize: 4, length: 12, seed: rng.next())
            let out = trainer.model(batch, training: true, rng: &rng)
            return .backward(CausalLMHead.loss(out.hidden, batch: batch, embeddings: trainer.model.wordEmbeddings), tokens: 48)
        }
    }

    /// Every file under `url` (relative path → bytes), to show a refused run changed nothing.
    func snapshot(_ url: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let base = url.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) else { return files }
        for case let item as URL in walker {
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: item.path, isDirectory: &isFolder)
            let key = String(item.standardizedFileURL.path.dropFirst(base.count))
            files[key] = isFolder.boolValue ? Data("<folder>".utf8) : try Data(contentsOf: item)
        }
        return files
    }

    /// A run stopped after `at` steps of `steps` (a checkpoint on the way out).
    func stoppedRun(_ name: String, at: Int, steps: Int) throws -> URL {
        let run = folder.appendingPathComponent(name)
        let trainer = makeTrainer(run, steps: steps, checkpointEvery: 100)
        try trainer.prepare(resume: false)
        trainer.shouldStop = { [unowned trainer] in trainer.step >= at }
        try trainer.train(step(trainer))
        XCTAssertEqual(try TrainingCheckpoint.latest(in: run)?.lastPathComponent, "checkpoint-\(at)")
        return run
    }

    func testResumeWithoutLatestTakesTheNewestCompleteCheckpointAndSaysSo() throws {
        let run = try stoppedRun("run", at: 6, steps: 12)
        let checkpoint6 = try snapshot(run.appendingPathComponent("checkpoint-6"))
        // An older complete checkpoint (a copy) and an older incomplete one: neither is the run's to remove.
        try FileManager.default.copyItem(at: run.appendingPathComponent("checkpoint-6"), to: folder.appendingPathComponent("copy"))
        try TrainingCheckpoint.addToConfig(folder.appendingPathComponent("copy/config.json"), key: "note", value: .string("copy"))
        var state = try JSONValue(parsing: Data(contentsOf: folder.appendingPathComponent("copy/trainer.json")))
        if case .object(var o) = state { o["step"] = .int(3); state = .object(o) }
        try Data(state.serialized(pretty: true).utf8).write(to: folder.appendingPathComponent("copy/trainer.json"))
        try FileManager.default.moveItem(at: folder.appendingPathComponent("copy"), to: run.appendingPathComponent("checkpoint-3"))
        try FileManager.default.createDirectory(at: run.appendingPathComponent("checkpoint-2"), withIntermediateDirectories: false)
        try FileManager.default.removeItem(at: run.appendingPathComponent("latest"))

        let resumed = makeTrainer(run, steps: 12, checkpointEvery: 100)
        try resumed.prepare(resume: true)
        XCTAssertEqual(resumed.step, 6)
        XCTAssertEqual(resumed.resumedFrom?.lastPathComponent, "checkpoint-6")
        XCTAssertEqual(resumed.notes, ["note: \(run.relativePath)/latest is missing; resuming from checkpoint-6, the newest complete checkpoint"])
        XCTAssertEqual(try snapshot(run.appendingPathComponent("checkpoint-6")), checkpoint6, "resuming reads only")
        XCTAssertEqual(try TrainingCheckpoint.latest(in: run)?.lastPathComponent, "checkpoint-6", "latest is repaired")
        try resumed.train(step(resumed))
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix("checkpoint-") }.sorted()
        XCTAssertEqual(names, ["checkpoint-12", "checkpoint-2", "checkpoint-3"],
                       "the resumed-from checkpoint-6 went once checkpoint-12 was in place; the others are kept")
    }

    func testABrokenLatestFallsBackToTheNewestCompleteCheckpoint() throws {
        let run = try stoppedRun("run", at: 4, steps: 8)
        let latest = run.appendingPathComponent("latest")
        for (text, says) in [("garbage/..\n", "latest is unreadable"), ("checkpoint-9\n", "checkpoint-9: the checkpoint named by 'latest' is missing")] {
            try Data(text.utf8).write(to: latest)
            XCTAssertThrowsError(try TrainingCheckpoint.latest(in: run), "the strict reading still refuses it")
            let point = try XCTUnwrap(TrainingCheckpoint.resumePoint(in: run))
            XCTAssertEqual(point.folder.lastPathComponent, "checkpoint-4")
            XCTAssertEqual(point.notes.count, 1)
            XCTAssertTrue(point.notes[0].contains(says) && point.notes[0].contains("resuming from checkpoint-4"), point.notes[0])
        }
        // `latest` naming a folder without trainer.json: incomplete, so the newest complete one is taken.
        try FileManager.default.createDirectory(at: run.appendingPathComponent("checkpoint-1"), withIntermediateDirectories: false)
        try Data("checkpoint-1\n".utf8).write(to: latest)
        let point = try XCTUnwrap(TrainingCheckpoint.resumePoint(in: run))
        XCTAssertEqual(point.folder.lastPathComponent, "checkpoint-4")
        XCTAssertTrue(point.notes[0].contains("incomplete (no config.json)"), point.notes[0])
    }

    func testAFreshRunRefusesAFolderWithCheckpointsEvenWithoutLatest() throws {
        let run = try stoppedRun("run", at: 3, steps: 6)
        try FileManager.default.removeItem(at: run.appendingPathComponent("latest"))
        let before = try snapshot(run)
        XCTAssertThrowsError(try makeTrainer(run, steps: 6).prepare(resume: false)) { error in
            XCTAssertEqual("\(error)", "\(run.path) already holds a training run; pass --resume to continue it or choose another --out")
        }
        XCTAssertEqual(try snapshot(run), before)
    }

    func testAResumeWithNoCompleteCheckpointIsRefusedAndChangesNothing() throws {
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run.appendingPathComponent("checkpoint-10"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: run.appendingPathComponent("checkpoint-10/config.json"))
        let before = try snapshot(run)
        XCTAssertThrowsError(try makeTrainer(run, steps: 20).prepare(resume: true)) { error in
            XCTAssertTrue("\(error)".contains("latest is missing, and no checkpoint folder here is complete"), "\(error)")
            XCTAssertTrue("\(error)".contains("nothing to resume from"), "\(error)")
        }
        XCTAssertEqual(try snapshot(run), before)
        // A resume into an empty folder is a fresh start, as before.
        let empty = folder.appendingPathComponent("empty")
        let trainer = makeTrainer(empty, steps: 2)
        try trainer.prepare(resume: true)
        XCTAssertEqual(trainer.step, 0)
    }

    func testAnIncompleteCheckpointNewerThanTheResumePointIsRefusedUpFront() throws {
        let run = try stoppedRun("run", at: 4, steps: 8)
        try FileManager.default.createDirectory(at: run.appendingPathComponent("checkpoint-6"), withIntermediateDirectories: false)
        let before = try snapshot(run)
        XCTAssertThrowsError(try makeTrainer(run, steps: 8, checkpointEvery: 100).prepare(resume: true)) { error in
            XCTAssertTrue("\(error)".contains("checkpoint-6: incomplete (no config.json) and newer than checkpoint-4"), "\(error)")
            XCTAssertTrue("\(error)".contains("move it away"), "\(error)")
        }
        XCTAssertEqual(try snapshot(run), before)
    }

    func testSavingNeverReplacesAFolderTheRunDoesNotOwn() throws {
        let run = try stoppedRun("run", at: 2, steps: 4)
        let trainer = makeTrainer(run, steps: 4, checkpointEvery: 100)
        try trainer.prepare(resume: true)
        try FileManager.default.createDirectory(at: run.appendingPathComponent("checkpoint-9"), withIntermediateDirectories: false)
        try Data("someone else's".utf8).write(to: run.appendingPathComponent("checkpoint-9/notes.txt"))
        let foreign = try snapshot(run.appendingPathComponent("checkpoint-9"))
        XCTAssertThrowsError(try TrainingCheckpoint.save(run: run, step: 9, model: trainer.model, extra: [], optimizer: trainer.optimizer,
                                                         rng: trainer.rng, options: trainer.options, vocabulary: nil, task: nil,
                                                         owned: ["checkpoint-2"])) { error in
            XCTAssertTrue("\(error)".contains("checkpoint-9: exists but was not written by this run"), "\(error)")
        }
        XCTAssertEqual(try snapshot(run.appendingPathComponent("checkpoint-9")), foreign)
        XCTAssertEqual(try TrainingCheckpoint.latest(in: run)?.lastPathComponent, "checkpoint-2", "latest did not move")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: run.path).allSatisfy { !$0.hasPrefix(".") }, "no staging left")
    }

    func testLeftoversOfInterruptedSavesAreTidiedOnlyWhenTheirWriterIsGone() throws {
        let run = try stoppedRun("run", at: 4, steps: 8)
        let fm = FileManager.default
        func make(_ name: String) throws { try fm.createDirectory(at: run.appendingPathComponent(name), withIntermediateDirectories: false) }
        try make(".checkpoint-6.tmp-\(deadPID)")                // a dead writer's staging: removed
        try make(".checkpoint-7.tmp-\(getpid())")              // a live writer's staging: kept
        try fm.copyItem(at: run.appendingPathComponent("checkpoint-4"), to: run.appendingPathComponent(".checkpoint-3.old-\(deadPID)"))
        try make(".checkpoint-4.old-\(deadPID)")                // checkpoint-4 is in place: removed
        let notes = TrainingCheckpoint.tidy(run)
        XCTAssertEqual(notes, ["note: restored \(run.relativePath)/checkpoint-3 from .checkpoint-3.old-\(deadPID), left by a run stopped while saving"])
        let names = Set(try fm.contentsOfDirectory(atPath: run.path))
        XCTAssertEqual(names, ["checkpoint-3", "checkpoint-4", ".checkpoint-7.tmp-\(getpid())", "latest", "metrics.jsonl"])
        // The same on the start of a resumed run.
        try make(".checkpoint-5.tmp-\(deadPID)")
        let trainer = makeTrainer(run, steps: 8, checkpointEvery: 100)
        try trainer.prepare(resume: true)
        XCTAssertFalse(fm.fileExists(atPath: run.appendingPathComponent(".checkpoint-5.tmp-\(deadPID)").path))
        XCTAssertEqual(trainer.step, 4)
    }

    func testANonFiniteLossBeforeTheFirstCheckpointLeavesNoRunFolder() throws {
        let run = folder.appendingPathComponent("nan")
        let trainer = makeTrainer(run, steps: 5)
        try trainer.prepare(resume: false)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.path))
        let real = step(trainer)
        XCTAssertThrowsError(try trainer.train { rng in
            var r = try real(&rng)
            r.loss = .nan
            return r
        }) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("at step 1") && text.contains("lower --lr"), text)
            XCTAssertTrue(text.contains("no checkpoint was written") && !text.contains("intact"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "the folder the run created is gone")

        // A folder that existed (with a file of its own) stays.
        let kept = folder.appendingPathComponent("kept")
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: kept.appendingPathComponent("notes.txt"))
        let other = makeTrainer(kept, steps: 5)
        try other.prepare(resume: false)
        XCTAssertThrowsError(try other.train { _ in .init(loss: .infinity, tokens: 1) })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: kept.path), ["notes.txt"])
    }

    func testTheNaNHintSaysWhatIsTrue() {
        let withCheckpoint = "\(Trainer.Failure.nonFinite(step: 5, loss: .nan, learningRate: 1e-3, clip: 1, checkpoint: "runs/x/checkpoint-4"))"
        XCTAssertTrue(withCheckpoint.contains("Hint: lower --lr, lengthen --warmup, or keep --clip on"), withCheckpoint)
        XCTAssertTrue(withCheckpoint.contains("the last checkpoint, runs/x/checkpoint-4, is intact: resume from it with --resume"), withCheckpoint)
        let noClip = "\(Trainer.Failure.nonFiniteGradient(step: 2, learningRate: 1e-3, clip: 0, checkpoint: nil))"
        XCTAssertTrue(noClip.contains("Hint: lower --lr, or turn --clip on (e.g. --clip 1)"), noClip)
        XCTAssertTrue(noClip.contains("no checkpoint was written, so there is nothing to resume") && !noClip.contains("intact"), noClip)
        let zero = "\(Trainer.Failure.nonFinite(step: 1, loss: .nan, learningRate: 0, clip: 1, checkpoint: nil))"
        XCTAssertFalse(zero.contains("lower --lr"), zero)
        XCTAssertTrue(zero.contains("the learning rate was 0, so no update caused it"), zero)
    }

    func testNonFiniteOptimizerStateIsRefusedOnResume() throws {
        let run = try stoppedRun("run", at: 3, steps: 6)
        let url = run.appendingPathComponent("checkpoint-3/optimizer.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        let damaged = file.names.sorted()[0]
        var tensors: [(name: String, tensor: Tensor)] = []
        for name in file.names {
            var t = try file.tensor(name)
            if name == damaged { t = Tensor(shape: t.shape, scalars: [Float](repeating: .nan, count: t.count)) }
            tensors.append((name, t))
        }
        try SafeTensorsFile.write(tensors, to: url)
        let count = try file.tensor(damaged).count
        XCTAssertThrowsError(try makeTrainer(run, steps: 6, checkpointEvery: 100).prepare(resume: true)) { error in
            XCTAssertEqual("\(error)", "\(url.path): tensor '\(damaged)' holds \(count) non-finite value\(count == 1 ? "" : "s") (NaN/±inf); "
                           + "the checkpoint is damaged")
        }
    }
}
