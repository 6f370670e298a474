import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas supernet`: one-shot NAS — train one weight-entangled supernet of a space, then score or
/// extract its sub-networks with their inherited weights.
struct SupernetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supernet", abstract: "Train a weight-entangled supernet of a space, or search it by gradient; extract its sub-networks.",
        subcommands: [SupernetTrain.self, SupernetSearch.self, SupernetExtract.self, SupernetBlockwise.self])
}

extension SamplingRuleKind: ExpressibleByArgument {}

/// `swiftnas supernet train`: masked-LM (encoder spaces) or causal-LM (decoder spaces) training of the
/// space's supernet under a sampling rule, optionally distilled from a teacher, with the checkpoints,
/// resume, log, progress line, NaN stop and Ctrl-C of `pretrain`.
struct SupernetTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train the weight-entangled supernet of a space (one-shot NAS).",
        discussion: """
            Rules: uniform (one random sub-network per step, AutoTinyBERT), sandwich (largest + smallest + N random,
            in-place distillation from the largest, BigNAS), complexity (the sandwich with the random members drawn
            over complexity bins whose probabilities shift toward the sizes that still improve, after ShiftNAS).
            With --experts m (Mixture-of-Supernets), every FFN holds m expert weights mixed by a router that reads the
            architecture (--routing layer: one weight per expert; neuron: one per expert and unit); `supernet extract`
            collapses them into a plain model of the member.
            Spaces: \(SearchSpace.builtinNames.joined(separator: ", ")), or a JSON space file.
            """)

    @Option(help: ArgumentHelp("A built-in space name or a space JSON file.", valueName: "name|file"))
    var space: String
    @Option(help: "Sampling rule: uniform, sandwich or complexity.")
    var rule: SamplingRuleKind = .sandwich
    @Option(parsing: .unconditional, help: "Random sub-networks per sandwich or complexity step.",
            transform: NumberArgument.nonNegative)
    var randomCount = 2
    @Option(parsing: .unconditional, help: "Complexity rule: bins of the space's complexity range.",
            transform: NumberArgument.positive)
    var bins = 8
    @Option(help: "Complexity rule: the complexity binned (params or flops).")
    var complexityCost: CostKind = .params
    @Option(parsing: .unconditional, help: "Complexity rule: steps between updates of the bin distribution.",
            transform: NumberArgument.nonNegative)
    var updateEvery = 50
    @Option(parsing: .unconditional, help: "Complexity rule: steps of uniform bins before the distribution shifts.",
            transform: NumberArgument.nonNegative)
    var binWarmup = 200
    @Option(parsing: .unconditional, help: "Complexity rule: the largest ratio between two bins' probabilities.",
            transform: NumberArgument.atLeastOne)
    var maxRatio = 4.0
    @Option(parsing: .unconditional, help: "The learning rate the decay ends at and never goes below (BigNAS keeps a floor).",
            transform: NumberArgument.nonNegative)
    var lrFloor: Float = 0
    @Option(parsing: .unconditional, help: "Mixture-of-Supernets: FFN experts per layer, mixed by an architecture router (1: a plain supernet).",
            transform: NumberArgument.positive)
    var experts = 1
    @Option(help: "Mixture-of-Supernets routing: layer (one weight per expert) or neuron (one per expert and output unit).")
    var routing: ExpertRouting.Granularity = .layer
    @Option(parsing: .unconditional, help: "Mixture-of-Supernets: the router's hidden width.", transform: NumberArgument.positive)
    var routerHidden = 64
    @Flag(help: "With --teacher: distil every sub-network of a sandwich or complexity step from the teacher, not only the largest (AutoDistil; with --lm-weight 0 the in-place distillation from the largest is off).")
    var teacherForEveryMember = false
    @Option(parsing: .unconditional, help: ArgumentHelp(
                "AutoDistil: cut the space into K sub-spaces by size (or take those of a partition file given as --space) and train one supernet per sub-space in OUT/subspace-1…K, each for a K-th of --steps and --time-budget.",
                valueName: "K"), transform: NumberArgument.positive)
    var subspaces: Int?
    @OptionGroup var data: PretrainDataOptions
    @OptionGroup var schedule: StepScheduleOptions
    @OptionGroup var training: TrainingOptionGroup

    mutating func validate() throws {
        if let subspaces, schedule.steps < subspaces { throw ValidationError("--steps \(schedule.steps) cannot be shared by \(subspaces) sub-spaces") }
        if teacherForEveryMember, data.teacher == nil { throw ValidationError("--teacher-for-every-member needs --teacher") }
        guard complexityCost != .latency else { throw ValidationError("--complexity-cost takes params or flops") }
        guard lrFloor <= (training.lr ?? 5e-4) else {
            throw ValidationError("--lr-floor must not exceed the peak --lr")
        }
    }

    func run() throws {
        training.engine.apply()
        try OutputFolder.check(training.run)
        guard let partition = try Search.resolvePartition(space, count: subspaces) else {
            return try train(space: try Search.resolveSpace(space), run: training.run, resume: training.resume,
                             steps: schedule.steps, timeBudget: training.timeBudget)
        }
        // AutoDistil: one supernet per sub-space, each with a K-th of the budget, one after the other.
        try DataParallelSupport.refuse("supernet train with sub-spaces")
        let k = partition.subspaces.count
        for space in partition.subspaces { try Supernet.checkCoverage(space) }   // before any text is read or file written
        let file = training.run.appendingPathComponent(SubspacePartition.fileName)
        if training.resume, FileManager.default.fileExists(atPath: file.path) {
            guard try SubspacePartition.load(from: file) == partition else {
                throw ValidationError("\(file.path): the run was trained on other sub-spaces than --space \(space) gives; resume with the same --space")
            }
        } else {
            guard !FileManager.default.fileExists(atPath: file.path) else {
                throw ValidationError("\(training.run.path) already holds a sub-space run; pass --resume to continue it or choose another --out")
            }
            try OutputFolder.create(training.run)
            try AtomicFile.write(Data((try partition.json.serialized(pretty: true) + "\n").utf8), to: file)
        }
        print("supernet: \(k) sub-spaces of \(partition.name) (AutoDistil), \(schedule.steps / k) steps each")
        for (i, space) in partition.subspaces.enumerated() {
            let run = training.run.appendingPathComponent(SubspacePartition.runName(i))
            try train(space: space, run: run, resume: training.resume && FileManager.default.fileExists(atPath: run.path),
                      steps: schedule.steps / k, timeBudget: training.timeBudget.map { $0 / Double(k) })
        }
    }

    /// Trains the supernet of `space` in `run` for `steps` steps (or `timeBudget` minutes).
    func train(space: SearchSpace, run runURL: URL, resume: Bool, steps stepCount: Int, timeBudget: Double?) throws {
        try Supernet.checkCoverage(space)   // before any text is read or file written
        let largest = space.largest
        try largest.requireMemory(batch: training.batchSize, sequenceLength: data.sequenceLength, outputs: largest.languageModelOutputs,
                                  training: true, source: "the largest member of --space \(space.name)")
        // Under `mpirun -np K`: one rank of a data-parallel job (rank 0 alone writes and prints).
        let dataParallel = try DataParallelSupport.join(batchSize: training.batchSize)
        if teacherForEveryMember, dataParallel != nil { try DataParallelSupport.refuse("supernet train --teacher-for-every-member") }
        let text = try data.text(for: largest, run: runURL, resume: resume, writes: dataParallel?.isRoot ?? true)
        let (batchSize, length) = (training.batchSize, data.sequenceLength)

        var rng = RandomGenerator(seed: training.seed)
        let routing = experts > 1 ? ExpertRouting(experts: experts, granularity: self.routing, hidden: routerHidden) : nil
        let supernet = try Supernet(space: space, routing: routing, rng: &rng)
        supernet.model.hiddenDropout = data.dropout
        supernet.model.attentionDropout = data.dropout
        let samplingRule = try rule.make(space: space, seed: training.seed, randomCount: randomCount, complexity: .init(
            bins: bins, cost: complexityCost, sequenceLength: length, updateEvery: updateEvery, warmupSteps: binWarmup, maxRatio: maxRatio))
        let options = training.trainingOptions(
            steps: stepCount, warmupSteps: schedule.warmup, schedule: schedule.schedule,
            defaults: .init(learningRate: 5e-4, logEvery: 10), learningRateFloor: lrFloor,
            settings: data.settings.merging([
                "batch-size": "\(batchSize)", "space": (try? space.json.serialized(pretty: false)) ?? space.name,
                "rule": rule.rawValue, "random-count": "\(randomCount)", "bins": "\(bins)",
                "complexity-cost": complexityCost.rawValue, "update-every": "\(updateEvery)"]
                // Added later: recorded for the complexity rule only, so older runs of the other rules still resume.
                .merging(rule == .complexity ? ["bin-warmup": "\(binWarmup)", "max-ratio": "\(maxRatio)"] : [:]) { a, _ in a }
                .merging(teacherForEveryMember ? ["teacher-for-every-member": "true"] : [:]) { a, _ in a }
                .merging(routing.map { ["experts": "\($0.experts)", "routing": $0.granularity.rawValue, "router-hidden": "\($0.hidden)"] } ?? [:])
                    { a, _ in a }) { a, _ in a })

        var distiller: Distiller?
        var masking: MaskedLanguageModeling?
        var wordPiece: WordPieceTokenizer?
        switch (space.family, text.tokenizer) {
        case (.encoder, .wordPiece(let w, let vocabFile)):
            wordPiece = w
            masking = MaskedLanguageModeling(vocabSize: space.vocabSize, maskId: w.maskId, specialIds: w.specialIds)
            // Under the uniform rule members of every width are distilled, through the projection's leading columns.
            distiller = try data.distiller(student: largest, vocabulary: vocabFile, projectAlways: rule == .uniform || teacherForEveryMember,
                                           rng: &rng)
        case (.encoder, .characters):
            throw ValidationError("encoder spaces are trained with a WordPiece vocabulary (--tokenizer vocab.txt)")
        case (.decoder, _):
            guard data.teacher == nil else { throw ValidationError("--teacher distils into encoders only (the teacher is an encoder)") }
        }
        if let distiller, rule == .uniform || teacherForEveryMember { try Self.checkRelationHeads(space, distiller.relationHeads) }

        let trainer = Trainer(run: runURL, options: options, model: supernet.model, extra: supernet.modules + (distiller?.modules ?? []))
        if case .characters(_, let file) = text.tokenizer { trainer.files = [file] } else { trainer.vocabulary = text.tokenizer.file }
        trainer.dataParallel = dataParallel
        try trainer.prepare(resume: resume)
        let steps = SupernetTraining(supernet: supernet, rule: samplingRule)
        steps.dataParallel = dataParallel
        steps.labelWeight = data.lmWeight
        steps.teacherForEveryMember = teacherForEveryMember
        if let distiller {
            let (hiddenWeight, attentionWeight) = (data.hiddenWeight, data.attentionWeight)
            steps.teacherLoss = { out, input in
                let (hidden, relations) = distiller.losses(student: out, input: input)
                return (hidden * hiddenWeight + relations * attentionWeight,
                        ["hidden_mse": Double(hidden.item()), "attention_kl": Double(relations.item())])
            }
        }
        try steps.attach(to: trainer)
        // --eval-windows held-out windows, scored in chunks of 16 (chunk i drawn with seed i).
        let heldOut = try text.heldOut.map { tokens in
            try stride(from: 0, to: data.evalWindows, by: 16).enumerated().map { i, start in
                try HeldOutBatch(tokens: tokens, path: data.validation ?? "", tokenizer: text.tokenizer, family: space.family,
                                 vocabSize: space.vocabSize, batchSize: min(16, data.evalWindows - start), length: length,
                                 seed: UInt64(i))
            }
        }
        print("supernet: \(space.name), rule \(rule.rawValue), largest "
              + String(format: "%.2fM, smallest %.2fM parameters, ", Double(largest.parameterCount) / 1e6,
                       Double(space.smallest.parameterCount) / 1e6)
              + "\(text.corpus.tokens.count) training tokens, \(stepCount) steps of \(batchSize) × \(length)"
              + (dataParallel.map { ", data-parallel over \($0.communicator.size) ranks" } ?? ""))
        let progress = TextModelSupport.attach(trainer, label: "supernet", timeBudget: timeBudget)
        try trainer.train({ rng in
            // Every rank draws (and corrupts) the whole batch, then keeps its rows.
            var input: TokenBatch, targets: [Int32]?
            if let masking, let wordPiece {
                let clean = try text.corpus.encoderBatch(batchSize: batchSize, length: length, cls: wordPiece.clsId,
                                                         sep: wordPiece.sepId, seed: rng.next())
                (input, targets) = masking.corrupt(clean, using: &rng)
            } else {
                input = try text.corpus.decoderBatch(batchSize: batchSize, length: length, seed: rng.next())
                targets = nil
            }
            if let dataParallel {
                targets = targets.map { dataParallel.rows($0, length: length) }
                input = dataParallel.rows(input)
            }
            return try steps.step(trainer.step, input: input, targets: targets, tokens: input.batchSize * length, rng: &rng)
        }, evaluate: heldOut.map { chunks in {
            /// The token-weighted mean loss of `arch` over the held-out chunks.
            func loss(_ arch: Architecture) throws -> Double {
                let parts = try chunks.map { try supernet.evaluation(of: arch, input: $0.input, targets: $0.targets) }
                return parts.reduce(0) { $0 + $1.loss * Double($1.tokens) } / Double(max(parts.reduce(0) { $0 + $1.tokens }, 1))
            }
            return ["largest_loss": try loss(largest), "smallest_loss": try loss(space.smallest)]
        } })
        try TextModelSupport.finish(trainer, progress: progress)
    }

    /// Under the uniform rule (or --teacher-for-every-member) every sampled sub-network is distilled from the teacher, so the last layer's
    /// qkv of every member must split into the relation heads.
    static func checkRelationHeads(_ space: SearchSpace, _ heads: Int) throws {
        var rng = RandomGenerator(seed: 0)
        for arch in [space.smallest] + (0..<256).map({ _ in space.decode(space.sample(using: &rng)) }) {
            guard let last = arch.layers.last, last.qkv % heads == 0 else {
                throw ValidationError("the uniform rule distils every sampled sub-network, but a member's last layer has qkv "
                                      + "\(arch.layers.last?.qkv ?? 0), not divisible by \(heads) relation heads; set --relation-heads")
            }
        }
    }
}

/// `swiftnas supernet extract`: a standalone checkpoint of one sub-network, its weights copied from the
/// supernet's leading slices (equal to the slice), which `finetune`, `evaluate` and `export` take.
struct SupernetExtract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract", abstract: "Write a sub-network of a trained supernet as a standalone checkpoint.")

    @Option(help: "Supernet checkpoint (a `supernet train` run folder or one of its checkpoint folders).")
    var supernet: String
    @Option(help: "Architecture file (JSON) of the sub-network.")
    var arch: String
    @Option(help: "Output folder (must not exist).")
    var out: String

    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        let folder = try TrainingInputs.checkpointFolder(supernet)
        let net = try Supernet.load(from: folder)
        let architecture = try Architecture.load(from: URL(fileURLWithPath: arch))
        guard net.model.holds(architecture) else {
            throw ValidationError("\(arch): the architecture is not a sub-network of the supernet \(folder.path) "
                                  + "(space \(net.space.name); largest \(net.largest.depth) layers, hidden \(net.largest.hidden))")
        }
        let target = URL(fileURLWithPath: out)
        let (model, head) = net.extract(architecture)
        let fm = FileManager.default
        try OutputFolder.createNew(target) { staging in
            let vocabulary = folder.appendingPathComponent("vocab.txt"), characters = folder.appendingPathComponent(TextTokenizer.characterFile)
            try Checkpoint.save(model, extra: head.map { [$0] } ?? [],
                                vocabulary: fm.fileExists(atPath: vocabulary.path) ? vocabulary : nil, to: staging)
            if fm.fileExists(atPath: characters.path) { try fm.copyItem(at: characters, to: staging.appendingPathComponent(characters.lastPathComponent)) }
            try TrainingCheckpoint.addToConfig(staging.appendingPathComponent("config.json"), key: "swiftnas_task",
                                               value: .object(["kind": .string(net.objectiveName)]))
        }
        print(String(format: "extracted %d layers, hidden %d (%.2fM parameters) → %@", architecture.depth, architecture.hidden,
                     Double(architecture.parameterCount) / 1e6, target.path))
    }
}
