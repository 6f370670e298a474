import NASTensor

/// Regularized (aging) evolution (Real et al., AAAI 2019): a queue of the `populationSize` most recent
/// genomes; each child mutates the best of `sampleSize` members drawn at random (tournament), every
/// gene resampled with probability 1/genes (at least one gene changes); the child joins the queue and
/// the oldest member leaves, whatever its fitness.
///
/// Asynchronous by design (Real et al. ran it on hundreds of workers): steady-state, each finished trial
/// joins the queue when it is told, whoever evaluated it; the random phase ends once `populationSize`
/// genomes were asked or told.
public final class RegularizedEvolution: SearchStrategy {
    public let name = "regularized-evolution"
    let space: SearchSpace
    public let populationSize: Int, sampleSize: Int
    var rng: RandomGenerator
    var population: [(genome: Genome, fitness: Double)] = []
    var asked = 0, told = 0

    public init(space: SearchSpace, seed: UInt64, populationSize: Int = 50, sampleSize: Int = 10) {
        self.space = space
        self.populationSize = populationSize
        self.sampleSize = min(sampleSize, populationSize)
        rng = RandomGenerator(seed: seed)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        defer { asked += 1 }
        if (asked < populationSize && told < populationSize) || population.isEmpty {
            return try propose(name, accept: accept) { space.sample(using: &rng) }
        }
        let p = 1 / Double(max(space.genes.count, 1))
        return try propose(name, accept: accept, fallback: { self.space.sample(using: &self.rng) }) {
            let contenders = (0..<sampleSize).map { _ in population[uniformIndex(population.count, using: &rng)] }
            let parent = contenders.max { $0.fitness < $1.fitness }!.genome
            var child = parent
            for _ in 0..<100 where child == parent { child = space.mutate(parent, probability: p, using: &rng) }
            return child
        }
    }

    public func tell(_ genome: Genome, fitness: [Double]) {
        told += 1
        population.append((genome, fitness[0]))
        if population.count > populationSize { population.removeFirst() }
    }
}
