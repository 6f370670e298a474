import NASTensor

/// AutoTinyBERT's evolver (Yin et al., 2021): a population of `populationSize`, each generation as many
/// children, each — with probability `exploreRate` (0.5) — a step mutation of one parent (each gene moved
/// one choice up or down with probability `mutationProbability`), otherwise a uniform crossover of two;
/// parents drawn by roulette wheel in proportion to fitness − min fitness of the population. The next
/// population is the best `populationSize` of parents and children (elitist).
///
/// Asynchronous mode (workers): steady-state with batch replacement, no generation barrier. The first
/// `populationSize` trials told form the population; asks draw parents from the current population while
/// children are still running, and every `populationSize` children told, whoever evaluated them, replace
/// it by the elitist rule. With one worker this is exactly the generational algorithm above.
public final class AutoTinyBERTEvolver: SearchStrategy {
    public let name = "evolver"
    let space: SearchSpace
    public let populationSize: Int
    public let exploreRate: Double, mutationProbability: Double
    var rng: RandomGenerator
    var population: [(genome: Genome, fitness: Double)] = []
    var children: [(genome: Genome, fitness: Double)] = []
    var asked = 0, told = 0

    public init(space: SearchSpace, seed: UInt64, populationSize: Int = 25, exploreRate: Double = 0.5,
                mutationProbability: Double = 0.2) {
        self.space = space
        self.populationSize = populationSize; self.exploreRate = exploreRate; self.mutationProbability = mutationProbability
        rng = RandomGenerator(seed: seed)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        defer { asked += 1 }
        if (asked < populationSize && told < populationSize) || population.isEmpty {
            return try propose(name, accept: accept) { space.sample(using: &rng) }
        }
        let finite = population.map(\.fitness).filter(\.isFinite)
        let floor = finite.min() ?? 0, spread = (finite.max() ?? 0) - floor
        // Fitness above the worst, plus a small share of the spread so the worst can still be drawn.
        let weights = population.map { $0.fitness.isFinite ? $0.fitness - floor + 0.01 * spread + 1e-12 : 0 }
        return try propose(name, accept: accept, fallback: { self.space.sample(using: &self.rng) }) {
            let a = population[roulette(weights, using: &rng)].genome
            if Double(rng.uniform()) < exploreRate { return space.stepMutate(a, probability: mutationProbability, using: &rng) }
            let b = population[roulette(weights, using: &rng)].genome
            return space.crossover(a, b, using: &rng)
        }
    }

    public func tell(_ genome: Genome, fitness: [Double]) {
        told += 1
        if told <= populationSize {
            population.append((genome, fitness[0]))
            return
        }
        children.append((genome, fitness[0]))
        if children.count == populationSize {
            population = (population + children).enumerated()
                .sorted { ($0.element.fitness, -$0.offset) > ($1.element.fitness, -$1.offset) }
                .prefix(populationSize).map(\.element)
            children = []
        }
    }
}
