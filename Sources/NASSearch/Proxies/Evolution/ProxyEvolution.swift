import NASTensor

/// Evolution of proxies (EMQ, Dong et al., ICCV 2023, "EMQ: Evolving Training-free Proxies for Automated Mixed
/// Precision Quantization"): a population of `ProxyGenotype`s, each scored on every sample (a quantization unit, an
/// architecture), its fitness a rank correlation computed by the caller from those scores (`fitness`).
///
/// **Compatibility screening** (before a candidate costs a full evaluation): a genotype seen before is skipped; it is
/// evaluated first on the `screeningSamples` first samples, and any missing leaf, shape mismatch or non-finite value
/// rejects it (*invalid*); then on all samples, where a constant score (*constant*) or a score vector equal, up to a
/// positive factor, to a member's (*equivalent*: s/max|s| agrees to 1e-4 everywhere) rejects it.
///
/// **Diversity-prompting selection**: each parent is the fittest of `tournament` members drawn from the population
/// (not the global best, which makes the population collapse onto one proxy); the child — a crossover with
/// probability `crossoverProbability`, then one mutation — replaces the least fit member when it is fitter, and the
/// population never holds two equivalent members.
public struct ProxyEvolution {
    public struct Settings: Sendable {
        public var population = 40
        public var iterations = 600
        public var tournament = 4
        public var crossoverProbability = 0.5
        public var screeningSamples = 2
        public var seed: UInt64 = 0
        public init(population: Int = 40, iterations: Int = 600, tournament: Int = 4, seed: UInt64 = 0) {
            (self.population, self.iterations, self.tournament, self.seed) = (population, iterations, tournament, seed)
        }
    }

    public struct Member: Sendable {
        public var genotype: ProxyGenotype
        public var scores: [Double]
        public var fitness: Double
    }

    public struct Result: Sendable {
        /// The population at the end, fittest first.
        public var population: [Member]
        /// The best fitness after each iteration.
        public var history: [Double]
        /// Candidates that cost a full evaluation, and those screened out as invalid, constant, equivalent or repeated.
        public var evaluated = 0, invalid = 0, constant = 0, equivalent = 0, repeated = 0
        public var best: Member { population[0] }
    }

    public let leafNames: [String]
    public let samples: [[String: ProxyValue]]
    public let fitness: ([Double]) -> Double

    /// `samples`: the leaves of each sample by name; `fitness`: larger is better, from the per-sample scores.
    public init(leafNames: [String], samples: [[String: ProxyValue]], fitness: @escaping ([Double]) -> Double) {
        precondition(!leafNames.isEmpty && !samples.isEmpty, "ProxyEvolution: no leaves or no samples")
        (self.leafNames, self.samples, self.fitness) = (leafNames, samples, fitness)
    }

    /// The per-sample scores of `genotype`, nil when it is invalid on any sample.
    public func scores(_ genotype: ProxyGenotype, samples subset: ArraySlice<[String: ProxyValue]>? = nil) -> [Double]? {
        var out: [Double] = []
        for leaves in subset ?? samples[...] {
            guard let s = genotype.evaluate(leaves) else { return nil }
            out.append(s)
        }
        return out
    }

    static func fingerprint(_ scores: [Double]) -> [Int64] {
        let m = scores.map(Swift.abs).max() ?? 0
        return scores.map { Int64(($0 / (m > 0 ? m : 1) * 1e4).rounded()) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case noValidProxy(tries: Int)
        public var description: String {
            switch self {
            case .noValidProxy(let tries):
                return "no valid proxy among \(tries) random ones (every one failed screening or had an undefined fitness)"
            }
        }
    }

    public func run(_ settings: Settings, start: [ProxyGenotype] = []) throws -> Result {
        var rng = RandomGenerator(seed: settings.seed)
        var result = Result(population: [], history: [])
        var seen = Set<ProxyGenotype>(), prints = Set<[Int64]>()
        var population: [Member] = []

        func admit(_ g: ProxyGenotype) -> Member? {
            guard seen.insert(g).inserted else { result.repeated += 1; return nil }
            guard self.scores(g, samples: samples.prefix(settings.screeningSamples)) != nil, let s = self.scores(g) else {
                result.invalid += 1; return nil
            }
            guard let first = s.first, s.contains(where: { $0 != first }) else { result.constant += 1; return nil }
            let print = ProxyEvolution.fingerprint(s)
            guard !prints.contains(print) else { result.equivalent += 1; return nil }
            result.evaluated += 1
            let f = fitness(s)
            guard f.isFinite else { result.invalid += 1; return nil }
            prints.insert(print)
            return Member(genotype: g, scores: s, fitness: f)
        }

        for g in start { if let m = admit(g) { population.append(m) } }
        var attempts = 0
        while population.count < settings.population && attempts < 100 * settings.population {
            attempts += 1
            if let m = admit(ProxyGenotype.random(leafNames: leafNames, using: &rng)) { population.append(m) }
        }
        guard !population.isEmpty else { throw Failure.noValidProxy(tries: attempts) }

        func parent() -> Member {
            (0..<max(1, settings.tournament)).map { _ in population[Int(rng.next() % UInt64(population.count))] }.max { $0.fitness < $1.fitness }!
        }
        for _ in 0..<settings.iterations {
            var child = parent().genotype
            if Double(rng.uniform()) < settings.crossoverProbability { child = ProxyGenotype.crossover(child, parent().genotype, using: &rng) }
            child = child.mutated(leafNames: leafNames, using: &rng)
            if let m = admit(child) {
                let worst = population.indices.min { population[$0].fitness < population[$1].fitness }!
                if population.count < settings.population { population.append(m) }
                else if m.fitness > population[worst].fitness {
                    prints.remove(ProxyEvolution.fingerprint(population[worst].scores))
                    population[worst] = m
                }
            }
            result.history.append(population.map(\.fitness).max()!)
        }
        result.population = population.sorted { $0.fitness > $1.fitness }
        return result
    }
}
