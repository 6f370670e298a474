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
    @Option(parsing: .unconditional, help: "Rank of the study's trial to train.", transform: NumberArgument.positive)
    var rank = 1
    @Option(help: "Initialise from the leading slices of this (larger) checkpoint, e.g. the teacher.")
    var initFrom: String?
    @OptionGroup var data: PretrainDataOptions
    @OptionGroup var schedule: StepScheduleOptions
    @OptionGroup var training: TrainingOptionGroup

    func run() throws {
        training.engine.apply()
        try OutputFolder.check(training.run)   // before any text is read
        let architecture = try TextModelSupport.architecture(arch: arch, study: study, rank: rank)
        let runURL = training.run, resume = training.resume
        let memory = try architecture.requireMemory(batch: training.batchSize, sequenceLength: data.sequenceLength,
                                                    outputs: architecture.languageModelOutputs, training: true,
                                                    source: arch ?? study ?? "--arch")
        // Under `mpirun -np K`: one rank of a data-parallel job (rank 0 alone writes and prints).
        let dataParallel = try DataParallelSupport.join(batchSize: training.batchSize)
        let text = try data.text(for: architecture, run: runURL, resume: resume, writes: dataParallel?.isRoot ?? true)
        let tok = text.tokenizer, corpusData = text.corpus, heldOut = text.heldOut
        let (batchSize, sequenceLength, evalWindows) = (training.batchSize, data.sequenceLength, data.evalWindows)

        var rng = RandomGenerator(seed: training.seed)
        let model = Transformer(architecture, rng: &rng)
        if let initFrom { try TrainingInputs.initialise(model, from: initFrom) }
        model.hiddenDropout = data.dropout
        model.attentionDropout = data.dropout
        let options = training.trainingOptions(
            steps: schedule.steps, warmupSteps: schedule.warmup, schedule: schedule.schedule,
            defaults: .init(learningRate: 5e-4, logEvery: 10),
            settings: data.settings.merging([
                "batch-size": "\(batchSize)", "init-from": initFrom ?? "",
                "architecture": (try? JSONValue(encoding: architecture).serialized(pretty: false)) ?? ""]) { a, _ in a })
        print("pretrain: \(architecture.family == .encoder ? "masked LM" : "causal LM"), "
              + String(format: "%.2fM parameters, ", Double(architecture.parameterCount) / 1e6)
              + "\(corpusData.tokens.count) training tokens, \(schedule.steps) steps of \(batchSize) × \(sequenceLength), "
              + "memory ≈ \(MemoryBudget.format(memory.value)) (estimate)"
              + (dataParallel.map { ", data-parallel over \($0.communicator.size) ranks" } ?? ""))

        switch architecture.family {
        case .decoder:
            guard data.teacher == nil else { throw ValidationError("--teacher distils into encoders only (the teacher is an encoder)") }
            let trainer = Trainer(run: runURL, options: options, model: model)
            trainer.dataParallel = dataParallel
            trainer.task = .object(["kind": .string("causal")])
            if case .characters(_, let file) = tok { trainer.files = [file] } else { trainer.vocabulary = tok.file }
            try trainer.prepare(resume: resume)
            let progress = TextModelSupport.attach(trainer, label: "pretrain", timeBudget: training.timeBudget)
            try trainer.train({ rng in
                // Every rank draws the whole batch and keeps its rows; each row has the same number of targets.
                let global = try corpusData.decoderBatch(batchSize: batchSize, length: sequenceLength, seed: rng.next())
                let batch = dataParallel?.rows(global) ?? global
                let out = model(batch, training: true, rng: &rng)
                let loss = DataParallel.share(CausalLMHead.loss(out.hidden, batch: batch, embeddings: model.wordEmbeddings),
                                              count: batch.batchSize, of: batchSize)!
                return .backward(loss, tokens: batch.batchSize * sequenceLength)
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
            let distiller = try data.distiller(student: architecture, vocabulary: vocabFile, rng: &rng)
            let trainer = Trainer(run: runURL, options: options, model: model, extra: [head] + (distiller?.modules ?? []))
            trainer.dataParallel = dataParallel
            trainer.task = .object(["kind": .string("mlm")])
            trainer.vocabulary = vocabFile
            try trainer.prepare(resume: resume)
            let progress = TextModelSupport.attach(trainer, label: "pretrain", timeBudget: training.timeBudget)
            try trainer.train({ rng in
                let clean = try corpusData.encoderBatch(batchSize: batchSize, length: sequenceLength, cls: wordPiece.clsId,
                                                        sep: wordPiece.sepId, seed: rng.next())
                // The whole batch is corrupted on every rank (the masks of a row do not depend on the ranks), then
                // each keeps its rows; its MLM loss is its share of the mean over the step's N targets.
                let (globalInput, globalTargets) = masking.corrupt(clean, using: &rng)
                let input = dataParallel?.rows(globalInput) ?? globalInput
                let targets = dataParallel?.rows(globalTargets, length: sequenceLength) ?? globalTargets
                let count = targets.reduce(0) { $1 != -100 ? $0 + 1 : $0 }
                let total = dataParallel?.globalCount(count) ?? count
                let out = model(input, training: true, rng: &rng)
                let mlm = DataParallel.share(LanguageModeling.maskedLoss(out.hidden, targets: targets, head: head,
                                                                         embeddings: model.wordEmbeddings, architecture: architecture),
                                             count: count, of: total)
                var loss = mlm.map { $0 * data.lmWeight }
                var metrics = ["mlm": mlm.map { Double($0.item()) } ?? 0]
                if let distiller {
                    let (hidden, relations) = distiller.losses(student: out, input: input)
                    let rows = Float(input.batchSize) / Float(batchSize)
                    let (h, r) = rows == 1 ? (hidden, relations) : (hidden * rows, relations * rows)
                    loss = loss.map { $0 + h * data.hiddenWeight + r * data.attentionWeight } ?? h * data.hiddenWeight + r * data.attentionWeight
                    metrics["hidden_mse"] = Double(h.item())
                    metrics["attention_kl"] = Double(r.item())
                }
                // A rank whose rows drew no masked position (and has no teacher) adds nothing this step.
                guard let loss else { return .init(loss: 0, tokens: input.batchSize * sequenceLength, metrics: metrics) }
                return .backward(loss, tokens: input.batchSize * sequenceLength, metrics: metrics)
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
