import NASTensor

/// NSGA-II (Deb et al., 2002) for Pareto fronts of several objectives (here the study's objectives and
/// the negated Pareto cost, all maximised). A population of `populationSize`; each generation as many
/// children, each a uniform crossover of two parents chosen by binary tournament (lower non-domination
/// rank wins, then larger crowding distance), then mutated (each gene with probability 1/genes). The next
/// population: parents ∪ children by fronts of the fast non-dominated sort, the last front cut by
/// crowding distance. Failed evaluations sit in a last front of their own.
///
/// Asynchronous mode (workers): steady-state with batch replacement, no generation barrier, as in the
/// evolver: tournaments draw from the current population while children are still running, and every
/// `populationSize` children told, whoever evaluated them, make the next population by non-dominated
/// sorting. With one worker this is exactly the generational algorithm above.
public final class NSGA2: SearchStrategy {
    public let name = "nsga2"
    let space: SearchSpace
    public let populationSize: Int
    var rng: RandomGenerator
    var population: [(genome: Genome, fitness: [Double])] = []
    var children: [(genome: Genome, fitness: [Double])] = []
    /// Per population member: (rank, crowding distance), for the tournament.
    var standing: [(rank: Int, crowding: Double)] = []
    var asked = 0, told = 0

    public init(space: SearchSpace, seed: UInt64, populationSize: Int = 50) {
        self.space = space
        self.populationSize = populationSize
        rng = RandomGenerator(seed: seed)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        defer { asked += 1 }
        if (asked < populationSize && told < populationSize) || population.isEmpty {
            return try propose(name, accept: accept) { space.sample(using: &rng) }
        }
        if standing.count != population.count { standing = Self.standing(population.map(\.fitness)) }
        let p = 1 / Double(max(space.genes.count, 1))
        return try propose(name, accept: accept, fallback: { self.space.sample(using: &self.rng) }) {
            let a = tournament(), b = tournament()
            return space.mutate(space.crossover(population[a].genome, population[b].genome, using: &rng), probability: p, using: &rng)
        }
    }

    func tournament() -> Int {
        let i = uniformIndex(population.count, using: &rng), j = uniformIndex(population.count, using: &rng)
        let (a, b) = (standing[i], standing[j])
        if a.rank != b.rank { return a.rank < b.rank ? i : j }
        return a.crowding >= b.crowding ? i : j
    }

    public func tell(_ genome: Genome, fitness: [Double]) {
        told += 1
        if told <= populationSize {
            population.append((genome, fitness))
            return
        }
        children.append((genome, fitness))
        guard children.count == populationSize else { return }
        let all = population + children
        let points = Self.minimised(all.map(\.fitness))
        var next: [Int] = []
        for front in ParetoFront.nonDominatedSort(points) {
            if next.count + front.count <= populationSize {
                next += front
            } else {
                let d = ParetoFront.crowdingDistance(points, front: front)
                let order = front.indices.sorted { (d[$0], -front[$0]) > (d[$1], -front[$1]) }
                next += order.prefix(populationSize - next.count).map { front[$0] }
            }
            if next.count == populationSize { break }
        }
        population = next.map { all[$0] }
        children = []
        standing = []
    }

    /// Fitness as ParetoFront's minimised points; a failed member (non-finite fitness) becomes NaN, which
    /// ParetoFront puts in a last front of its own and leaves out of crowding.
    static func minimised(_ fitness: [[Double]]) -> [[Double]] {
        fitness.map { f in f.allSatisfy(\.isFinite) ? f.map { -$0 } : f.map { _ in .nan } }
    }

    /// (rank, crowding distance) of every member.
    static func standing(_ fitness: [[Double]]) -> [(rank: Int, crowding: Double)] {
        let points = minimised(fitness)
        var out = [(rank: Int, crowding: Double)](repeating: (0, 0), count: fitness.count)
        for (rank, front) in ParetoFront.nonDominatedSort(points).enumerated() {
            let d = ParetoFront.crowdingDistance(points, front: front)
            for (k, i) in front.enumerated() { out[i] = (rank, d[k]) }
        }
        return out
    }
}
