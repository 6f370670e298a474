import NASModels

/// Everything that determines a study's trajectory, stored with it. Resuming with different settings
/// is refused, naming the first field that differs, so that a resumed search is the search that was
/// started (same seed → same trajectory).
public struct StudySettings: Equatable, Codable, Sendable {
    /// The study format this build writes.
    public static let currentFormat = 1

    public var format: Int
    /// The search space's definition (`SearchSpace.json`), so that a study is readable without the file.
    public var space: JSONValue
    /// The strategy's registry name (`random`, `ga`, `evolver`, `regularized-evolution`, `nsga2`).
    public var strategy: String
    /// The strategy's population size (nil: its default).
    public var populationSize: Int?
    /// Objectives in order; the first is the primary one (`study best` sorts by it).
    public var objectives: [ObjectiveSpec]
    public var constraints: [Constraint]
    /// The cost NSGA-II and `study pareto` trade the primary objective against.
    public var paretoCost: CostKind
    public var seed: UInt64
    /// Sequence length of FLOPs, latency and the objective's batch.
    public var sequenceLength: Int
    /// How candidates are scored (e.g. the proxy batch: corpus, batch size, seed), as opaque strings.
    public var evaluation: [String: String]

    public init(space: JSONValue, strategy: String, populationSize: Int? = nil, objectives: [ObjectiveSpec],
                constraints: [Constraint], paretoCost: CostKind = .params, seed: UInt64, sequenceLength: Int,
                evaluation: [String: String] = [:]) {
        format = Self.currentFormat
        self.space = space; self.strategy = strategy; self.populationSize = populationSize; self.objectives = objectives; self.constraints = constraints
        self.paretoCost = paretoCost; self.seed = seed; self.sequenceLength = sequenceLength; self.evaluation = evaluation
    }
}
