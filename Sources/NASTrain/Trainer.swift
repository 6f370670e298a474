import Foundation
import NASModels
import NASTensor

/// The settings of a training run (stored in every checkpoint; a resumed run must use the same).
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var steps: Int
    public var learningRate: Float
    public var warmupSteps: Int
    /// `linear` or `cosine` decay to 0 after warm-up, or `constant`.
    public var schedule: LRSchedule.Kind
    public var weightDecay: Float
    /// Global gradient-norm clipping (0: off).
    public var clipNorm: Float
    public var seed: UInt64
    public var checkpointEvery: Int
    public var logEvery: Int
    /// Evaluate every N steps (0: only at the end).
    public var evalEvery: Int
    /// The learning rate a decaying schedule ends at and never goes below (BigNAS keeps a floor for
    /// supernets); nil: 0.
    public var learningRateFloor: Float?
    /// The arithmetic of the model's Linears (nil: fp32, as in checkpoints written before the option).
    public var precision: Precision?
    /// Everything else that shapes the run (batch, data, tokenizer, teacher, loss weights, …), as the
    /// command sees it: a resumed run must have the same.
    public var settings: [String: String]?

    public init(steps: Int, learningRate: Float = 1e-3, warmupSteps: Int = 0, schedule: LRSchedule.Kind = .linear,
                weightDecay: Float = 0.01, clipNorm: Float = 1, seed: UInt64 = 0, checkpointEvery: Int = 500,
                logEvery: Int = 10, evalEvery: Int = 0, learningRateFloor: Float? = nil, precision: Precision = .fp32,
                settings: [String: String]? = nil) {
        self.steps = steps; self.learningRate = learningRate; self.warmupSteps = warmupSteps; self.schedule = schedule
        self.weightDecay = weightDecay; self.clipNorm = clipNorm; self.seed = seed; self.checkpointEvery = checkpointEvery
        self.logEvery = logEvery; self.evalEvery = evalEvery; self.learningRateFloor = learningRateFloor
        self.precision = precision == .fp32 ? nil : precision; self.settings = settings
    }

    /// Every option as text, by name (the settings under their own names).
    var fields: [String: String] {
        var f = ["steps": "\(steps)", "lr": "\(learningRate)", "warmup": "\(warmupSteps)", "schedule": schedule.rawValue,
                 "weight-decay": "\(weightDecay)", "clip": "\(clipNorm)", "seed": "\(seed)",
                 "checkpoint-every": "\(checkpointEvery)", "log-every": "\(logEvery)", "eval-every": "\(evalEvery)",
                 "lr-floor": "\(learningRateFloor ?? 0)", "precision": (precision ?? .fp32).rawValue]
        for (k, v) in settings ?? [:] { f[k] = v }
        return f
    }

    /// The first option (by name) whose value differs, as "--seed 1, not 2"; nil when equal.
    public func firstDifference(from other: TrainingOptions) -> String? {
        let a = fields, b = other.fields
        guard let key = Set(a.keys).union(b.keys).sorted().first(where: { a[$0] != b[$0] }) else { return nil }
        return "--\(key) \(a[key] ?? "unset"), not \(b[key] ?? "unset")"
    }

    public var lrSchedule: LRSchedule {
        LRSchedule(kind: schedule, peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps, floor: learningRateFloor ?? 0)
    }
}

/// A training loop that behaves on long jobs: any `Optimizer` (AdamW by default) with warm-up and decay,
/// gradient clipping, a
/// checkpoint every `checkpointEvery` steps and at the end (`TrainingCheckpoint`), `resume` continuing
/// bit for bit (all randomness — data order, masking, dropout — comes from one generator whose state is
/// checkpointed), a JSON-lines metrics log (`metrics.jsonl`), a stop with the step and a hint on a
/// non-finite loss (the last good checkpoint stays; a run folder the trainer created and never
/// checkpointed into is removed again), and a checkpoint before stopping when `shouldStop` turns true
/// (Ctrl-C). Checkpoint folders the run neither wrote nor resumed from are never removed or replaced
/// (see `TrainingCheckpoint`). Under `mpirun` it is one rank of a data-parallel job (`dataParallel`): the
/// step's gradients are summed over the ranks before clipping and the update, and rank 0 alone writes.
public final class Trainer {
    /// What one step reports. The step owns its backward passes: it has accumulated every gradient it
    /// wants applied before it returns (one loss, or several forwards and backwards, as in a sandwich step);
    /// the trainer then clips and makes one update.
    public struct StepResult {
        /// The step's loss (the value logged and checked to be finite before the update).
        public var loss: Double
        /// Tokens (or examples) this step processed, for the throughput.
        public var tokens: Int
        /// Further values to log (e.g. the parts of a distillation loss). Under data parallelism the loss,
        /// tokens and metrics are this rank's shares, summed over the ranks (`DataParallel`).
        public var metrics: [String: Double]
        /// Values to log that are the same on every data-parallel rank (e.g. the sizes of the sub-networks
        /// trained): never summed.
        public var replicated: [String: Double]
        public init(loss: Double, tokens: Int, metrics: [String: Double] = [:], replicated: [String: Double] = [:]) {
            self.loss = loss; self.tokens = tokens; self.metrics = metrics; self.replicated = replicated
        }

        /// The usual step: backpropagates `loss` (a scalar) and reports its value.
        public static func backward(_ loss: Tensor, tokens: Int, metrics: [String: Double] = [:]) -> StepResult {
            let value = Double(loss.item())
            if value.isFinite { loss.backward() }
            return StepResult(loss: value, tokens: tokens, metrics: metrics)
        }
    }

    public struct Progress {
        public var step: Int, steps: Int
        public var loss: Double
        public var tokensPerSecond: Double
        public var etaSeconds: Double?
    }

    public enum Failure: Error, CustomStringConvertible {
        /// `checkpoint`: the run's last checkpoint folder (nil: none); `clip`: the clipping norm (0: off).
        case nonFinite(step: Int, loss: Double, learningRate: Float, clip: Float, checkpoint: String?)
        case nonFiniteGradient(step: Int, learningRate: Float, clip: Float, checkpoint: String?)
        case optionsMismatch(run: String, difference: String)
        case existingRun(String)

        public var description: String {
            switch self {
            case .nonFinite(let step, let loss, let lr, let clip, let checkpoint):
                return "the loss became \(loss) at step \(step) (learning rate \(lr)); training stopped. "
                    + Self.hint(learningRate: lr, clip: clip, warmup: true, checkpoint: checkpoint)
            case .nonFiniteGradient(let step, let lr, let clip, let checkpoint):
                return "the gradient norm became non-finite at step \(step) (learning rate \(lr)); training stopped before the update. "
                    + Self.hint(learningRate: lr, clip: clip, warmup: false, checkpoint: checkpoint)
            case .optionsMismatch(let run, let difference):
                return "\(run): the run was started with \(difference); resume with the same options"
            case .existingRun(let run):
                return "\(run) already holds a training run; pass --resume to continue it or choose another --out"
            }
        }

        /// What to try, as things are: lowering --lr only when the rate was above 0 (at 0 no update caused
        /// it), and the last checkpoint named only when there is one.
        static func hint(learningRate: Float, clip: Float, warmup: Bool, checkpoint: String?) -> String {
            var tries: [String] = []
            if learningRate > 0 {
                tries.append("lower --lr")
                if warmup { tries.append("lengthen --warmup") }
                tries.append(clip > 0 ? "keep --clip on" : "turn --clip on (e.g. --clip 1)")
            }
            let what = tries.isEmpty
                ? "Hint: the learning rate was 0, so no update caused it: check the initial weights (--init-from, --checkpoint) and the data"
                : "Hint: " + (tries.count > 1 ? tries.dropLast().joined(separator: ", ") + ", or " + tries.last! : tries[0])
            guard let checkpoint else { return what + "; no checkpoint was written, so there is nothing to resume" }
            return what + "; the last checkpoint, \(checkpoint), is intact: resume from it with --resume"
        }
    }

    public let run: URL
    public let options: TrainingOptions
    public let model: Transformer
    /// Heads and projections trained with the model (saved in the same checkpoint).
    public let extra: [Module]
    public private(set) var optimizer: any Optimizer
    public var rng: RandomGenerator
    public private(set) var step = 0
    /// Training seconds of the earlier processes of this run (from the checkpoint resumed from).
    var priorSeconds = 0.0
    /// When this process's `train` began (uptime nanoseconds; nil: not yet).
    var trainStart: UInt64?
    /// Wall-clock seconds spent training this run so far, summed over resumes: what `elapsed_s` logs,
    /// checkpoints carry and a time budget counts.
    public var trainingSeconds: Double {
        priorSeconds + (trainStart.map { Double(DispatchTime.now().uptimeNanoseconds - $0) / 1e9 } ?? 0)
    }
    public var vocabulary: URL?
    /// Further files copied into every checkpoint (e.g. a character tokenizer).
    public var files: [URL] = []
    /// `swiftnas_task` of the checkpoints' config.json.
    public var task: JSONValue?
    /// Called before every checkpoint is written (e.g. to refresh `task` with a sampling rule's state).
    public var willCheckpoint: (() -> Void)?
    public var onProgress: ((Progress) -> Void)?
    public var onLog: ((String) -> Void)?
    public var shouldStop: () -> Bool = { false }
    /// The data-parallel job this trainer is one rank of (nil: a single process). Set before `prepare`.
    public var dataParallel: DataParallel?
    /// Whether this process writes the run's files (checkpoints, metrics log): the only one, or rank 0.
    public var isRoot: Bool { dataParallel?.isRoot ?? true }
    /// Set when the run stopped early on `shouldStop` (after saving a checkpoint).
    public private(set) var interrupted = false
    var lastSavedStep: Int?
    /// The checkpoint folder `prepare` resumed from (nil: a fresh run).
    public private(set) var resumedFrom: URL?
    /// Lines for the user from `prepare` (e.g. that `latest` was missing and which checkpoint was taken).
    public private(set) var notes: [String] = []
    /// The checkpoint folders this run wrote or resumed from: the only ones it may remove or replace.
    var owned: Set<String> = []
    /// Whether the run folder held nothing of value when the run began (it did not exist, or held only
    /// the files the trainer was given to copy), so that a run failing before its first checkpoint may
    /// remove it again.
    var createdRun = false

    /// `optimizer` must be over `model.parameters + extra`'s parameters; nil: AdamW with the options'
    /// learning rate and weight decay (biases and norms not decayed).
    public init(run: URL, options: TrainingOptions, model: Transformer, extra: [Module] = [], optimizer: (any Optimizer)? = nil) {
        self.run = run
        self.options = options
        self.model = model
        self.extra = extra
        for module in [model] + extra { module.use(options.precision ?? .fp32) }
        self.optimizer = optimizer ?? AdamW(parameters: model.parameters + extra.flatMap(\.parameters),
                                            learningRate: options.learningRate, weightDecay: options.weightDecay)
        rng = RandomGenerator(seed: options.seed)
    }

    var logURL: URL { run.appendingPathComponent("metrics.jsonl") }

    /// Continues from the run's checkpoint (resume: `TrainingCheckpoint.resumePoint`, whose notes land in
    /// `notes`) or checks the run folder is fresh (no `latest`, no checkpoint folder). Either way the
    /// leftovers of interrupted saves are tidied first.
    public func prepare(resume: Bool) throws {
        guard let dataParallel else { return try prepareFolder(resume: resume) }
        // Rank 0 prepares the folder (tidies, repairs `latest`, truncates the log) while the others wait in
        // the all-reduce that tells them whether it succeeded; then they read the checkpoint it settled on.
        var failure: Error?
        if dataParallel.isRoot {
            do { try prepareFolder(resume: resume) } catch { failure = error }
        }
        if dataParallel.communicator.any(failure != nil) { throw failure ?? DataParallel.Failure.rootFailed }
        if !dataParallel.isRoot, resume, let point = try TrainingCheckpoint.resumePoint(in: run) {
            let state = try TrainingCheckpoint.restore(from: point.folder, model: model, extra: extra, optimizer: &optimizer)
            step = state.step
            lastSavedStep = state.step
            rng = state.rng
            priorSeconds = state.seconds ?? 0
            resumedFrom = point.folder
        }
        var steps = [Double(step), -Double(step)]
        dataParallel.communicator.allReduceMax(&steps)
        guard steps[0] == -steps[1] else {
            throw DataParallel.Failure.stepMismatch(local: step, other: Int(steps[0]) != step ? Int(steps[0]) : -Int(steps[1]))
        }
        // Identical weights on every rank from the start (they are already, from the same seed or checkpoint).
        dataParallel.communicator.broadcastValues(optimizer.parameters)
    }

    /// `prepare` of the process that writes the run folder.
    func prepareFolder(resume: Bool) throws {
        let point = resume ? try TrainingCheckpoint.resumePoint(in: run) : nil
        if let point {
            notes = point.notes
            let state = try TrainingCheckpoint.restore(from: point.folder, model: model, extra: extra, optimizer: &optimizer) { state in
                if let difference = state.options.firstDifference(from: options) {
                    throw Failure.optionsMismatch(run: run.path, difference: difference)
                }
            }
            step = state.step
            lastSavedStep = state.step
            rng = state.rng
            priorSeconds = state.seconds ?? 0
            resumedFrom = point.folder
            owned = [point.folder.lastPathComponent]
            try truncateLog(after: step)
            // A missing or broken `latest` is repaired at once, so that the run folder names its checkpoint
            // even when there is nothing left to train.
            if (try? TrainingCheckpoint.latest(in: run)) != point.folder {
                try AtomicFile.write(Data((point.folder.lastPathComponent + "\n").utf8), to: run.appendingPathComponent("latest"))
            }
            return
        }
        if !resume {
            notes = TrainingCheckpoint.tidy(run)
            if TrainingCheckpoint.holdsRun(run) { throw Failure.existingRun(run.path) }
        }
        let fm = FileManager.default
        func folderPath(_ url: URL) -> String { url.standardizedFileURL.path.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        let given = Set(files.filter { folderPath($0.deletingLastPathComponent()) == folderPath(run) }.map(\.lastPathComponent))
        let contents = Set((try? fm.contentsOfDirectory(atPath: run.path)) ?? []).subtracting(["metrics.jsonl"])
        createdRun = !fm.fileExists(atPath: run.path) || (!given.isEmpty && contents.isSubset(of: given))
        try OutputFolder.create(run)
        try? fm.removeItem(at: logURL)
    }

    /// After a stop before the run's first checkpoint: removes the run folder when the trainer made it
    /// (its log and the given files only), so that no empty --out folder is left behind.
    func abandonUnsavedRun() {
        guard isRoot, createdRun, lastSavedStep == nil else { return }
        let fm = FileManager.default
        let allowed = Set(files.map(\.lastPathComponent) + ["metrics.jsonl"])
        let contents = (try? fm.contentsOfDirectory(atPath: run.path)) ?? []
        guard contents.allSatisfy(allowed.contains) else { return }
        try? fm.removeItem(at: run)
    }

    /// The run's last checkpoint folder, as the NaN hint names it (nil: none yet).
    var lastCheckpointPath: String? {
        lastSavedStep.map { run.appendingPathComponent("checkpoint-\($0)").relativePath }
    }

    /// Runs until `options.steps`: each step calls `runStep` (which draws from the generator it is given
    /// and runs its own backward passes), then the trainer checks the loss, clips and updates once.
    /// `evaluate` runs every `evalEvery` steps and at the end; its values are logged with an `eval_`
    /// prefix. Returns the last evaluation.
    @discardableResult
    public func train(_ runStep: (inout RandomGenerator) throws -> StepResult,
                      evaluate: (() throws -> [String: Double])? = nil) throws -> [String: Double] {
        let schedule = options.lrSchedule
        let start = DispatchTime.now().uptimeNanoseconds
        trainStart = start
        var tokens = 0, stepsNow = 0
        var lastEval: [String: Double] = [:]
        var stopAgreed = false
        while step < options.steps {
            // Data-parallel ranks stop together: on the request of any rank, agreed with the last step's sums.
            if dataParallel == nil ? shouldStop() : stopAgreed {
                try checkpoint()
                interrupted = true
                return lastEval
            }
            optimizer.learningRate = schedule.learningRate(at: step)
            rng.batchShard = dataParallel?.shard
            var result = try runStep(&rng)
            rng.batchShard = nil
            if let dataParallel { (result, stopAgreed) = dataParallel.reduce(result, stop: shouldStop()) }
            let loss = result.loss
            guard loss.isFinite else {
                optimizer.zeroGrad()
                abandonUnsavedRun()
                throw Failure.nonFinite(step: step + 1, loss: loss, learningRate: optimizer.learningRate, clip: options.clipNorm,
                                        checkpoint: lastCheckpointPath)
            }
            // Gradient sums over the ranks, once per step (after all of the step's backward passes).
            dataParallel?.communicator.allReduceGradients(optimizer.parameters)
            let norm = options.clipNorm > 0 ? Double(GradientClipping.clipGlobalNorm(optimizer.parameters, maxNorm: options.clipNorm))
                                            : GradientClipping.globalNorm(optimizer.parameters)
            // A finite loss can still leave non-finite gradients (e.g. from a second backward of the step).
            guard norm.isFinite else {
                optimizer.zeroGrad()
                abandonUnsavedRun()
                throw Failure.nonFiniteGradient(step: step + 1, learningRate: optimizer.learningRate, clip: options.clipNorm,
                                                checkpoint: lastCheckpointPath)
            }
            optimizer.step()
            optimizer.zeroGrad()
            step += 1
            stepsNow += 1
            tokens += result.tokens
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let rate = Double(tokens) / max(seconds, 1e-9)
            let eta = Double(options.steps - step) * seconds / Double(stepsNow)
            onProgress?(Progress(step: step, steps: options.steps, loss: loss, tokensPerSecond: rate, etaSeconds: eta))
            if isRoot && (step % options.logEvery == 0 || step == options.steps) {
                var entry: [String: Double] = ["loss": loss, "lr": Double(optimizer.learningRate), "grad_norm": Double(norm),
                                               "tokens_per_s": rate, "elapsed_s": trainingSeconds]
                entry.merge(result.metrics) { a, _ in a }
                entry.merge(result.replicated) { a, _ in a }
                try log(entry)
            }
            // The checkpoint first: a failing evaluation must not cost the steps since the last one.
            if step % options.checkpointEvery == 0 || step == options.steps { try checkpoint() }
            if isRoot, let evaluate, (options.evalEvery > 0 && step % options.evalEvery == 0) || step == options.steps {
                lastEval = try Autograd.noGrad { try evaluate() }
                try log(Dictionary(uniqueKeysWithValues: lastEval.map { ("eval_" + $0.key, $0.value) }))
            }
        }
        // A run resumed after its last step trains nothing; its evaluation is still wanted.
        if isRoot, lastEval.isEmpty, let evaluate { lastEval = try Autograd.noGrad { try evaluate() } }
        return lastEval
    }

    /// Writes a checkpoint of this step (rank 0 alone under data parallelism: every rank holds the same state).
    public func checkpoint() throws {
        guard step != lastSavedStep else { return }   // e.g. Ctrl-C right after a periodic checkpoint
        lastSavedStep = step
        guard isRoot else { return }
        willCheckpoint?()
        try TrainingCheckpoint.save(run: run, step: step, model: model, extra: extra, optimizer: optimizer, rng: rng,
                                    options: options, vocabulary: vocabulary, task: task, files: files, owned: owned,
                                    seconds: trainingSeconds)
        owned = ["checkpoint-\(step)"]
    }

    /// Appends one JSON line {"step": …, …} to metrics.jsonl (non-finite values as null).
    func log(_ values: [String: Double]) throws {
        var members: [String: JSONValue] = ["step": .int(step)]
        for (k, v) in values { members[k] = v.isFinite ? .double(v) : .null }
        let line = try JSONValue.object(members).serialized(pretty: false) + "\n"
        onLog?(line)
        do {
            if !FileManager.default.fileExists(atPath: logURL.path) { _ = FileManager.default.createFile(atPath: logURL.path, contents: nil) }
            let handle = try FileHandle(forWritingTo: logURL)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        } catch {
            throw OutputFolder.Failure(path: logURL.relativePath, message: "cannot append to the metrics log: \(OutputFolder.describe(error))")
        }
    }

    /// Drops log lines of steps after `step` (written after the checkpoint a resume starts from).
    func truncateLog(after step: Int) throws {
        guard let text = try? String(contentsOf: logURL, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard case .object(let o)? = try? JSONValue(parsing: String(line)), case .int(let s)? = o["step"] else { return false }
            return s <= step
        }
        try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: logURL)
    }
}
