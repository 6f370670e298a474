import NASModels

/// One candidate of a study: what was proposed (the genome and its architecture), what it scored (each
/// objective by name), what it costs, and where it stands. Trials are numbered from 0 without gaps in
/// the order they were created (at ask time); a study stores each one durably before a strategy is told.
public struct Trial: Equatable, Sendable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Created at ask time and being evaluated by a worker (whose heartbeats keep it alive).
        case running
        /// A genome re-queued after its worker died, waiting for the next worker to take it.
        case waiting
        /// Every objective has a finite value.
        case complete
        /// The evaluation threw or gave a non-finite value (`failure` says which; the strategy is told it is
        /// the worst), or its worker died (`failure` says so, and `requeuedAs` names the trial that re-runs it).
        case failed

        /// Whether the trial has a result (complete or failed).
        public var isFinished: Bool { self == .complete || self == .failed }
    }

    public var number: Int
    public var genome: Genome
    public var architecture: Architecture
    public var objectives: [String: Double]
    public var costs: Costs
    public var state: State
    /// Wall-clock seconds of the evaluation (0 until it finishes).
    public var seconds: Double
    /// Why a failed trial failed, e.g. "objective w-pca: the model has no finite output" or "worker
    /// host:1234 sent no heartbeat for 31 s (timeout 30 s)"; nil otherwise.
    public var failure: String?
    /// For a trial failed because its worker died: the waiting trial that re-runs its genome.
    public var requeuedAs: Int?
    /// The worker ("host:pid") that runs or ran the trial, where the storage records it (PostgreSQL).
    public var worker: String?

    public init(number: Int, genome: Genome, architecture: Architecture, objectives: [String: Double], costs: Costs,
                state: State, seconds: Double, failure: String? = nil, requeuedAs: Int? = nil, worker: String? = nil) {
        self.number = number; self.genome = genome; self.architecture = architecture; self.objectives = objectives
        self.costs = costs; self.state = state; self.seconds = seconds; self.failure = failure; self.requeuedAs = requeuedAs
        self.worker = worker
    }

    /// Whether the trial counts toward a study's `--trials`: complete, or failed by its own evaluation.
    /// A trial failed because its worker died does not count (its genome is re-run under another number).
    public var counts: Bool { state == .complete || (state == .failed && requeuedAs == nil) }
}

/// An objective of a study: a name (a proxy's, or later `supernet`, `trained-accuracy`, …) and whether
/// larger is better.
public struct ObjectiveSpec: Equatable, Codable, Sendable {
    public var name: String
    public var maximize: Bool
    public init(name: String, maximize: Bool = true) { self.name = name; self.maximize = maximize }
}
