import Foundation
import NASModels
import NASTensor

/// The search loop of a study: ask the strategy, keep only candidates inside the budget and not seen
/// before, create the trial in the storage (at ask time), evaluate the objectives, store the result
/// durably, then tell the strategy. It works on any `StudyStorage`, in one of two modes:
///
/// - **One writer** (SQLite: `heartbeatTimeout` nil). Resuming: a fresh strategy with the study's seed
///   replays the stored trials — each ask must give the stored genome again, and is told the stored
///   fitness — then the search continues where it stopped. A running trial left by a killed writer is
///   re-run under its number. Nothing finished is lost or repeated, and a resumed search follows the
///   trajectory of an uninterrupted one.
/// - **Worker** (PostgreSQL: any number of processes on any machines). Before each ask the worker reads
///   the trials it has not seen finished (from its oldest unfinished one on: a finished trial never
///   changes state), every `heartbeatTimeout / 4` fails and re-queues trials whose worker stopped
///   sending heartbeats, and tells its
///   strategy every trial finished since (in number order, whoever evaluated it); it takes a waiting
///   (re-queued) trial before asking for a new one. The strategies are asynchronous (see each one). A
///   thread sends heartbeats on its own connection every `heartbeatTimeout / 4` while the objective
///   runs. The study stops at exactly `trials` trials that count (`Trial.counts`): no trial is created
///   beyond that, and a worker with nothing to start waits for the running ones. With one worker on a
///   new study it proposes what the one-writer mode proposes (same seed → same trajectory).
///
/// A storage that becomes unreachable (`.unavailable`) is retried with exponential back-off (0.5 s,
/// doubling, at most 8 s apart) for `retrySeconds`; then the run throws, naming the study and how long
/// it tried. A finished trial whose result could not be stored is re-run, not kept locally: it stays
/// running in the database, its heartbeats stop with the worker, and another worker fails and re-queues
/// it after the timeout. With a latency budget, latency is predicted by a `LatencyPredictor` trained on
/// measurements stored in the study, and the best trials are re-measured at the end (`finalists`).
public final class SearchRunner {
    public struct Progress {
        /// Trials in the study that count, and the number asked for.
        public var completed: Int, target: Int
        /// Trials evaluated by this run (not replayed), and their wall-clock seconds.
        public var evaluatedNow: Int, seconds: Double
        /// The best feasible complete trial so far (primary objective).
        public var best: Trial?
        public var rate: Double { seconds > 0 ? Double(evaluatedNow) / seconds : 0 }
        public var etaSeconds: Double? { rate > 0 ? Double(max(0, target - completed)) / rate : nil }
    }

    public enum Failure: Error, CustomStringConvertible {
        case diverged(study: String, trial: Int)
        case objectivesMismatch(expected: [String], got: [String])
        case storageUnavailable(study: String, seconds: Double, last: String)

        public var description: String {
            switch self {
            case .diverged(let study, let trial):
                return "study \(study): replaying trial \(trial), the strategy proposed a different candidate than the "
                    + "stored one (the study was written by a different version or settings); start a new study file"
            case .objectivesMismatch(let expected, let got):
                return "the study's objectives are \(expected), but \(got) were given"
            case .storageUnavailable(let study, let seconds, let last):
                return "study \(study): the database stayed unreachable for \(Int(seconds.rounded())) s of retries; giving up "
                    + "(trials stored so far are safe; a trial this worker was evaluating is re-run by another worker, or by this "
                    + "command run again). Last error: \(last)"
            }
        }
    }

    public let space: SearchSpace
    public let objectives: [Objective]
    public let settings: StudySettings
    /// Predicts latency (ms) when a constraint or the Pareto cost is latency.
    public var latencyPredictor: LatencyPredictor?
    /// Called after every trial this run evaluates.
    public var onTrial: ((Trial, Progress) -> Void)?
    /// Called with a line worth telling the user (a retry, a re-queued trial, a result dropped).
    public var onNote: ((String) -> Void)?
    /// Checked after every trial: true stops the run cleanly (Ctrl-C).
    public var shouldStop: () -> Bool = { false }
    /// How long an unreachable storage is retried before the run gives up.
    public var retrySeconds: Double = 60
    /// This worker's name in the storage ("host:pid").
    public let worker: String

    public init(space: SearchSpace, objectives: [Objective], settings: StudySettings) throws {
        let names = objectives.map(\.spec.name)
        guard names == settings.objectives.map(\.name) else {
            throw Failure.objectivesMismatch(expected: settings.objectives.map(\.name), got: names)
        }
        self.space = space
        self.objectives = objectives
        self.settings = settings
        worker = "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    var usesLatency: Bool { settings.paretoCost == .latency || settings.constraints.contains { $0.cost == .latency } }

    /// The costs of `arch`: analytic params and FLOPs, and predicted latency when the study uses it.
    public func costs(_ arch: Architecture) -> Costs {
        var c = Costs(arch, sequenceLength: settings.sequenceLength)
        if usesLatency { c.latencyMs = latencyPredictor?.predict(arch) }
        return c
    }

    /// Fitness as strategies see it: the objectives oriented larger-is-better, then the negated Pareto cost;
    /// all −∞ for a failed trial.
    public func fitness(_ trial: Trial) -> [Double] {
        let n = settings.objectives.count + 1
        guard trial.state == .complete else { return Array(repeating: -.infinity, count: n) }
        let values = settings.objectives.map { o in (trial.objectives[o.name] ?? .nan) * (o.maximize ? 1 : -1) }
        // The predicted latency, not a finalist's later measurement: a replay must see what the strategy saw.
        let cost = -((settings.paretoCost == .latency ? trial.costs.latencyMs : trial.costs.value(settings.paretoCost)) ?? .infinity)
        return values + [cost]
    }

    /// The strategy of the last `run` (e.g. to report what a LINAS search learnt).
    public private(set) var strategy: SearchStrategy?

    /// Runs the study until it holds `trials` trials that count (or `shouldStop`), and returns all of its trials.
    @discardableResult
    public func run(study: StudyStorage, trials target: Int) throws -> [Trial] {
        let strategy = try SearchStrategies.named(settings.strategy, space: space, seed: settings.seed,
                                                  populationSize: settings.populationSize)
        self.strategy = strategy
        return study.heartbeatTimeout == nil
            ? try runAlone(study, strategy: strategy, target: target)
            : try runAsWorker(study, strategy: strategy, target: target)
    }

    /// Evaluates every objective on `arch`; a thrown error or a non-finite value fails the trial, with the reason.
    func evaluate(number: Int, genome: Genome, arch: Architecture) -> Trial {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var values: [String: Double] = [:]
        var reasons: [String] = []
        for objective in objectives {
            let name = objective.spec.name
            do {
                let v = try objective.evaluate(arch)
                values[name] = v
                if !v.isFinite { reasons.append("objective \(name) gave \(v)") }
            } catch {
                values[name] = .nan
                reasons.append("objective \(name) failed: \(error)")
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return Trial(number: number, genome: genome, architecture: arch, objectives: values, costs: costs(arch),
                     state: reasons.isEmpty ? .complete : .failed, seconds: seconds,
                     failure: reasons.isEmpty ? nil : reasons.joined(separator: "; "))
    }

    // MARK: - One writer

    private func runAlone(_ study: StudyStorage, strategy: SearchStrategy, target: Int) throws -> [Trial] {
        var trials = try study.trials()
        // A candidate is acceptable when it is in the space, new and inside the budget.
        var seen = Set<Architecture>()
        func accept(_ g: Genome) -> Bool {
            guard space.contains(g) else { return false }
            let arch = space.decode(g)
            return !seen.contains(arch) && settings.constraints.allow(costs(arch))
        }
        var progress = Progress(completed: 0, target: target, evaluatedNow: 0, seconds: 0, best: nil)
        let start = DispatchTime.now().uptimeNanoseconds
        func finish(_ trial: Trial) throws {
            guard try study.finishTrial(trial, worker: worker) else {
                throw StudyError(.storage, path: study.location, message: "study \(study.location): trial \(trial.number) is no longer running")
            }
            progress.evaluatedNow += 1
            progress.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        // Replay: the strategy must propose exactly the stored genomes, in order.
        for (i, t) in trials.enumerated() {
            let g = try strategy.ask(accept: accept)
            guard g == t.genome else { throw Failure.diverged(study: study.location, trial: t.number) }
            seen.insert(t.architecture)
            if t.state == .running {   // left by a killed writer: re-run under its number
                trials[i] = evaluate(number: t.number, genome: g, arch: t.architecture)
                try finish(trials[i])
            }
            strategy.tell(g, fitness: fitness(trials[i]))
        }
        progress.completed = trials.count
        progress.best = best(trials)
        while trials.count < target && !shouldStop() {
            let genome = try strategy.ask(accept: accept)
            let arch = space.decode(genome)
            guard case .created(let number) = try study.createTrial(genome: genome, architecture: arch, costs: costs(arch),
                                                                    worker: worker, limit: target), number == trials.count else {
                throw StudyError(.storage, path: study.location, message: "study \(study.location) changed under its one writer")
            }
            let trial = evaluate(number: number, genome: genome, arch: arch)
            try finish(trial)   // durable before the strategy hears of it
            trials.append(trial)
            seen.insert(arch)
            strategy.tell(genome, fitness: fitness(trial))
            progress.completed = trials.count
            if StudyReport.isFeasible(trial, settings: settings) { progress.best = best([trial] + (progress.best.map { [$0] } ?? [])) }
            onTrial?(trial, progress)
        }
        return trials
    }

    // MARK: - Workers

    private func runAsWorker(_ study: StudyStorage, strategy: SearchStrategy, target: Int) throws -> [Trial] {
        let timeout = study.heartbeatTimeout ?? 60
        let heartbeat = Heartbeat(interval: timeout / 4, storage: try retrying(study) { try study.heartbeatConnection() }, worker: worker)
        defer { heartbeat.stop() }
        var told = Set<Int>()
        var progress = Progress(completed: 0, target: target, evaluatedNow: 0, seconds: 0, best: nil)
        let start = DispatchTime.now().uptimeNanoseconds
        var trials: [Trial] = []
        var lastStaleCheck = -Double.infinity
        while !shouldStop() {
            // Stale trials are looked for between trials, at most every timeout / 4: a dead worker's trial is
            // re-queued after the timeout plus at most a quarter of it and the trial the others are evaluating.
            let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            if now - lastStaleCheck >= timeout / 4 {
                lastStaleCheck = now
                for number in try retrying(study, { try study.failStaleTrials() }) {
                    onNote?("trial \(number): its worker stopped sending heartbeats; failed and re-queued")
                }
            }
            // Trials below the oldest one not finished at the last read are finished and stay so: read from there.
            let frontier = trials.first { !$0.state.isFinished }?.number ?? trials.count
            trials = Array(trials.prefix(frontier)) + (try retrying(study) { try study.trials(from: frontier) })
            let counted = trials.filter(\.counts)
            progress.completed = counted.count
            progress.best = best(trials)
            if counted.count >= target { break }
            // Everything finished since the last ask, in number order, whoever evaluated it.
            for t in counted where !told.contains(t.number) {
                strategy.tell(t.genome, fitness: fitness(t))
                told.insert(t.number)
            }
            var next: Trial?
            if trials.contains(where: { $0.state == .waiting }),
               let waiting = try retrying(study, { try study.claimWaitingTrial(worker: worker) }) {
                next = waiting
            } else {
                let held = Set(trials.filter { $0.requeuedAs == nil }.map(\.architecture))
                func accept(_ g: Genome) -> Bool {
                    guard space.contains(g) else { return false }
                    let arch = space.decode(g)
                    return !held.contains(arch) && settings.constraints.allow(costs(arch))
                }
                let genome = try strategy.ask(accept: accept)
                let arch = space.decode(genome)
                switch try retrying(study, { try study.createTrial(genome: genome, architecture: arch, costs: costs(arch),
                                                                   worker: worker, limit: target) }) {
                case .created(let number):
                    next = Trial(number: number, genome: genome, architecture: arch, objectives: [:], costs: costs(arch),
                                 state: .running, seconds: 0)
                case .taken:
                    continue   // another worker proposed it first: read the study and ask again
                case .full:
                    // The remaining trials are running elsewhere: wait for them (or for their heartbeats to stop).
                    Thread.sleep(forTimeInterval: min(1, timeout / 4))
                    continue
                }
            }
            guard let claimed = next else { continue }
            heartbeat.start(trial: claimed.number)
            let trial = evaluate(number: claimed.number, genome: claimed.genome, arch: claimed.architecture)
            heartbeat.stop()
            if try retrying(study, { try study.finishTrial(trial, worker: worker) }) {
                progress.evaluatedNow += 1
                progress.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                progress.completed += 1
                if StudyReport.isFeasible(trial, settings: settings) { progress.best = best([trial] + (progress.best.map { [$0] } ?? [])) }
                onTrial?(trial, progress)
            } else {
                onNote?("trial \(trial.number): another worker failed and re-queued it while this one evaluated it "
                        + "(heartbeats missed for \(timeout) s); this result is dropped, the re-queued copy is evaluated instead")
            }
        }
        return try retrying(study) { try study.trials() }
    }

    /// `body`, retried with exponential back-off while the storage is unreachable, for `retrySeconds`.
    func retrying<T>(_ study: StudyStorage, _ body: () throws -> T) throws -> T {
        try retrying(location: study.location, body)
    }

    /// `body` (e.g. opening the study at `location`), retried with exponential back-off (0.5 s doubling to
    /// 8 s) while the storage is unreachable, for `retrySeconds`; then `Failure.storageUnavailable`.
    public func retrying<T>(location: String, _ body: () throws -> T) throws -> T {
        let start = Date()
        var delay = 0.5
        while true {
            do {
                return try body()
            } catch let error as StudyError where error.kind == .unavailable {
                let waited = Date().timeIntervalSince(start)
                guard waited + delay <= retrySeconds else {
                    throw Failure.storageUnavailable(study: location, seconds: waited, last: error.message)
                }
                onNote?("database unreachable; retrying in \(delay) s (\(Int(waited)) of \(Int(retrySeconds)) s)")
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 8)
            }
        }
    }

    /// The best feasible complete trial (`StudyReport.best`).
    public func best(_ trials: [Trial]) -> Trial? { StudyReport.best(trials, settings: settings).first }

    /// Re-measures the latency of the best trials (primary objective, feasible by prediction) until `count`
    /// of them are within the latency budget by measurement, storing each measurement in the study. A
    /// finalist whose measured latency breaks the budget is thereby excluded from `study best`.
    /// Returns the measured finalists that are within budget, best first.
    @discardableResult
    public func measureFinalists(study: StudyStorage, meter: LatencyMeter, count: Int = 5) throws -> [Trial] {
        let ranked = StudyReport.best(try study.trials(), settings: settings, top: Int.max)
        var kept: [Trial] = []
        for var t in ranked where kept.count < count {
            if t.costs.measuredLatencyMs == nil {
                t.costs.measuredLatencyMs = meter.measure(t.architecture)
                try study.updateCosts(of: t.number, t.costs)
            }
            if settings.constraints.allow(t.costs) { kept.append(t) }
        }
        return kept
    }

    /// Re-measures the latency of the Pareto front in (primary objective, latency) until every member of the front is
    /// measured. A predictor can be off by a common factor (another machine, other kernels), so an unmeasured trial
    /// takes part at its prediction times r = min(measured / predicted) over the trials measured so far (at most 1):
    /// the most the predictor has been seen to overestimate. Each round measures the unmeasured members of that
    /// front and stores the measurements in the study; r only falls, so the rounds end. Returns the front, every
    /// member measured (`Costs.value(.latency)` prefers the measurement). `measure` is the latency in ms of an
    /// architecture (`LatencyMeter.measure`).
    @discardableResult
    public func measureFront(study: StudyStorage, measure: (Architecture) -> Double) throws -> [Trial] {
        while true {
            let trials = try study.trials()
            let r = trials.compactMap { t in t.costs.measuredLatencyMs.flatMap { m in t.costs.latencyMs.map { m / $0 } } }
                .filter(\.isFinite).reduce(1, min)
            let optimistic = trials.map { t -> Trial in
                var t = t
                if t.costs.measuredLatencyMs == nil { t.costs.latencyMs = t.costs.latencyMs.map { $0 * r } }
                return t
            }
            let unmeasured = StudyReport.paretoFront(optimistic, settings: settings).filter { $0.costs.measuredLatencyMs == nil }
            if unmeasured.isEmpty { return StudyReport.paretoFront(trials, settings: settings) }
            for number in unmeasured.map(\.number) {
                var t = trials.first { $0.number == number }!
                t.costs.measuredLatencyMs = measure(t.architecture)
                try study.updateCosts(of: t.number, t.costs)
            }
        }
    }
}
