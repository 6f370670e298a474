import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// The methods of `supernet search`: gradient-based (the sampler that turns α into mixing weights);
/// SPOS — weights trained on one uniformly drawn sub-network per step (the `uniform` rule), then random
/// search or regularized evolution scored by the inherited weights (the non-gradient baselines); or ENAS —
/// the controller's children trained in alternation with the controller (`ENASTraining`).
enum SearchMethod: String, CaseIterable, ExpressibleByArgument {
    case darts, drnas, gdas, sposRS = "spos-rs", sposRE = "spos-re", enas, enasBuffer = "enas-buffer"

    var sampler: any ArchitectureSampler {
        switch self {
        case .darts: return ArchitectureSamplerKind.darts.make()
        case .drnas: return ArchitectureSamplerKind.drnas.make()
        case .gdas: return ArchitectureSamplerKind.gdas.make()
        case .sposRS, .sposRE, .enas, .enasBuffer: return ArchitectureSamplerKind.spos.make()
        }
    }

    var isGradient: Bool { [.darts, .drnas, .gdas].contains(self) }
    var isENAS: Bool { self == .enas || self == .enasBuffer }

    /// The search strategy of the SPOS methods (nil: gradient-based).
    var strategy: String? {
        switch self {
        case .sposRS: return "random"
        case .sposRE: return "regularized-evolution"
        case .darts, .drnas, .gdas, .enas, .enasBuffer: return nil
        }
    }
}

/// How the final architecture is read off the search.
enum ArchitectureSelection: String, CaseIterable, ExpressibleByArgument {
    /// The largest α of each dimension.
    case argmax
    /// DARTS-PT: perturbation-based selection with fine-tuning between decisions.
    case pt
}

/// `swiftnas supernet search`: gradient-based NAS on the weight superposition of a decoder space
/// (TangleNAS): α and the supernet's weights trained in alternation on two halves of the text, then the
/// architecture selected by argmax or DARTS-PT. Checkpoints, resume, log, progress, Ctrl-C and
/// `--time-budget` as `pretrain`.
struct SupernetSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Gradient-based search on the weight superposition of a decoder space (TangleNAS).",
        discussion: """
            Methods: darts (softmax of α), drnas (a Dirichlet sample of concentration ELU(α) + 1), gdas (hard Gumbel-softmax,
            straight-through, temperature annealed). Every step makes one α step on the α half of the text (Adam 3e-4, betas
            (0.5, 0.999), weight decay 1e-3, α-gradient clip 5) and one weight step on the training half. With --max-params,
            λ·max(0, E[params]/budget − 1) joins the α loss. The run folder gets the supernet checkpoints (with α), metrics.jsonl
            (the argmax architecture at every evaluation: argmax.<dimension>, argmax_params, argmax_loss) and, at the end,
            architecture.json (the selected architecture; with --select pt also argmax-architecture.json) and selection.json.
            """)

    @Option(help: ArgumentHelp("A built-in decoder space name or a space JSON file.", valueName: "name|file"))
    var space: String
    @Option(help: "darts, drnas, gdas (gradient-based); spos-rs / spos-re (uniform single-path training, then random search / evolution); enas / enas-buffer.")
    var method: SearchMethod = .drnas
    @Option(help: "Selection: argmax, or pt (DARTS-PT, perturbation-based).")
    var select: ArchitectureSelection = .argmax
    @Option(parsing: .unconditional, help: "Share of the training text that trains the weights (the rest trains α).",
            transform: NumberArgument.openUnit)
    var trainPortion = 0.5
    @Option(parsing: .unconditional, help: "DARTS-PT: weight steps of fine-tuning after each decision.",
            transform: NumberArgument.nonNegative)
    var ptSteps = 20
    @Option(parsing: .unconditional, help: "Parameter budget: adds the hinge λ·max(0, E[params]/budget − 1) to the α loss.",
            transform: NumberArgument.positive)
    var maxParams: Double?
    @Option(parsing: .unconditional, help: "λ of the budget hinge.", transform: NumberArgument.nonNegative)
    var budgetWeight: Float = 1
    @Option(parsing: .unconditional, help: "spos-rs, spos-re: candidates scored with the inherited weights.",
            transform: NumberArgument.positive)
    var trials = 100
    @Option(parsing: .unconditional, help: "enas: weight steps between controller phases.", transform: NumberArgument.positive)
    var controllerEvery = 50
    @Option(parsing: .unconditional, help: "enas: children per controller phase.", transform: NumberArgument.positive)
    var controllerSteps = 20
    @Option(parsing: .unconditional, help: "enas: children sampled at the end, the best by held-out loss chosen.",
            transform: NumberArgument.positive)
    var deriveSamples = 10
    @Option(help: ArgumentHelp("A study (SQLite file or postgresql:// URL) the selected architecture joins as a trial, "
                               + "objective `supernet` (held-out loss); `study show` lists every search's choice.", valueName: "file|url"),
            transform: { try StudyLocation(parsing: $0) })
    var study: StudyLocation?
    @OptionGroup var data: PretrainDataOptions
    @OptionGroup var schedule: StepScheduleOptions
    @OptionGroup var training: TrainingOptionGroup

    func validate() throws {
        guard method.isGradient || select == .argmax else {
            throw ValidationError("--select pt needs a gradient method (darts, drnas, gdas); \(method.rawValue) selects by its search")
        }
    }

    func run() throws {
        training.engine.apply()
        try OutputFolder.check(training.run)
        let space = try Search.resolveSpace(self.space)
        guard space.family == .decoder else { throw ValidationError("--space \(space.name): supernet search runs decoder spaces") }
        var rng = RandomGenerator(seed: training.seed)
        let supernet = try Supernet(space: space, rng: &rng)
        supernet.model.hiddenDropout = data.dropout
        supernet.model.attentionDropout = data.dropout
        let superposition = try Superposition(model: supernet.model, parameters: ArchitectureParameters(space: space, rng: &rng))
        let runURL = training.run, resume = training.resume
        let text = try data.text(for: space.largest, run: runURL, resume: resume)
        let (batchSize, length) = (training.batchSize, data.sequenceLength)
        let split = Int(Double(text.corpus.tokens.count) * trainPortion)
        let weightText = try TextCorpus(tokens: Array(text.corpus.tokens[..<split]), path: text.corpus.path + " (weights' share)")
        let search = try GradientSearch(superposition: superposition, sampler: method.sampler,
                                        alphaTokens: Array(text.corpus.tokens[split...]), batchSize: batchSize,
                                        sequenceLength: length, totalSteps: schedule.steps, seed: training.seed)
        search.budget = maxParams.map { (parameters: $0, lambda: budgetWeight) }
        search.trainsAlpha = method.isGradient
        let enas = method.isENAS ? ENASTraining(
            search: search, controller: ENASController(space: space, seed: training.seed, bufferSize: method == .enasBuffer ? 50 : 0),
            controllerEvery: controllerEvery, controllerSteps: controllerSteps, maxParams: maxParams) : nil
        let options = training.trainingOptions(
            steps: schedule.steps, warmupSteps: schedule.warmup, schedule: schedule.schedule,
            defaults: .init(learningRate: 5e-4, logEvery: 10),
            settings: data.settings.merging(["batch-size": "\(batchSize)", "method": method.rawValue,
                                             "space": (try? space.json.serialized(pretty: false)) ?? space.name,
                                             "train-portion": "\(trainPortion)", "max-params": maxParams.map { "\($0)" } ?? "",
                                             "budget-weight": "\(budgetWeight)", "controller-every": "\(controllerEvery)",
                                             "controller-steps": "\(controllerSteps)"]) { a, _ in a })
        let trainer = Trainer(run: runURL, options: options, model: supernet.model)
        if case .characters(_, let file) = text.tokenizer { trainer.files = [file] } else { trainer.vocabulary = text.tokenizer.file }
        try trainer.prepare(resume: resume)
        try search.attach(to: trainer)
        let heldOut = try stride(from: 0, to: data.evalWindows, by: 16).enumerated().map { i, start in
            try HeldOutBatch(tokens: text.heldOut ?? Array(text.corpus.tokens[split...]), path: data.validation ?? "the α share",
                             tokenizer: text.tokenizer, family: .decoder, vocabSize: space.vocabSize,
                             batchSize: min(16, data.evalWindows - start), length: length, seed: UInt64(i)).input
        }
        /// The held-out loss under weights `w` (the chunks' losses weighted by their windows).
        func heldOutLoss(_ w: MixingWeights) -> Double {
            Autograd.noGrad {
                var zero = RandomGenerator(seed: 0)
                return heldOut.reduce(0) { $0 + Double(superposition.loss($1, weights: w, rng: &zero).item()) * Double($1.batchSize) }
                    / Double(heldOut.reduce(0) { $0 + $1.batchSize })
            }
        }
        let parameters = superposition.parameters
        print("supernet search: \(space.name), \(method.rawValue) + \(select.rawValue), \(parameters.alphas.count) dimensions with α, "
              + "\(split) + \(text.corpus.tokens.count - split) tokens for weights + α, \(schedule.steps) steps of \(batchSize) × \(length)")
        let progress = TextModelSupport.attach(trainer, label: "search", timeBudget: training.timeBudget)
        try trainer.train({ rng in
            let input = try weightText.decoderBatch(batchSize: batchSize, length: length, seed: rng.next())
            if let enas { return try enas.step(trainer.step, input: input, tokens: batchSize * length, rng: &rng) }
            return search.step(trainer.step, input: input, tokens: batchSize * length, rng: &rng)
        }, evaluate: !method.isGradient ? nil : {
            let arch = parameters.argmax()
            var values: [String: Double] = ["argmax_params": Double(arch.parameterCount),
                                            "argmax_loss": heldOutLoss(.oneHot(parameters, parameters.argmaxChoice))]
            values["argmax.depth"] = Double(arch.depth)
            values["argmax.hidden"] = Double(arch.hidden)
            for (l, layer) in arch.layers.enumerated() {
                values["argmax.layer.\(l).heads"] = Double(layer.heads)
                values["argmax.layer.\(l).ffn"] = Double(layer.ffn)
            }
            return values
        })
        try TextModelSupport.finish(trainer, progress: progress)   // Ctrl-C exits here; out of --time-budget, select
        let trainingSeconds = trainer.trainingSeconds, selectionStart = DispatchTime.now().uptimeNanoseconds

        // Selection.
        var pick: (ArchitectureParameters.Dimension) -> Int = parameters.argmaxChoice
        var decisions: [PerturbationSelection.Decision] = []
        var scored: [JSONValue] = []
        if let enas {
            let (genome, _) = try enas.derive(samples: deriveSamples, loss: heldOutLoss)
            pick = parameters.choices(of: space.decode(genome))!
        } else if let name = method.strategy {
            // SPOS: the strategy's candidates (inside --max-params) scored by their held-out loss with inherited weights.
            let strategy = try SearchStrategies.named(name, space: space, seed: training.seed)
            var seen = Set<Genome>(), best = (loss: Double.infinity, pick: pick)
            for _ in 0..<trials {
                let genome = try strategy.ask { g in
                    !seen.contains(g) && parameters.choices(of: space.decode(g)) != nil
                        && Double(space.decode(g).parameterCount) <= (maxParams ?? .infinity)
                }
                seen.insert(genome)
                let arch = space.decode(genome), choice = parameters.choices(of: arch)!
                let loss = heldOutLoss(.oneHot(parameters, choice))
                strategy.tell(genome, fitness: [loss.isFinite ? -loss : -.infinity, -Double(arch.parameterCount)])
                scored.append(.object(["params": .int(arch.parameterCount), "heldOutLoss": .double(loss)]))
                if loss < best.loss { best = (loss, choice) }
            }
            pick = best.pick
        } else if select == .pt {
            // α is left as trained (PT tunes only the weights), so the argmax choice of the same run is kept too.
            try parameters.argmax().save(to: runURL.appendingPathComponent("argmax-architecture.json"))
            let optimizer = AdamW(parameters: supernet.model.parameters, learningRate: options.learningRate, weightDecay: options.weightDecay)
            // "PT": the order of the decisions, and the fine-tuning's batches and dropout.
            var order = RandomGenerator(seed: training.seed ^ 0x5054), tuning = RandomGenerator(seed: training.seed ^ 0x5054_5455)
            search.trainsAlpha = false
            decisions = try PerturbationSelection(parameters: parameters).select(loss: heldOutLoss, fineTune: { fixed in
                search.fixed = fixed
                for _ in 0..<ptSteps {
                    let input = try weightText.decoderBatch(batchSize: batchSize, length: length, seed: tuning.next())
                    optimizer.zeroGrad()
                    _ = search.step(trainer.step, input: input, tokens: 0, rng: &tuning)
                    GradientClipping.clipGlobalNorm(optimizer.parameters, maxNorm: options.clipNorm)
                    optimizer.step()
                }
            }, using: &order)
            let fixed = Dictionary(uniqueKeysWithValues: decisions.map { ($0.dimension, $0.choice) })
            pick = { fixed[$0] ?? 0 }
        }
        let chosen = parameters.architecture(pick)
        let loss = heldOutLoss(.oneHot(parameters, pick))
        let selectionSeconds = Double(DispatchTime.now().uptimeNanoseconds - selectionStart) / 1e9
        try chosen.save(to: runURL.appendingPathComponent("architecture.json"))
        var fields: [String: JSONValue] = [
            "method": .string(method.rawValue), "select": .string(select.rawValue), "heldOutLoss": .double(loss),
            "params": .int(chosen.parameterCount), "steps": .int(trainer.step), "trainingSeconds": .double(trainingSeconds),
            "selectionSeconds": .double(selectionSeconds), "candidates": .array(scored),
            "decisions": .array(decisions.map { .object(["dimension": .string("\($0.dimension)"), "choice": .int($0.choice),
                                                        "losses": .array($0.losses.map { .double($0) })]) })]
        if let enas {
            // The controller's hidden-state distance vs edit distance, trained and as initialised (same seed).
            var draw = RandomGenerator(seed: training.seed ^ 0xED17)
            let genomes = (0..<60).map { _ in space.sample(using: &draw) }
            let fresh = ENASController(space: space, seed: training.seed, bufferSize: enas.controller.bufferSize)
            for (key, controller) in [("hiddenStateVsEditDistance", enas.controller), ("hiddenStateVsEditDistanceAtInit", fresh)] {
                let c = controller.hiddenStateEditDistanceCorrelation(genomes)
                fields[key] = .object(["spearman": .double(c.spearman), "kendall": .double(c.kendall), "pairs": .int(c.pairs)])
            }
        }
        let selection: JSONValue = .object(fields)
        try AtomicFile.write(try selection.serializedData(pretty: true), to: runURL.appendingPathComponent("selection.json"))
        if let study { try record(chosen, loss: loss, space: space, in: study) }
        print(String(format: "selected (%@): %d layers, hidden %d, %.2fM parameters, held-out loss %.4f → %@",
                     select.rawValue, chosen.depth, chosen.hidden, Double(chosen.parameterCount) / 1e6, loss,
                     runURL.appendingPathComponent("architecture.json").path))
    }

    /// Adds the selected architecture to `location` as a finished trial (objective `supernet`: the held-out
    /// loss, minimised; worker `<method>+<selection>`), so that searches of the same space and budget — any
    /// method, seed or selection — compare in one study.
    func record(_ arch: Architecture, loss: Double, space: SearchSpace, in location: StudyLocation) throws {
        guard let genome = space.encode(arch) else { return }
        let settings = StudySettings(space: space.json, strategy: "supernet-search", objectives: [ObjectiveSpec(name: "supernet", maximize: false)],
                                     constraints: maxParams.map { [Constraint(.params, max: $0)] } ?? [], seed: 0,
                                     sequenceLength: data.sequenceLength)
        let worker = "\(method.rawValue)+\(select.rawValue)"
        let store = try StudyStorages.openOrCreate(location, settings: settings, heartbeatTimeout: nil)
        defer { store.close() }
        let costs = Costs(arch, sequenceLength: data.sequenceLength)
        switch try store.createTrial(genome: genome, architecture: arch, costs: costs, worker: worker, limit: .max) {
        case .created(let number):
            var trial = Trial(number: number, genome: genome, architecture: arch, objectives: ["supernet": loss], costs: costs,
                              state: .complete, seconds: 0)
            trial.worker = worker
            _ = try store.finishTrial(trial, worker: worker)
        case .taken(let other):
            print("study \(location): the selected architecture is already trial \(other)")
        case .full:
            break
        }
    }
}
