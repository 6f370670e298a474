import NASTensor

/// Lightweight Iterative NAS (LINAS; Cummings et al., 2022, the loop of Intel's DyNAS-T): measure a few candidates
/// for real, fit a cheap predictor of every fitness entry from the genome's vector (`FitnessRegression`: ridge or
/// RBF kernel ridge, chosen by cross-validated error), let NSGA-II search the predictor for `generations`
/// generations, and measure the predicted Pareto set; repeat with everything measured so far.
///
/// As an ask/tell strategy: the first `initial` asks are uniform samples; then each round fits the predictors on
/// the finite fitnesses told, runs the inner NSGA-II (seeded by the round) on predicted fitness vectors, and queues
/// its final first front — best predicted first entry first — without the genomes already told or queued, at most
/// `batch` of them; asks draw from the queue (a uniform sample when the round proposes nothing acceptable).
/// Asynchronous mode: tells of genomes it never asked only add data.
public final class LINAS: SearchStrategy {
    public let name = "linas"
    let space: SearchSpace
    public let initial: Int
    public let batch: Int
    public let populationSize: Int
    public let generations: Int
    let seed: UInt64
    var rng: RandomGenerator
    var told: [(genome: Genome, fitness: [Double])] = []
    var queue: [Genome] = []
    var asked = 0, round = 0
    /// What one round learnt: each fitness entry's predictor (its kind, every kind's cross-validated mean squared
    /// error) and, after the first round, the Kendall τ-b between the previous round's prediction of the first
    /// entry and the measured values of the members told since (held out from that fit), with their count.
    public struct Round {
        public var predictors: [(kind: FitnessRegression.Kind, errors: [FitnessRegression.Kind: Double])]
        public var heldOut: (tau: Double, count: Int)?
    }
    public private(set) var rounds: [Round] = []
    var lastFit: (model: FitnessRegression, count: Int)?

    public init(space: SearchSpace, seed: UInt64, initial: Int = 50, batch: Int = 10, populationSize: Int = 50, generations: Int = 20) {
        self.space = space; self.seed = seed; self.initial = initial; self.batch = batch
        self.populationSize = populationSize; self.generations = generations
        rng = RandomGenerator(seed: seed)
    }

    public func ask(accept: (Genome) -> Bool) throws -> Genome {
        defer { asked += 1 }
        if asked < initial { return try propose(name, accept: accept) { space.sample(using: &rng) } }
        if queue.isEmpty { refill() }
        while !queue.isEmpty {
            let g = queue.removeFirst()
            if accept(g) { return g }
        }
        return try propose(name, accept: accept) { space.sample(using: &rng) }
    }

    public func tell(_ genome: Genome, fitness: [Double]) { told.append((genome, fitness)) }

    /// One round: predictors fitted, NSGA-II run on them, the predicted first front queued.
    func refill() {
        round += 1
        let data = told.filter { $0.fitness.allSatisfy(\.isFinite) }
        guard data.count >= 2, let entries = data.first?.fitness.count else { return }
        let x = data.map { space.vector($0.genome) }
        var heldOut: (Double, Int)?
        if let (model, count) = lastFit {
            let fresh = told[count...].filter { $0.fitness.allSatisfy(\.isFinite) }
            if fresh.count >= 2 {
                heldOut = (RankCorrelation.kendallTauB(fresh.map { model.predict(space.vector($0.genome)) }, fresh.map { $0.fitness[0] }),
                           fresh.count)
            }
        }
        let fitted = (0..<entries).map { e in FitnessRegression.select(x: x, y: data.map { $0.fitness[e] }, seed: seed &+ UInt64(round)) }
        lastFit = (fitted[0].model, told.count)
        rounds.append(Round(predictors: fitted.map { ($0.model.kind, $0.errors) }, heldOut: heldOut))
        let predict = { (g: Genome) in fitted.map { $0.model.predict(self.space.vector(g)) } }
        let inner = NSGA2(space: space, seed: seed ^ (UInt64(round) &* 0x9E37_79B9_7F4A_7C15), populationSize: populationSize)
        for _ in 0..<(populationSize * (generations + 1)) {
            guard let g = try? inner.ask(accept: { _ in true }) else { break }
            inner.tell(g, fitness: predict(g))
        }
        let population = inner.population
        let first = ParetoFront.nonDominatedSort(NSGA2.minimised(population.map(\.fitness))).first ?? []
        var seen = Set(told.map { $0.genome })
        queue = first.map { population[$0] }.sorted { $0.fitness[0] > $1.fitness[0] }.map(\.genome)
            .filter { seen.insert($0).inserted }
        queue = Array(queue.prefix(batch))
    }
}
