import Foundation
import NASModels
import NASTensor

/// The search loop of a study: ask the strategy, keep only candidates inside the budget and not seen
/// before, evaluate the objectives, store the trial durably (one transaction), then tell the strategy.
///
/// Resuming: a fresh strategy with the study's seed replays the stored trials — each ask must give the
/// stored genome again, and is told the stored fitness — then the search continues where it stopped.
/// Nothing finished is lost or repeated, and a resumed search follows the trajectory of an uninterrupted
/// one. With a latency budget, latency is predicted by a `LatencyPredictor` trained on measurements
/// stored in the study, and the best trials are re-measured at the end (`finalists`).
public final class SearchRunner {
    public struct Progress {
        /// Trials in the study, and the number asked for.
        public var completed: Int, target: Int
        /// Trials evaluated by this run (not replayed), and their wall-clock seconds.
        public var evaluatedNow: Int, seconds: Double
        /// The best feasible complete trial so far (primary objective).
        public var best: Trial?
        public var rate: Double { seconds > 0 ? Double(evaluatedNow) / seconds : 0 }
        public var etaSeconds: Double? { rate > 0 ? Double(target - completed) / rate : nil }
    }

    public enum Failure: Error, CustomStringConvertible {
        case diverged(study: String, trial: Int)
        case objectivesMismatch(expected: [String], got: [String])

        public var description: String {
            switch self {
            case .diverged(let study, let trial):
                return "study \(study): replaying trial \(trial), the strategy proposed a different candidate than the "
                    + "stored one (the study was written by a different version or settings); start a new study file"
            case .objectivesMismatch(let expected, let got):
                return "the study's objectives are \(expected), but \(got) were given"
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
    /// Checked after every trial: true stops the run cleanly (Ctrl-C).
    public var shouldStop: () -> Bool = { false }

    public init(space: SearchSpace, objectives: [Objective], settings: StudySettings) throws {
        let names = objectives.map(\.spec.name)
        guard names == settings.objectives.map(\.name) else {
            throw Failure.objectivesMismatch(expected: settings.objectives.map(\.name), got: names)
        }
        self.space = space
        self.objectives = objectives
        self.settings = settings
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

    /// Runs the study until it holds `trials` trials (or `shouldStop`), and returns all of its trials.
    @discardableResult
    public func run(study: Study, trials target: Int) throws -> [Trial] {
        let strategy = try SearchStrategies.named(settings.strategy, space: space, seed: settings.seed,
                                                  populationSize: settings.populationSize)
        var trials = try study.trials()
        // A candidate is acceptable when it is in the space, new and inside the budget.
        var seen = Set<Architecture>()
        func accept(_ g: Genome) -> Bool {
            guard space.contains(g) else { return false }
            let arch = space.decode(g)
            return !seen.contains(arch) && settings.constraints.allow(costs(arch))
        }
        // Replay: the strategy must propose exactly the stored genomes, in order.
        for t in trials {
            let g = try strategy.ask(accept: accept)
            guard g == t.genome else { throw Failure.diverged(study: study.path, trial: t.number) }
            seen.insert(t.architecture)
            strategy.tell(g, fitness: fitness(t))
        }
        var progress = Progress(completed: trials.count, target: target, evaluatedNow: 0, seconds: 0,
                                best: best(trials))
        let start = DispatchTime.now().uptimeNanoseconds
        while trials.count < target && !shouldStop() {
            let genome = try strategy.ask(accept: accept)
            let arch = space.decode(genome)
            let t0 = DispatchTime.now().uptimeNanoseconds
            var values: [String: Double] = [:]
            var state = Trial.State.complete
            for objective in objectives {
                let v = (try? objective.evaluate(arch)) ?? .nan
                values[objective.spec.name] = v
                if !v.isFinite { state = .failed }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let trial = Trial(number: trials.count, genome: genome, architecture: arch, objectives: values,
                              costs: costs(arch), state: state, seconds: seconds)
            try study.append(trial)   // durable before the strategy hears of it
            trials.append(trial)
            seen.insert(arch)
            strategy.tell(genome, fitness: fitness(trial))
            progress.completed = trials.count
            progress.evaluatedNow += 1
            progress.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if StudyReport.isFeasible(trial, settings: settings) { progress.best = best([trial] + (progress.best.map { [$0] } ?? [])) }
            onTrial?(trial, progress)
        }
        return trials
    }

    /// The best feasible complete trial (`StudyReport.best`).
    public func best(_ trials: [Trial]) -> Trial? { StudyReport.best(trials, settings: settings).first }

    /// Re-measures the latency of the best trials (primary objective, feasible by prediction) until `count`
    /// of them are within the latency budget by measurement, storing each measurement in the study. A
    /// finalist whose measured latency breaks the budget is thereby excluded from `study best`.
    /// Returns the measured finalists that are within budget, best first.
    @discardableResult
    public func measureFinalists(study: Study, meter: LatencyMeter, count: Int = 5) throws -> [Trial] {
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
}
