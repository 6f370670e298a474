import NASTensor

/// A search strategy behind the ask/tell interface (ARCHITECTURE.md, decision 4): it proposes genomes
/// and is told their fitness; it knows nothing of how they were scored (a proxy, a supernet, training).
///
/// With one writer, asks and tells alternate: `ask` proposes one genome, `tell` reports it before the
/// next `ask`. The strategy draws from its own seeded generator only, so the same seed and the same
/// fitnesses give the same proposals — a study resumes by replaying its stored trials through a fresh
/// strategy. With several workers (asynchronous mode), a worker tells its strategy every trial finished
/// by anyone before each ask, so asks may run ahead of tells and `tell` may report genomes the strategy
/// never proposed; each strategy documents how it stays well-defined then (all are steady-state, none
/// waits at a generation barrier).
///
/// Fitness is a vector, every entry larger-is-better: the study's objectives (minimised ones negated),
/// then the negated Pareto cost. Single-objective strategies read entry 0; NSGA-II reads them all.
/// A failed evaluation has fitness −∞ everywhere.
public protocol SearchStrategy: AnyObject {
    /// The registry name.
    var name: String { get }
    /// The next genome to evaluate. `accept` says whether a genome may be proposed (inside the budget
    /// and not evaluated before); proposals are drawn until one is accepted, at most `maxTries` times.
    func ask(accept: (Genome) -> Bool) throws -> Genome
    /// The fitness of a finished genome (with one writer, the one last asked).
    func tell(_ genome: Genome, fitness: [Double])
}

public enum SearchStrategyError: Error, CustomStringConvertible, Equatable {
    case unknownName(String, valid: [String])
    /// No acceptable genome in `tries` draws: the budget is too tight for the space, or the space is exhausted.
    case noAcceptableCandidate(strategy: String, tries: Int)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .unknownName(let name, let valid):
            return "unknown strategy '\(name)'; valid names: \(valid.joined(separator: ", "))"
        case .noAcceptableCandidate(let strategy, let tries):
            return "\(strategy): no new candidate inside the budget in \(tries) draws (the budget is too tight for "
                + "this space, or every candidate near the current ones has been evaluated)"
        case .invalidOption(let message):
            return message
        }
    }
}

public enum SearchStrategies {
    public static let names = ["random", "ga", "evolver", "regularized-evolution", "nsga2", "enas", "enas-buffer", "linas"]

    /// The strategy called `name` over `space`, seeded; `populationSize` overrides each one's default.
    public static func named(_ name: String, space: SearchSpace, seed: UInt64, populationSize: Int? = nil) throws -> SearchStrategy {
        if let p = populationSize, p < 2 { throw SearchStrategyError.invalidOption("population size must be ≥ 2, got \(p)") }
        switch name {
        case "random": return RandomSearch(space: space, seed: seed)
        case "ga": return GeneticAlgorithm(space: space, seed: seed, populationSize: populationSize ?? 50)
        case "evolver": return AutoTinyBERTEvolver(space: space, seed: seed, populationSize: populationSize ?? 25)
        case "regularized-evolution": return RegularizedEvolution(space: space, seed: seed, populationSize: populationSize ?? 50)
        case "nsga2": return NSGA2(space: space, seed: seed, populationSize: populationSize ?? 50)
        case "enas": return ENASController(space: space, seed: seed)
        case "enas-buffer": return ENASController(space: space, seed: seed, bufferSize: populationSize ?? 50)
        case "linas": return LINAS(space: space, seed: seed, populationSize: populationSize ?? 50)
        default: throw SearchStrategyError.unknownName(name, valid: names)
        }
    }
}

/// Draws from `make` until `accept` takes a genome, at most `maxTries` times. A draw costs microseconds
/// (decode and analytic costs), and a tight budget may accept one uniform sample in 10⁴ (e.g. AutoTinyBERT
/// under 4.4M parameters), hence the generous limit. With a `fallback` (a uniform sample), `make` gets
/// 2,000 draws and the fallback the rest: when the neighbourhood of the parents is exhausted, the
/// strategy explores instead of stopping.
func propose(_ strategy: String, maxTries: Int = 200_000, accept: (Genome) -> Bool, fallback: (() -> Genome)? = nil,
             _ make: () -> Genome) throws -> Genome {
    for _ in 0..<(fallback == nil ? maxTries : min(2_000, maxTries)) {
        let g = make()
        if accept(g) { return g }
    }
    if let fallback { return try propose(strategy, maxTries: maxTries, accept: accept, fallback) }
    throw SearchStrategyError.noAcceptableCandidate(strategy: strategy, tries: maxTries)
}

/// Index of a draw from `weights` (roulette wheel; uniform when all weights are 0).
func roulette(_ weights: [Double], using rng: inout RandomGenerator) -> Int {
    let total = weights.reduce(0, +)
    guard total > 0, total.isFinite else { return Int(rng.next() % UInt64(weights.count)) }
    var u = Double(rng.uniform()) * total
    for (i, w) in weights.enumerated() {
        u -= w
        if u < 0 { return i }
    }
    return weights.lastIndex { $0 > 0 } ?? 0
}

/// A uniform index below `n`.
func uniformIndex(_ n: Int, using rng: inout RandomGenerator) -> Int { Int(rng.next() % UInt64(n)) }
