import NASTensor

/// The genetic algorithm of W-PCA (Wang et al., ICLR 2025): an initial population of random genomes,
/// then generations of `mutations` children (a random top-k parent, every gene resampled with
/// probability `mutationProbability`) and `crossovers` children (uniform crossover of two random top-k
/// parents), the top k taken over everything evaluated so far when the generation starts.
/// Defaults: population 50, k = 10, 25 mutations, 25 crossovers, p = 0.1.
///
/// Asynchronous mode (workers): steady-state, no generation barrier. The random phase ends once
/// `populationSize` genomes were asked or told; a generation's parents are the top k of every trial
/// finished (by any worker) when it starts, while children of the previous one may still be running.
/// With one worker this is exactly the generational algorithm above.
public final class GeneticAlgorithm: SearchStrategy {
    public let name = "ga"
    let space: SearchSpace
    public let populationSize: Int, topK: Int, mutations: Int, crossovers: Int
    public let mutationProbability: Double
    var rng: RandomGenerator
    /// Everything told: (genome, primary fitness).
    var history: [(genome: Genome, fitness: Double)] = []
    var asked = 0
    /// The current generation's parents and how many of its children were asked.
    var parents: [Genome] = []
    var childIndex = 0

    public init(space: SearchSpace, seed: UInt64, populationSize: Int = 50, topK: Int = 10, mutations: Int = 25,
                crossovers: Int = 25, mutationProbability: Double = 0.1) {
        precondition(topK >= 1 && mutations + crossovers >= 1, "GeneticAlgorithm: needs k ≥ 1 and at least one child per generation")
        self.space = space
        self.populationSize = populationSize; self.topK = topK; self.mutations = mutations; self.crossovers = crossovers
        self.mutationProbability = mutationProbability
        rng = RandomGenerator(seed: seed)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        defer { asked += 1 }
        if (asked < populationSize && history.count < populationSize) || history.isEmpty {
            return try propose(name, accept: accept) { space.sample(using: &rng) }
        }
        if parents.isEmpty || childIndex == mutations + crossovers {
            // A new generation: the top k of everything evaluated so far (ties: earlier first).
            parents = history.enumerated().sorted { ($0.element.fitness, -$0.offset) > ($1.element.fitness, -$1.offset) }
                .prefix(topK).map(\.element.genome)
            childIndex = 0
        }
        let mutate = childIndex < mutations
        childIndex += 1
        return try propose(name, accept: accept, fallback: { self.space.sample(using: &self.rng) }) {
            let a = parents[uniformIndex(parents.count, using: &rng)]
            if mutate { return space.mutate(a, probability: mutationProbability, using: &rng) }
            let b = parents[uniformIndex(parents.count, using: &rng)]
            return space.crossover(a, b, using: &rng)
        }
    }

    public func tell(_ genome: Genome, fitness: [Double]) {
        history.append((genome, fitness[0]))
    }
}
