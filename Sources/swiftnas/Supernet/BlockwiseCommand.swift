import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas supernet blockwise`: block-wise distillation search (DNA) — per-block supernets trained on a teacher's
/// hidden states, members rated by their summed block losses, blocks combined under a parameter budget.
struct SupernetBlockwise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blockwise", abstract: "Block-wise distillation search (DNA): train, rate members, combine blocks under a budget.",
        discussion: """
            The teacher's layers are cut into --blocks equal blocks; block b of the student (its share of a member's layers,
            the first blocks taking the extra ones) is a small elastic supernet trained to map the teacher's hidden states at
            the block's input to those at its output, through learned linear adapters (block 0 reads the tokens through the
            student's own embeddings). A member's rating is its summed normalised block loss (lower is better).
            """,
        subcommands: [BlockwiseTrain.self, BlockwiseRate.self, BlockwiseCombine.self])
}

/// `supernet blockwise train`.
struct BlockwiseTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train the per-block supernets of an encoder space on a teacher's hidden states (DNA).")

    @Option(help: ArgumentHelp("A built-in space name or a space JSON file (encoder).", valueName: "name|file"))
    var space: String
    @Option(parsing: .unconditional, help: "Blocks (must divide the teacher's layers).", transform: NumberArgument.positive)
    var blocks = 2
    @Flag(help: "BossNAS: no teacher — each block predicts the ensemble of a moving-average target's sampled members on a second view.")
    var selfSupervised = false
    @Option(parsing: .unconditional, help: "Self-supervised: the target's moving-average momentum.", transform: NumberArgument.unit)
    var momentum: Float = 0.99
    @Option(parsing: .unconditional, help: "Self-supervised: members per block per step (the ensemble's size).", transform: NumberArgument.positive)
    var paths = 2
    @OptionGroup var data: PretrainDataOptions
    @OptionGroup var schedule: StepScheduleOptions
    @OptionGroup var training: TrainingOptionGroup

    func validate() throws {
        guard selfSupervised == (data.teacher == nil) else {
            throw ValidationError(selfSupervised ? "--self-supervised trains without --teacher"
                                                 : "supernet blockwise train needs --teacher (the encoder its blocks learn from), or --self-supervised")
        }
        guard momentum < 1 else { throw ValidationError("--momentum must be below 1") }
    }

    func run() throws {
        training.engine.apply()
        try DataParallelSupport.refuse("supernet blockwise train")
        try OutputFolder.check(training.run)
        let space = try Search.resolveSpace(self.space)
        let teacher = try data.teacher.map { try BlockwiseInputs.teacher($0, vocabSize: space.vocabSize) }
        let (batchSize, length) = (training.batchSize, data.sequenceLength)
        try space.largest.requireMemory(batch: batchSize, sequenceLength: length, outputs: 0, training: true,
                                        source: "the largest member of --space \(space.name)")
        let text = try data.text(for: space.largest, run: training.run, resume: training.resume)
        guard case .wordPiece(let wordPiece, let vocabFile) = text.tokenizer else {
            throw ValidationError("block-wise training reads WordPiece text (--tokenizer vocab.txt\(teacher == nil ? "" : ", the teacher's"))")
        }
        if let path = data.teacher { try BlockwiseInputs.checkVocabulary(vocabFile, teacher: path) }
        var rng = RandomGenerator(seed: training.seed)
        // The trained weights, the step and the checkpoints' task: DNA's (teacher) or BossNAS's (bootstrapping).
        let net: BlockwiseSupernet, extra: [Module], task: JSONValue
        let step: (Int, TokenBatch, inout RandomGenerator) throws -> Trainer.StepResult
        let rater: BlockwiseRater
        if let teacher {
            net = try BlockwiseSupernet(space: space, blocks: blocks, width: teacher.maxArchitecture.outputWidth, rng: &rng)
            let dna = try BlockwiseTraining(supernet: net, teacher: teacher, seed: training.seed)
            (extra, task) = (net.modules, net.task)
            step = { try dna.step($0, input: $1, tokens: batchSize * length, rng: &$2) }
            rater = .teacher(net, teacher)
        } else {
            let masking = MaskedLanguageModeling(vocabSize: space.vocabSize, maskId: wordPiece.maskId, specialIds: wordPiece.specialIds)
            let boss = try BlockwiseBootstrapping(space: space, blocks: blocks, masking: masking, momentum: momentum, paths: paths,
                                                  seed: training.seed, rng: &rng)
            net = boss.online
            (extra, task) = (boss.modules, boss.task)
            step = { boss.step($0, input: $1, tokens: batchSize * length, rng: &$2) }
            rater = .bootstrapping(boss)
        }
        net.model.hiddenDropout = data.dropout
        net.model.attentionDropout = data.dropout
        var settings = ["batch-size": "\(batchSize)", "blocks": "\(blocks)", "space": (try? space.json.serialized(pretty: false)) ?? space.name]
        if selfSupervised { settings.merge(["momentum": "\(momentum)", "paths": "\(paths)"]) { a, _ in a } }
        let options = training.trainingOptions(
            steps: schedule.steps, warmupSteps: schedule.warmup, schedule: schedule.schedule, defaults: .init(learningRate: 5e-4, logEvery: 10),
            settings: data.settings.merging(settings) { a, _ in a })
        let trainer = Trainer(run: training.run, options: options, model: net.model, extra: extra)
        trainer.vocabulary = vocabFile
        trainer.task = task
        try trainer.prepare(resume: training.resume)
        // Held-out: the largest's and the smallest's ratings on clean windows of --validation (self-supervised: each
        // one's distance to the population's centre).
        let heldOut = try text.heldOut.map { tokens in
            try TextCorpus(tokens: tokens, path: data.validation ?? "").encoderBatch(
                batchSize: min(16, data.evalWindows), length: length, cls: wordPiece.clsId, sep: wordPiece.sepId, seed: 0)
        }
        print("blockwise: \(space.name) in \(blocks) blocks (student layers per block at most \(net.depths)), "
              + (teacher == nil ? "self-supervised (BossNAS, \(paths) paths, momentum \(momentum))" : "teacher width \(net.width)")
              + ", \(text.corpus.tokens.count) training tokens, \(schedule.steps) steps of \(batchSize) × \(length)")
        let progress = TextModelSupport.attach(trainer, label: "blockwise", timeBudget: training.timeBudget)
        try trainer.train({ rng in
            let input = try text.corpus.encoderBatch(batchSize: batchSize, length: length, cls: wordPiece.clsId, sep: wordPiece.sepId,
                                                     seed: rng.next())
            return try step(trainer.step, input, &rng)
        }, evaluate: heldOut.map { batch in {
            let r = try rater.ratings([space.largest, space.smallest], input: batch)
            return ["largest_loss": r[0].reduce(0, +), "smallest_loss": r[1].reduce(0, +)]
        } })
        try TextModelSupport.finish(trainer, progress: progress)
    }
}

/// A trained block-wise supernet's ratings of members: per member, per block (lower is better).
enum BlockwiseRater {
    /// DNA: the block losses against the teacher's states.
    case teacher(BlockwiseSupernet, Transformer)
    /// BossNAS: the distances of the target's outputs to the population's centre.
    case bootstrapping(BlockwiseBootstrapping)

    var supernet: BlockwiseSupernet {
        switch self { case .teacher(let net, _): return net; case .bootstrapping(let boss): return boss.online }
    }

    func ratings(_ members: [Architecture], input: TokenBatch) throws -> [[Double]] {
        switch self {
        case .teacher(let net, let teacher):
            let states = try BlockwiseSupernet.teacherStates(teacher, input: input, blocks: net.blocks)
            return members.map { net.blockLosses(of: $0, input: input, states: states) }
        case .bootstrapping(let boss):
            return boss.ratings(members, input: input)
        }
    }
}

/// What rating and combining share: the trained supernet (with its teacher, or self-supervised) and a held-out batch.
struct BlockwiseInputs: ParsableArguments {
    @Option(help: "A `supernet blockwise train` run or checkpoint folder.")
    var supernet: String
    @Option(help: "The teacher it was trained on (none for a self-supervised supernet).")
    var teacher: String?
    @Option(help: "Held-out text the members are rated on.")
    var corpus = "../shared/data/wikitext-2/valid.txt"
    @Option(parsing: .unconditional, help: "Windows of held-out text (clean [CLS] … [SEP] windows).", transform: NumberArgument.positive)
    var windows = 32
    @Option(parsing: .unconditional, help: "Tokens per window.", transform: NumberArgument.positive)
    var sequenceLength = 128
    @OptionGroup var engine: EngineOptions

    /// The rater and the held-out batch (seed 0).
    func load() throws -> (rater: BlockwiseRater, input: TokenBatch) {
        engine.apply()
        let folder = try TrainingInputs.checkpointFolder(supernet)
        let stored = try BlockwiseSupernet.stored(in: folder)
        let vocab = folder.appendingPathComponent("vocab.txt")
        let wordPiece = try WordPieceTokenizer(vocabularyURL: vocab)
        let rater: BlockwiseRater
        if stored.bootstrapping != nil {
            guard teacher == nil else { throw ValidationError("\(folder.path) is self-supervised (BossNAS): it is rated without --teacher") }
            rater = .bootstrapping(try BlockwiseBootstrapping.load(from: folder, masking: MaskedLanguageModeling(
                vocabSize: stored.space.vocabSize, maskId: wordPiece.maskId, specialIds: wordPiece.specialIds)))
        } else {
            guard let teacher else { throw ValidationError("\(folder.path) was trained on a teacher: give it with --teacher") }
            let teacherModel = try Self.teacher(teacher, vocabSize: stored.space.vocabSize)
            guard teacherModel.maxArchitecture.outputWidth == stored.width else {
                throw ValidationError("--teacher \(teacher) is \(teacherModel.maxArchitecture.outputWidth) wide; the supernet was trained on a teacher of width \(stored.width)")
            }
            try Self.checkVocabulary(vocab, teacher: teacher)
            rater = .teacher(try BlockwiseSupernet.load(from: folder), teacherModel)
        }
        guard sequenceLength <= stored.space.maxPositions else {
            throw ValidationError("--sequence-length \(sequenceLength) exceeds the space's maxPositions \(stored.space.maxPositions)")
        }
        let text = try TextCorpus(tokens: wordPiece.encode(try TrainingInputs.readCorpora([corpus])), path: corpus)
        return (rater, try text.encoderBatch(batchSize: windows, length: sequenceLength, cls: wordPiece.clsId, sep: wordPiece.sepId, seed: 0))
    }

    /// The teacher checkpoint (dropout off), an encoder of the space's vocabulary.
    static func teacher(_ path: String, vocabSize: Int) throws -> Transformer {
        let (model, _, _) = try Checkpoint.loadTransformer(from: try TrainingInputs.checkpointFolder(path))
        guard model.maxArchitecture.family == .encoder, model.maxArchitecture.vocabSize == vocabSize else {
            throw ValidationError("--teacher \(path): expected an encoder of vocabulary \(vocabSize), got a \(model.maxArchitecture.family) of \(model.maxArchitecture.vocabSize)")
        }
        model.hiddenDropout = 0
        model.attentionDropout = 0
        return model
    }

    /// The student's vocabulary file must be the teacher's (when the teacher has one): they read the same tokens.
    static func checkVocabulary(_ vocab: URL, teacher: String) throws {
        let theirs = try TrainingInputs.checkpointFolder(teacher).appendingPathComponent("vocab.txt")
        if let a = try? Data(contentsOf: theirs), let b = try? Data(contentsOf: vocab), a != b {
            throw ValidationError("vocabulary mismatch: \(vocab.path) differs from the teacher's \(theirs.path)")
        }
    }
}

/// `supernet blockwise rate`.
struct BlockwiseRate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate", abstract: "Rate members by their summed held-out block losses (lower is better).",
        discussion: "A self-supervised supernet rates each member by its distance to the centre of 16 members drawn from the space (seeded).")

    @OptionGroup var inputs: BlockwiseInputs
    @Option(help: ArgumentHelp("Architecture file of a member; repeat for several.", valueName: "file"))
    var arch: [String]
    @Option(help: "Write the ratings as JSON to this file.")
    var json: String?

    func run() throws {
        guard !arch.isEmpty else { throw ValidationError("give at least one --arch") }
        let (rater, input) = try inputs.load()
        let space = rater.supernet.space
        let members = try arch.map { path in
            let a = try Architecture.load(from: URL(fileURLWithPath: path))
            guard space.encode(a) != nil else { throw ValidationError("\(path): not a member of the supernet's space \(space.name)") }
            return a
        }
        var rows: [JSONValue] = []
        for ((path, a), losses) in zip(zip(arch, members), try rater.ratings(members, input: input)) {
            let total = losses.reduce(0, +)
            print(String(format: "%@  %.2fM parameters  blocks %@  rating %.5f", path, Double(a.parameterCount) / 1e6,
                         losses.map { String(format: "%.5f", $0) }.joined(separator: " "), total))
            rows.append(.object(["arch": .string(path), "parameters": .int(a.parameterCount),
                                 "blocks": .array(losses.map(JSONValue.double)), "rating": .double(total)]))
        }
        if let json { try AtomicFile.write(Data((try JSONValue.array(rows).serialized(pretty: true) + "\n").utf8), to: URL(fileURLWithPath: json)) }
    }
}

/// `supernet blockwise combine`.
struct BlockwiseCombine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "combine", abstract: "The student with the least summed block loss under a parameter or latency budget (exact DP over rated block candidates).",
        discussion: """
            Each block's candidates are the block's parts of --candidates members drawn from the space (seeded), rated on the
            held-out batch (self-supervised: by the distance to the centre of 16 members drawn from the space); the combination is
            exact over them. The student is block 0's embeddings and layers, then each later block's layers, one linear map at
            every boundary (the two adapters the neighbouring blocks were trained with, composed: h → h'; a block without layers
            composes its own into it) and the last block's adapter to the teacher's width. Its parameters count all of them.
            --max-latency sums the parts' measured latencies (embeddings, each block's layers, each map) in the DP, then
            re-measures the chosen student whole; over the budget, the DP runs again with the budget divided by that student's
            whole-to-parts latency ratio (up to 5 rounds). --student writes the student as a checkpoint (the maps ship in it).
            """)

    @OptionGroup var inputs: BlockwiseInputs
    @Option(parsing: .unconditional, help: "Budget: at most this many parameters (adapters included).", transform: NumberArgument.positive)
    var maxParams: Double?
    @Option(parsing: .unconditional, help: "Budget: at most this CPU latency in ms (the parts' measured latencies summed).",
            transform: NumberArgument.positive)
    var maxLatency: Double?
    @Option(parsing: .unconditional, help: "Latency: batch size (of --sequence-length tokens).", transform: NumberArgument.positive)
    var latencyBatch = 1
    @Option(parsing: .unconditional, help: "Latency: engine threads.", transform: NumberArgument.threads)
    var latencyThreads = 1
    @Option(parsing: .unconditional, help: "Members drawn per block for its candidates.", transform: NumberArgument.positive)
    var candidates = 200
    @Option(parsing: .unconditional, help: "Seed of the members drawn.", transform: NumberArgument.seed)
    var seed: UInt64 = 0
    @Option(help: "Write the chosen student (its blocks, rating, parameters and latency) as JSON here.")
    var out: String
    @Option(help: "Also write the chosen student as a checkpoint folder (must not exist).")
    var student: String?

    func validate() throws {
        guard (maxParams == nil) != (maxLatency == nil) else { throw ValidationError("give one budget: --max-params or --max-latency") }
    }

    func run() throws {
        try OutputFolder.check(URL(fileURLWithPath: out).deletingLastPathComponent())
        if let student { try OutputFolder.check(URL(fileURLWithPath: student)) }
        let (rater, input) = try inputs.load()
        let net = rater.supernet
        var rng = RandomGenerator(seed: seed)
        let members = (0..<candidates).map { _ in net.space.decode(net.space.sample(using: &rng)) }
        let ratings = try rater.ratings(members, input: input)
        var perBlock: [[BlockwiseCombination.Candidate]] = []
        for b in 0..<net.blocks {
            var seen = Set<String>(), rated: [BlockwiseCombination.Candidate] = []
            for (arch, r) in zip(members, ratings) {
                let part = Array(net.layers(of: arch, block: b))
                guard seen.insert("\(arch.hidden) \(part)").inserted else { continue }
                rated.append(.init(hidden: arch.hidden, layers: part, loss: r[b]))
            }
            perBlock.append(rated)
            print("block \(b): \(rated.count) distinct candidates rated, best loss \(String(format: "%.5f", rated.map(\.loss).min() ?? .nan))")
        }
        let (vocabSize, positions) = (net.space.vocabSize, net.space.maxPositions)
        let meter = LatencyMeter(batchSize: latencyBatch, sequenceLength: inputs.sequenceLength, threads: latencyThreads)
        let parameters = BlockwiseCombination.Cost.parameters(vocabSize: vocabSize, maxPositions: positions)
        let latency = maxLatency.map { _ in BlockwiseCombination.Cost.latency(meter: meter, like: net.space.largest, seed: seed) }
        if maxLatency != nil {
            print("latency: timing every part (batch \(latencyBatch) × \(inputs.sequenceLength), \(latencyThreads) thread(s), median of \(meter.runs))…")
        }
        // The chosen student itself: its parameters counted from its tensors, its latency measured whole (under a latency
        // budget, until it fits: `BlockwiseCombination.best(measuredBudget:)`).
        let batch = meter.tokens(vocabSize: vocabSize, seed: seed)
        func measure(_ choice: BlockwiseCombination.Choice) -> Double {
            let built = BlockwiseStudent(supernet: net, chosen: choice.candidates)
            return meter.time { withExtendedLifetime(built(batch)) {} }
        }
        let rounds: [(choice: BlockwiseCombination.Choice, measured: Double)]
        if let maxLatency, let latency {
            rounds = BlockwiseCombination.best(perBlock, cost: latency, width: net.width, measuredBudget: maxLatency, measure: measure)
            for (i, r) in rounds.enumerated() where r.measured > maxLatency {
                print(String(format: "round %d: summed %.2f ms, measured whole %.2f ms > %g ms", i + 1, r.choice.cost, r.measured, maxLatency)
                      + (i + 1 < rounds.count ? ": the DP runs again, its budget divided by the whole-to-parts ratio" : ""))
            }
        } else {
            rounds = BlockwiseCombination.best(perBlock, cost: parameters, width: net.width, budget: maxParams!).map { [($0, measure($0))] } ?? []
        }
        guard let (choice, measured) = rounds.last, measured <= (maxLatency ?? .infinity) else {
            throw ValidationError("no combination of the rated candidates fits in " + (maxLatency.map { "\($0) ms" } ?? "\(Int(maxParams!)) parameters")
                                  + (rounds.isEmpty ? "" : " when measured whole (\(rounds.count) rounds)"))
        }
        try write(choice: choice, student: BlockwiseStudent(supernet: net, chosen: choice.candidates), measured: measured, rater: rater,
                  input: input, width: net.width)
    }

    /// Writes the report (and the checkpoint) of the chosen student and prints its summary.
    func write(choice: BlockwiseCombination.Choice, student built: BlockwiseStudent, measured: Double, rater: BlockwiseRater,
               input: TokenBatch, width: Int) throws {
        let count = built.model.parameterElementCount + built.output.parameterElementCount
        let heldOut: Double? = if case .teacher(_, let teacher) = rater { built.loss(teacher: teacher, input: input) } else { nil }
        let blocks: [JSONValue] = choice.candidates.map { c in
            .object(["hidden": .int(c.hidden), "loss": .double(c.loss),
                     "layers": .array(c.layers.map { .object(["heads": .int($0.heads), "qkv": .int($0.qkv), "ffn": .int($0.ffn)]) })])
        }
        var report: [String: JSONValue] = ["rating": .double(choice.loss), "parameters": .int(count), "width": .int(width),
                                           "blocks": .array(blocks), "measured_latency_ms": .double(measured),
                                           "latency": .object(["batch": .int(latencyBatch), "length": .int(inputs.sequenceLength),
                                                               "threads": .int(latencyThreads)])]
        if maxLatency != nil { report["summed_latency_ms"] = .double(choice.cost) }
        if let heldOut { report["student_loss"] = .double(heldOut) }
        try AtomicFile.write(Data((try JSONValue.object(report).serialized(pretty: true) + "\n").utf8), to: URL(fileURLWithPath: out))
        if let student {
            try built.save(to: URL(fileURLWithPath: student), vocabulary: try TrainingInputs.checkpointFolder(inputs.supernet).appendingPathComponent("vocab.txt"))
        }
        print(String(format: "chosen: rating %.5f, %.2fM parameters (adapters included), widths %@", choice.loss, Double(count) / 1e6,
                     choice.candidates.map { "\($0.hidden)×\($0.layers.count)" }.joined(separator: ", "))
              + (maxLatency != nil ? String(format: ", latency summed %.2f ms", choice.cost) : "")
              + String(format: ", measured whole %.2f ms", measured)
              + (heldOut.map { String(format: ", held-out loss against the teacher's output %.5f", $0) } ?? "")
              + " → \(out)" + (student.map { " and \($0)" } ?? ""))
    }
}
