import Foundation
import XCTest
@testable import NASModels
@testable import NASText
@testable import NASTrain
import NASTensor

final class TrainerTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The first 30,000 characters of Tiny Shakespeare (../shared/data), character-tokenised.
    func shakespeare() throws -> (CharTokenizer, [Int32]) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data/tinyshakespeare/input.txt")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw XCTSkip("Tiny Shakespeare not found at \(url.path)") }
        let slice = String(text.prefix(30_000))
        let tokenizer = CharTokenizer(training: slice)
        return (tokenizer, try tokenizer.encode(slice))
    }

    func makeTrainer(_ run: URL, vocab: Int, steps: Int, checkpointEvery: Int = 5) -> Trainer {
        let arch = Architecture.uniform(.decoder, vocabSize: vocab, maxPositions: 32, hidden: 32, depth: 2, heads: 2, ffn: 64)
        let model = Transformer(arch, seed: 1)   // dropout stays on: the generator's state must cover it
        let options = TrainingOptions(steps: steps, learningRate: 3e-3, warmupSteps: 3, schedule: .cosine, seed: 5,
                                      checkpointEvery: checkpointEvery, logEvery: 1)
        return Trainer(run: run, options: options, model: model)
    }

    func causalStep(_ trainer: Trainer, _ ids: [Int32]) -> (inout RandomGenerator) throws -> Trainer.StepResult {
        { rng in
            let corpus = try TextCorpus(tokens: ids, path: "slice")
            let batch = try corpus.decoderBatch(batchSize: 8, length: 24, seed: rng.next())
            let out = trainer.model(batch, training: true, rng: &rng)
            return .backward(CausalLMHead.loss(out.hidden, batch: batch, embeddings: trainer.model.wordEmbeddings), tokens: 8 * 24)
        }
    }

    func losses(_ run: URL) throws -> [Double] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").compactMap { line in
            guard case .object(let o) = try JSONValue(parsing: String(line)), case .double(let l)? = o["loss"] else { return nil }
            return l
        }
    }

    func testLossFallsOnARealSlice() throws {
        let (tokenizer, ids) = try shakespeare()
        let trainer = makeTrainer(folder.appendingPathComponent("fall"), vocab: tokenizer.vocabSize, steps: 60, checkpointEvery: 60)
        try trainer.prepare(resume: false)
        try trainer.train(causalStep(trainer, ids))
        let l = try losses(trainer.run)
        XCTAssertEqual(l.count, 60)
        let first = l.prefix(5).reduce(0, +) / 5, last = l.suffix(5).reduce(0, +) / 5
        XCTAssertGreaterThan(first, 3.5, "starts near ln(vocab)")
        XCTAssertLessThan(last, first - 0.8, "the loss falls: \(first) → \(last)")
    }

    /// Interrupted after 7 steps (a checkpoint is written on the way out), resumed to 16: the weights,
    /// the optimizer state, the generator and the logged losses equal an uninterrupted run's bit for bit.
    func testResumeEqualsUninterruptedTraining() throws {
        let (tokenizer, ids) = try shakespeare()
        let whole = makeTrainer(folder.appendingPathComponent("whole"), vocab: tokenizer.vocabSize, steps: 16)
        try whole.prepare(resume: false)
        try whole.train(causalStep(whole, ids))

        let partRun = folder.appendingPathComponent("part")
        let first = makeTrainer(partRun, vocab: tokenizer.vocabSize, steps: 16)
        try first.prepare(resume: false)
        first.shouldStop = { [unowned first] in first.step >= 7 }  // unowned: the trainer holds the closure
        try first.train(causalStep(first, ids))
        XCTAssertTrue(first.interrupted)
        XCTAssertEqual(try TrainingCheckpoint.latest(in: partRun)?.lastPathComponent, "checkpoint-7")
        // A fresh process: new model, new optimizer, restored from the checkpoint.
        let second = makeTrainer(partRun, vocab: tokenizer.vocabSize, steps: 16)
        try second.prepare(resume: true)
        XCTAssertEqual(second.step, 7)
        // The training time carries over: a time budget counts the seconds of both processes.
        let saved = try JSONDecoder().decode(TrainingCheckpoint.State.self,
                                             from: Data(contentsOf: partRun.appendingPathComponent("checkpoint-7/trainer.json")))
        let before = try XCTUnwrap(saved.seconds)
        XCTAssertGreaterThan(before, 0)
        XCTAssertEqual(second.trainingSeconds, before)
        try second.train(causalStep(second, ids))
        XCTAssertEqual(second.step, 16)
        XCTAssertGreaterThan(second.trainingSeconds, before)
        for (a, b) in zip(whole.model.parameters, second.model.parameters) {
            XCTAssertEqual(a.value.scalars, b.value.scalars, a.name)
        }
        XCTAssertEqual(whole.optimizer.stateDict(), second.optimizer.stateDict())
        XCTAssertEqual(whole.rng, second.rng)
        XCTAssertEqual(try losses(whole.run), try losses(partRun))
        // Only the newest checkpoint is kept, and it loads as a model folder.
        let items = try FileManager.default.contentsOfDirectory(atPath: partRun.path).filter { $0.hasPrefix("checkpoint-") }
        XCTAssertEqual(items, ["checkpoint-16"])
        let (loaded, _, _) = try Checkpoint.loadTransformer(from: partRun.appendingPathComponent("checkpoint-16"))
        XCTAssertEqual(loaded.parameters.map(\.value.scalars), second.model.parameters.map(\.value.scalars))
        // Resuming with other options is refused; starting over on an existing run without --resume too.
        let other = Trainer(run: partRun, options: TrainingOptions(steps: 20, seed: 5), model: whole.model)
        XCTAssertThrowsError(try other.prepare(resume: true)) { XCTAssertTrue("\($0)".contains("same options")) }
        XCTAssertThrowsError(try makeTrainer(partRun, vocab: tokenizer.vocabSize, steps: 16).prepare(resume: false)) {
            XCTAssertTrue("\($0)".contains("--resume"))
        }
    }

    func testNonFiniteLossStopsWithTheStepAndKeepsTheLastCheckpoint() throws {
        let (tokenizer, ids) = try shakespeare()
        let trainer = makeTrainer(folder.appendingPathComponent("nan"), vocab: tokenizer.vocabSize, steps: 10, checkpointEvery: 2)
        try trainer.prepare(resume: false)
        let step = causalStep(trainer, ids)
        XCTAssertThrowsError(try trainer.train { rng in
            var r = try step(&rng)
            if trainer.step == 4 { r.loss = .nan }
            return r
        }) { error in
            XCTAssertTrue("\(error)".contains("at step 5"), "\(error)")
            XCTAssertTrue("\(error)".contains("Hint"), "\(error)")
            XCTAssertTrue("\(error)".contains("the last checkpoint, \(trainer.run.path)/checkpoint-4, is intact"), "\(error)")
        }
        XCTAssertEqual(try TrainingCheckpoint.latest(in: trainer.run)?.lastPathComponent, "checkpoint-4")
    }

    /// A text of exactly one window is one window (the last full window is never dropped).
    func testMaskedEvaluationUsesTheLastFullWindow() {
        let arch = Architecture.uniform(.encoder, vocabSize: 20, maxPositions: 16, hidden: 16, depth: 1, heads: 2, ffn: 32)
        var rng = RandomGenerator(seed: 1)
        let model = Transformer(arch, rng: &rng), head = MaskedLMHead(arch, rng: &rng)
        let masking = MaskedLanguageModeling(vocabSize: 20, maskId: 3, specialIds: [1, 2, 3], probability: 0.5)
        let one = LanguageModeling.maskedEvaluation(model: model, head: head, tokens: (0..<14).map { Int32(5 + $0 % 10) }, cls: 1, sep: 2,
                                                    masking: masking, length: 16)
        XCTAssertTrue(one.loss.isFinite)
        XCTAssertGreaterThan(one.tokens, 0)
        let causal = LanguageModeling.causalEvaluation(model: Transformer(Architecture.uniform(.decoder, vocabSize: 20, maxPositions: 16,
                                                                                              hidden: 16, depth: 1, heads: 2, ffn: 32), seed: 1),
                                                       tokens: (0..<16).map { Int32($0 % 20) }, length: 15)
        XCTAssertEqual(causal.tokens, 15, "one window of 16 tokens predicts 15")
    }

    func testMaskedLanguageModelingCorruption() {
        let mlm = MaskedLanguageModeling(vocabSize: 1000, maskId: 3, specialIds: [1, 2, 3])
        var ids: [Int32] = [], mask: [Float] = []
        var r = RandomGenerator(seed: 1)
        for i in 0..<20_000 {
            ids.append(i % 100 == 0 ? 1 : Int32(10 + r.next() % 900))
            mask.append(i % 100 >= 95 ? 0 : 1)   // the last 5 of each 100 are padding
        }
        let batch = TokenBatch(ids: ids, attentionMask: mask, batchSize: 200, length: 100)
        var rng = RandomGenerator(seed: 2)
        let (input, targets) = mlm.corrupt(batch, using: &rng)
        let chosen = targets.indices.filter { targets[$0] != -100 }
        let eligible = ids.indices.filter { ids[$0] != 1 && mask[$0] > 0 }
        XCTAssertEqual(Double(chosen.count) / Double(eligible.count), 0.15, accuracy: 0.01)
        XCTAssertTrue(chosen.allSatisfy { ids[$0] != 1 && mask[$0] > 0 }, "never a special or padding token")
        XCTAssertTrue(chosen.allSatisfy { targets[$0] == ids[$0] }, "targets are the original ids")
        let masked = chosen.filter { input.ids[$0] == 3 }.count, kept = chosen.filter { input.ids[$0] == ids[$0] }.count
        XCTAssertEqual(Double(masked) / Double(chosen.count), 0.8, accuracy: 0.03)
        XCTAssertEqual(Double(kept) / Double(chosen.count), 0.1 + 0.1 / 1000, accuracy: 0.03)
        XCTAssertEqual(targets.indices.filter { targets[$0] == -100 && input.ids[$0] != ids[$0] }.count, 0, "unchosen tokens untouched")
    }
}
