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
    /// Everything else that shapes the run (batch, data, tokenizer, teacher, loss weights, …), as the
    /// command sees it: a resumed run must have the same.
    public var settings: [String: String]?

    public init(steps: Int, learningRate: Float = 1e-3, warmupSteps: Int = 0, schedule: LRSchedule.Kind = .linear,
                weightDecay: Float = 0.01, clipNorm: Float = 1, seed: UInt64 = 0, checkpointEvery: Int = 500,
                logEvery: Int = 10, evalEvery: Int = 0, learningRateFloor: Float? = nil, settings: [String: String]? = nil) {
        self.steps = steps; self.learningRate = learningRate; self.warmupSteps = warmupSteps; self.schedule = schedule
        self.weightDecay = weightDecay; self.clipNorm = clipNorm; self.seed = seed; self.checkpointEvery = checkpointEvery
        self.logEvery = logEvery; self.evalEvery = evalEvery; self.learningRateFloor = learningRateFloor; self.settings = settings
    }

    /// Every option as text, by name (the settings under their own names).
    var fields: [String: String] {
        var f = ["steps": "\(steps)", "lr": "\(learningRate)", "warmup": "\(warmupSteps)", "schedule": schedule.rawValue,
                 "weight-decay": "\(weightDecay)", "clip": "\(clipNorm)", "seed": "\(seed)",
                 "checkpoint-every": "\(checkpointEvery)", "log-every": "\(logEvery)", "eval-every": "\(evalEvery)",
                 "lr-floor": "\(learningRateFloor ?? 0)"]
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
/// non-finite loss (the last good checkpoint stays), and a checkpoint before stopping when `shouldStop`
/// turns true (Ctrl-C).
public final class Trainer {
    /// What one step reports. The step owns its backward passes: it has accumulated every gradient it
    /// wants applied before it returns (one loss, or several forwards and backwards, as in a sandwich step);
    /// the trainer then clips and makes one update.
    public struct StepResult {
        /// The step's loss (the value logged and checked to be finite before the update).
        public var loss: Double
        /// Tokens (or examples) this step processed, for the throughput.
        public var tokens: Int
        /// Further values to log (e.g. the parts of a distillation loss).
        public var metrics: [String: Double]
        public init(loss: Double, tokens: Int, metrics: [String: Double] = [:]) {
            self.loss = loss; self.tokens = tokens; self.metrics = metrics
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
        case nonFinite(step: Int, loss: Double, learningRate: Float)
        case nonFiniteGradient(step: Int, learningRate: Float)
        case optionsMismatch(run: String, difference: String)
        case existingRun(String)

        public var description: String {
            switch self {
            case .nonFinite(let step, let loss, let lr):
                return "the loss became \(loss) at step \(step) (learning rate \(lr)); training stopped. Hint: lower --lr, "
                    + "lengthen --warmup, or keep --clip on; the last checkpoint is intact, resume from it with --resume"
            case .nonFiniteGradient(let step, let lr):
                return "the gradient norm became non-finite at step \(step) (learning rate \(lr)); training stopped before the update. "
                    + "Hint: lower --lr or keep --clip on; the last checkpoint is intact, resume from it with --resume"
            case .optionsMismatch(let run, let difference):
                return "\(run): the run was started with \(difference); resume with the same options"
            case .existingRun(let run):
                return "\(run) already holds a training run; pass --resume to continue it or choose another --out"
            }
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
    /// Set when the run stopped early on `shouldStop` (after saving a checkpoint).
    public private(set) var interrupted = false
    var lastSavedStep: Int?

    /// `optimizer` must be over `model.parameters + extra`'s parameters; nil: AdamW with the options'
    /// learning rate and weight decay (biases and norms not decayed).
    public init(run: URL, options: TrainingOptions, model: Transformer, extra: [Module] = [], optimizer: (any Optimizer)? = nil) {
        self.run = run
        self.options = options
        self.model = model
        self.extra = extra
        self.optimizer = optimizer ?? AdamW(parameters: model.parameters + extra.flatMap(\.parameters),
                                            learningRate: options.learningRate, weightDecay: options.weightDecay)
        rng = RandomGenerator(seed: options.seed)
    }

    var logURL: URL { run.appendingPathComponent("metrics.jsonl") }

    /// Continues from the run's latest checkpoint (resume) or checks the run folder is fresh.
    public func prepare(resume: Bool) throws {
        if resume, let folder = try TrainingCheckpoint.latest(in: run) {
            let state = try TrainingCheckpoint.restore(from: folder, model: model, extra: extra, optimizer: &optimizer)
            if let difference = state.options.firstDifference(from: options) {
                throw Failure.optionsMismatch(run: run.path, difference: difference)
            }
            step = state.step
            lastSavedStep = state.step
            rng = state.rng
            try truncateLog(after: step)
        } else if !resume, try TrainingCheckpoint.latest(in: run) != nil {
            throw Failure.existingRun(run.path)
        } else {
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: logURL)
        }
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
        var tokens = 0, stepsNow = 0
        var lastEval: [String: Double] = [:]
        while step < options.steps {
            if shouldStop() {
                try checkpoint()
                interrupted = true
                return lastEval
            }
            optimizer.learningRate = schedule.learningRate(at: step)
            let result = try runStep(&rng)
            let loss = result.loss
            guard loss.isFinite else {
                optimizer.zeroGrad()
                throw Failure.nonFinite(step: step + 1, loss: loss, learningRate: optimizer.learningRate)
            }
            let norm = options.clipNorm > 0 ? Double(GradientClipping.clipGlobalNorm(optimizer.parameters, maxNorm: options.clipNorm))
                                            : GradientClipping.globalNorm(optimizer.parameters)
            // A finite loss can still leave non-finite gradients (e.g. from a second backward of the step).
            guard norm.isFinite else {
                optimizer.zeroGrad()
                throw Failure.nonFiniteGradient(step: step + 1, learningRate: optimizer.learningRate)
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
            if step % options.logEvery == 0 || step == options.steps {
                var entry: [String: Double] = ["loss": loss, "lr": Double(optimizer.learningRate), "grad_norm": Double(norm),
                                               "tokens_per_s": rate, "elapsed_s": seconds]
                entry.merge(result.metrics) { a, _ in a }
                try log(entry)
            }
            // The checkpoint first: a failing evaluation must not cost the steps since the last one.
            if step % options.checkpointEvery == 0 || step == options.steps { try checkpoint() }
            if let evaluate, (options.evalEvery > 0 && step % options.evalEvery == 0) || step == options.steps {
                lastEval = try Autograd.noGrad { try evaluate() }
                try log(Dictionary(uniqueKeysWithValues: lastEval.map { ("eval_" + $0.key, $0.value) }))
            }
        }
        // A run resumed after its last step trains nothing; its evaluation is still wanted.
        if lastEval.isEmpty, let evaluate { lastEval = try Autograd.noGrad { try evaluate() } }
        return lastEval
    }

    public func checkpoint() throws {
        guard step != lastSavedStep else { return }   // e.g. Ctrl-C right after a periodic checkpoint
        lastSavedStep = step
        willCheckpoint?()
        try TrainingCheckpoint.save(run: run, step: step, model: model, extra: extra, optimizer: optimizer, rng: rng,
                                    options: options, vocabulary: vocabulary, task: task, files: files)
    }

    /// Appends one JSON line {"step": …, …} to metrics.jsonl (non-finite values as null).
    func log(_ values: [String: Double]) throws {
        var members: [String: JSONValue] = ["step": .int(step)]
        for (k, v) in values { members[k] = v.isFinite ? .double(v) : .null }
        let line = try JSONValue.object(members).serialized(pretty: false) + "\n"
        onLog?(line)
        if !FileManager.default.fileExists(atPath: logURL.path) { _ = FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: logURL)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
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
