import NASModels

/// Where a study lives: its settings and its trials, behind one interface, so that the search loop
/// (`SearchRunner`), `swiftnas study` and the dashboard do not care whether it is an SQLite file
/// (`SQLiteStudyStorage`, one writer) or a PostgreSQL database shared by many workers
/// (`PostgresStudyStorage`). `StudyStorages.open` picks the implementation from a `StudyLocation`.
///
/// The protocol follows a trial through its life (after Optuna's storage API: create at ask time, then
/// finish with a state):
///
///     claimWaitingTrial / createTrial   → running (owned by a worker; its heartbeats keep it alive)
///     heartbeat …                       (every heartbeatTimeout / 4 while the objective runs)
///     finishTrial                       → complete | failed (with the reason)
///     failStaleTrials (any worker)      running without a heartbeat for heartbeatTimeout → failed
///                                       ("worker … sent no heartbeat …") + its genome re-queued as a
///                                       new waiting trial, which the next worker claims first
///
/// Guarantees every implementation keeps: trial numbers 0, 1, 2, … without gaps, never given twice;
/// an architecture is never held by two trials that are running, waiting, complete or failed by their
/// own evaluation (a re-queued failure leaves it to its waiting copy); `createTrial` never lets the
/// trials that count (`Trial.counts`) plus the running and waiting ones exceed the limit it is given,
/// so a study stops at exactly `--trials`; each call is one transaction, durable when it returns.
/// An implementation is one connection: use it from one thread at a time (the heartbeat thread opens
/// its own with `heartbeatConnection`).
public protocol StudyStorage: AnyObject {
    /// The study as messages name it: a file path, or a PostgreSQL URL (without any password).
    var location: String { get }
    /// The settings the study was created with.
    var settings: StudySettings { get }
    /// Whether writes are refused.
    var isReadOnly: Bool { get }
    /// Seconds without a heartbeat after which a running trial is failed and re-queued by another worker;
    /// nil for a storage with a single writer (SQLite: its lock proves the writer alive).
    var heartbeatTimeout: Double? { get }

    /// The trials numbered `first` or higher, ordered by number. (A finished trial never changes state, so
    /// a worker re-reads only from its oldest trial that was not finished: see `SearchRunner`.)
    func trials(from first: Int) throws -> [Trial]

    /// Takes the oldest waiting (re-queued) trial for `worker`, now running; nil when none waits.
    func claimWaitingTrial(worker: String) throws -> Trial?
    /// Creates the next trial, running, for `worker`, with `genome`, `architecture` and `costs` — or says why
    /// not: the architecture is held by another trial, or the study is full (`limit` reached).
    func createTrial(genome: Genome, architecture: Architecture, costs: Costs, worker: String, limit: Int) throws -> TrialCreation
    /// Records that `worker` is still evaluating trial `number`.
    func heartbeat(trial number: Int, worker: String) throws
    /// Stores the result of a running trial of `worker` (state complete or failed, objectives, seconds,
    /// failure reason). Returns false, storing nothing, when the trial is no longer running for `worker`
    /// (another worker failed it after a heartbeat timeout and re-queued its genome).
    func finishTrial(_ trial: Trial, worker: String) throws -> Bool
    /// Fails (with the reason) every running trial whose heartbeat is older than `heartbeatTimeout`, and
    /// re-queues each one's genome as a waiting trial; returns the failed trials' numbers.
    func failStaleTrials() throws -> [Int]
    /// Replaces the costs of trial `number` (e.g. with a finalist's measured latency).
    func updateCosts(of number: Int, _ costs: Costs) throws

    /// Every stored latency measurement (architecture, milliseconds), in the order stored.
    func latencySamples() throws -> [(Architecture, Double)]
    /// Stores latency measurements, all of them or none.
    func appendLatencySamples(_ samples: [(Architecture, Double)]) throws

    /// A second connection to the study for the heartbeat thread; nil when heartbeats are not used.
    func heartbeatConnection() throws -> StudyStorage?

    /// Closes the connection (and drops any lock); closing twice is harmless.
    func close()
}

/// What `StudyStorage.createTrial` did.
public enum TrialCreation: Equatable, Sendable {
    /// Trial `number` now runs for the worker.
    case created(number: Int)
    /// Another trial already holds the architecture (another worker proposed it first): ask again.
    case taken(byTrial: Int)
    /// The trials that count, plus the running and waiting ones, reached the limit: create nothing.
    case full
}

extension StudyStorage {
    /// Every trial, ordered by number.
    public func trials() throws -> [Trial] { try trials(from: 0) }
}
