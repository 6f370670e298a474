import ArgumentParser
import Foundation
import NASModels
import NASTensor
import NASText
import NASTrain

/// `swiftnas evaluate`: a fine-tuned checkpoint on a task's dev set (the task's metrics), or a language
/// model's loss and perplexity on a text.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: a task's dev metrics, or a corpus's validation loss and perplexity.")

    @Option(help: "Checkpoint folder (or a training run folder: its latest checkpoint).")
    var checkpoint: String
    @OptionGroup var task: TaskEvaluationOptions
    @Option(help: "Evaluate language modelling on this text instead of a task.")
    var corpus: String?
    @Option(parsing: .unconditional, help: "Window length for language modelling.", transform: NumberArgument.positive)
    var sequenceLength = 128
    @Option(parsing: .unconditional, help: "At most this many windows of the corpus (default: all).",
            transform: NumberArgument.positive)
    var maxWindows: Int?
    /// With --corpus and an encoder: also the held-out attention-relation KL to --teacher (MiniLMv2's loss of the last
    /// layer, AutoDistil's search objective) on --max-windows clean windows (default 64).
    @OptionGroup var distillation: RelationTeacherOptions
    @OptionGroup var simulation: SimulatedQuantizationOptions
    @Option(help: "Write the figures as JSON to this file.")
    var json: String?
    @OptionGroup var engine: EngineOptions

    mutating func validate() throws {
        guard sequenceLength > 2 else { throw ValidationError("--sequence-length must exceed 2") }
    }

    func run() throws {
        engine.apply()
        let folder = try TrainingInputs.checkpointFolder(checkpoint)
        var figures: [String: JSONValue] = ["checkpoint": .string(folder.path)]
        let t0 = DispatchTime.now().uptimeNanoseconds
        if let corpus {
            let (model, _, _) = try Checkpoint.loadTransformer(from: folder)
            figures.merge(try simulation.apply(to: model, source: folder)) { a, _ in a }
            let tokenizer = try TextTokenizer.stored(in: folder)
            try tokenizer.check(model.maxArchitecture, source: folder.appendingPathComponent("config.json").path)
            let ids = try tokenizer.encode(try TrainingInputs.readCorpora([corpus]))
            guard sequenceLength <= model.maxArchitecture.maxPositions else {
                throw ValidationError("--sequence-length \(sequenceLength) exceeds the model's maxPositions \(model.maxArchitecture.maxPositions)")
            }
            let evaluation: LanguageModeling.Evaluation
            switch model.maxArchitecture.family {
            case .decoder:
                guard ids.count >= sequenceLength else {
                    throw ValidationError("\(corpus): \(ids.count) tokens, fewer than one window of \(sequenceLength)")
                }
                evaluation = LanguageModeling.causalEvaluation(model: model, tokens: ids, length: sequenceLength - 1,
                                                               maxWindows: maxWindows)
                figures["perplexity"] = .double(evaluation.perplexity)
            case .encoder:
                guard case .wordPiece(let wordPiece, _) = tokenizer else { throw ValidationError("an encoder checkpoint needs vocab.txt") }
                var rng = RandomGenerator(seed: 0)
                let head = MaskedLMHead(model.maxArchitecture, rng: &rng)
                _ = try Checkpoint.load(head, from: try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")))
                evaluation = LanguageModeling.maskedEvaluation(
                    model: model, head: head, tokens: ids, cls: wordPiece.clsId, sep: wordPiece.sepId,
                    masking: MaskedLanguageModeling(vocabSize: wordPiece.vocabSize, maskId: wordPiece.maskId, specialIds: wordPiece.specialIds),
                    length: sequenceLength, maxWindows: maxWindows)
                figures["mlm_perplexity"] = .double(evaluation.perplexity)
                if let teacher = distillation.teacher {
                    let kl = try relationKL(model: model, teacher: teacher, wordPiece: wordPiece, tokens: ids, corpus: corpus)
                    figures["attention_relation_kl"] = .double(kl)
                    print(String(format: "%@: attention-relation KL to the teacher %.5f", corpus, kl))
                }
            }
            if distillation.teacher != nil, model.maxArchitecture.family == .decoder { throw ValidationError("--teacher distils into encoders only (the teacher is an encoder)") }
            guard evaluation.tokens > 0 else {
                throw ValidationError("\(corpus): no token was predicted (no window of \(sequenceLength) tokens to evaluate)")
            }
            figures["loss"] = .double(evaluation.loss)
            figures["tokens"] = .int(evaluation.tokens)
            figures["corpus"] = .string(corpus)
            print(String(format: "%@: loss %.4f nats/token, perplexity %.3f over %d predicted tokens", corpus, evaluation.loss,
                         evaluation.perplexity, evaluation.tokens))
        } else {
            let taskModel = try TaskModel.load(folder)
            figures.merge(try simulation.apply(to: taskModel.model, source: folder, calibrationBatch: {
                try simulation.calibration.batch(for: taskModel, checkpoint: folder, data: task.data, maxLength: task.maxLength)
            })) { a, _ in a }
            let evaluation = try task.batches(for: taskModel, checkpoint: folder)
            let metrics = taskModel.evaluate(evaluation.batches)
            for (k, v) in metrics { figures[k] = v.isFinite ? .double(v) : .null }
            figures["task"] = .string(taskModel.task.rawValue)
            figures["examples"] = .int(evaluation.examples)
            print("\(taskModel.task.rawValue) \(task.split) (\(evaluation.examples) examples): "
                  + metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", "))
        }
        if distillation.teacher != nil && corpus == nil { throw ValidationError("--teacher applies to language modelling on --corpus") }
        figures["seconds"] = .double(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        if let json { try AtomicFile.write(Data((try JSONValue.object(figures).serialized(pretty: true) + "\n").utf8), to: URL(fileURLWithPath: json)) }
    }

    /// The mean attention-relation KL of `model` to `--teacher` over clean `[CLS] … [SEP]` windows of the corpus
    /// (batches of 16, batch i drawn with seed i), as `supernet train --teacher` distils and `search --objective
    /// distillation` scores.
    func relationKL(model: Transformer, teacher: String, wordPiece: WordPieceTokenizer, tokens: [Int32], corpus: String) throws -> Double {
        var rng = RandomGenerator(seed: 0)
        let folder = try TrainingInputs.checkpointFolder(checkpoint)
        let distiller = try Distiller(teacher: teacher, student: model.maxArchitecture, vocabulary: folder.appendingPathComponent("vocab.txt"),
                                      relationHeads: distillation.relationHeads, rng: &rng)
        let text = try TextCorpus(tokens: tokens, path: corpus)
        let windows = maxWindows ?? 64
        var sum = 0.0
        for (i, start) in stride(from: 0, to: windows, by: 16).enumerated() {
            let batch = try text.encoderBatch(batchSize: min(16, windows - start), length: sequenceLength, cls: wordPiece.clsId,
                                              sep: wordPiece.sepId, seed: UInt64(i))
            let kl = Autograd.noGrad { distiller.losses(student: model(batch), input: batch).1 }
            sum += Double(kl.item()) * Double(batch.batchSize)
        }
        return sum / Double(windows)
    }
}
