import NASModels

/// One evaluated candidate of a study: what was proposed (the genome and its architecture), what it
/// scored (each objective by name) and what it costs. Trials are numbered from 0 in the order the
/// strategy proposed them; a study stores each one durably before the strategy is told.
public struct Trial: Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        /// Every objective has a finite value.
        case complete
        /// The evaluation threw or gave a non-finite value; the strategy is told it is the worst.
        case failed
    }

    public var number: Int
    public var genome: Genome
    public var architecture: Architecture
    public var objectives: [String: Double]
    public var costs: Costs
    public var state: State
    /// Wall-clock seconds of the evaluation.
    public var seconds: Double

    public init(number: Int, genome: Genome, architecture: Architecture, objectives: [String: Double], costs: Costs,
                state: State, seconds: Double) {
        self.number = number; self.genome = genome; self.architecture = architecture; self.objectives = objectives
        self.costs = costs; self.state = state; self.seconds = seconds
    }
}

/// An objective of a study: a name (a proxy's, or later `supernet`, `trained-accuracy`, …) and whether
/// larger is better.
public struct ObjectiveSpec: Equatable, Codable, Sendable {
    public var name: String
    public var maximize: Bool
    public init(name: String, maximize: Bool = true) { self.name = name; self.maximize = maximize }
}
