import XCTest
@testable import NASModels
@testable import NASSearch
import NASTensor

/// The strategies behind ask/tell, on synthetic objectives (no model is built).
final class StrategyTests: XCTestCase {
    let space = SearchSpace.autoTinyBERT
    let budget = 10_000_000

    /// A smooth synthetic fitness with its optimum inside the budget: wide and deep is good, over-large
    /// FFNs are not.
    func fitness(_ arch: Architecture) -> Double {
        let l = arch.layers[0]
        return Double(arch.depth * arch.hidden) - 0.3 * abs(Double(l.ffn - 2 * arch.hidden)) + Double(l.qkv) / 10
    }

    /// Runs `strategy` for `n` ask/tell rounds under the budget, never proposing an architecture twice.
    func drive(_ strategy: SearchStrategy, _ n: Int, fitnessOf: ((Architecture) -> [Double])? = nil) throws -> [(Genome, Double)] {
        var seen = Set<Architecture>(), out: [(Genome, Double)] = []
        for _ in 0..<n {
            let g = try strategy.ask { g in
                let a = space.decode(g)
                return space.contains(g) && !seen.contains(a) && a.parameterCount <= budget
            }
            let arch = space.decode(g)
            seen.insert(arch)
            let f = fitnessOf?(arch) ?? [fitness(arch), -Double(arch.parameterCount)]
            strategy.tell(g, fitness: f)
            out.append((g, f[0]))
        }
        return out
    }

    func testEveryStrategyRespectsTheBudgetAndTheSpaceAndIsDeterministic() throws {
        for name in SearchStrategies.names {
            let run = try drive(try SearchStrategies.named(name, space: space, seed: 5, populationSize: 10), 60)
            XCTAssertEqual(run.count, 60)
            for (g, _) in run {
                XCTAssertTrue(space.contains(g), name)
                XCTAssertLessThanOrEqual(space.decode(g).parameterCount, budget, name)
            }
            XCTAssertEqual(Set(run.map { space.decode($0.0) }).count, 60, "\(name): no architecture twice")
            let again = try drive(try SearchStrategies.named(name, space: space, seed: 5, populationSize: 10), 60)
            XCTAssertEqual(run.map(\.0), again.map(\.0), "\(name): same seed, same proposals")
            let other = try drive(try SearchStrategies.named(name, space: space, seed: 6, populationSize: 10), 60)
            XCTAssertNotEqual(run.map(\.0), other.map(\.0), "\(name): another seed, other proposals")
        }
    }

    /// The evolutionary strategies improve on their random initial population.
    func testEvolutionImprovesOnTheInitialPopulation() throws {
        for name in ["ga", "evolver", "regularized-evolution"] {
            let run = try drive(try SearchStrategies.named(name, space: space, seed: 2, populationSize: 20), 200)
            let initial = run.prefix(20).map(\.1), last = run.suffix(40).map(\.1)
            let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
            XCTAssertGreaterThan(mean(last), mean(initial), name)
            XCTAssertGreaterThan(run.map(\.1).max()!, initial.max()!, "\(name) finds better than its random start")
        }
    }

    func testGeneticAlgorithmGenerationShape() throws {
        // Population 4, k = 2, 3 mutations and 2 crossovers per generation; every child descends from the
        // top 2 of what was evaluated before its generation started.
        let ga = GeneticAlgorithm(space: SearchSpace.wPCA, seed: 1, populationSize: 4, topK: 2, mutations: 3, crossovers: 2,
                                  mutationProbability: 0.1)
        var told: [(Genome, Double)] = []
        for i in 0..<9 {
            let g = try ga.ask { _ in true }
            if i >= 4 {
                let top = told.sorted { $0.1 > $1.1 }.prefix(2).map(\.0)
                let child = i - 4
                if child < 3 {
                    // A mutation with p = 0.1 keeps most genes of one parent.
                    let close = top.map { p in zip(p, g).filter { $0 != $1 }.count }.min()!
                    XCTAssertLessThanOrEqual(close, 6)
                } else {
                    for k in g.indices { XCTAssertTrue(top.contains { $0[k] == g[k] }, "crossover gene \(k) from a parent") }
                }
            }
            let f = Double(g.reduce(0, +))
            ga.tell(g, fitness: [f])
            if i < 4 { told.append((g, f)) }
        }
    }

    func testRegularizedEvolutionAgesOutTheOldest() throws {
        let re = RegularizedEvolution(space: space, seed: 3, populationSize: 5, sampleSize: 2)
        _ = try drive(re, 12)
        XCTAssertEqual(re.population.count, 5)
        let run = try drive(RegularizedEvolution(space: space, seed: 3, populationSize: 5, sampleSize: 2), 12)
        XCTAssertEqual(re.population.map(\.genome), run.suffix(5).map(\.0), "the queue holds the 5 most recent")
    }

    /// NSGA-II's survivor selection on a hand-made combined population (both entries maximised):
    /// front 1 = {A(4,1), B(3,2), C(1,4)}, front 2 = {D(2,1.5), E(0.5,3)}, front 3 = {F(1,1)}, G failed.
    /// With 4 survivors: all of front 1, then from front 2 the less crowded — both of front 2 are its
    /// boundary points (∞), so the tie goes to the earlier index, D.
    func testNSGA2SurvivorSelectionOnHandMadeFronts() {
        let nsga = NSGA2(space: space, seed: 1, populationSize: 4)
        let points: [[Double]] = [[4, 1], [3, 2], [1, 4], [2, 1.5], [0.5, 3], [1, 1], [-.infinity, 0], [0.2, 0.1]]
        let standing = NSGA2.standing(points)
        XCTAssertEqual(standing.map(\.rank), [0, 0, 0, 1, 1, 2, 4, 3])
        XCTAssertEqual(standing[1].crowding, 2, accuracy: 1e-12, "B: (4 − 1)/3 + (4 − 1)/3")
        XCTAssertEqual(standing[0].crowding, .infinity)
        // Feed 4 parents and 4 children through tell and check who survives.
        let genomes = (0..<8).map { [$0, 0, 0, 0, 0] }
        for (g, f) in zip(genomes, points) { nsga.tell(g, fitness: f) }
        XCTAssertEqual(nsga.population.map(\.genome), [genomes[0], genomes[1], genomes[2], genomes[3]])
    }

    /// NSGA-II spreads along the trade-off: its final population covers a wider range of the cost than
    /// a single-objective GA converging on one point.
    func testNSGA2KeepsATradeOff() throws {
        let two: (Architecture) -> [Double] = { a in [Double(a.parameterCount) / 1e6 + Double(a.layers[0].qkv) / 1e3,
                                                      -Double(a.parameterCount) / 1e6] }
        let nsga = NSGA2(space: space, seed: 4, populationSize: 16)
        _ = try drive(nsga, 16 * 8, fitnessOf: two)
        let costs = nsga.population.map { -$0.fitness[1] }
        XCTAssertGreaterThan(costs.max()! - costs.min()!, 3, "the front spans millions of parameters")
        let ranks = NSGA2.standing(nsga.population.map(\.fitness)).map(\.rank)
        XCTAssertGreaterThan(ranks.filter { $0 == 0 }.count, 4, "many mutually non-dominated members")
    }

    /// Under 4.4M parameters few AutoTinyBERT members fit (hidden ≤ 144 and small layers): uniform sampling
    /// accepts about one draw in 10⁴, and the evolutionary strategies' neighbourhoods run dry, after which
    /// they explore with uniform samples instead of stopping.
    func testTightBudgetsStillYieldNewCandidates() throws {
        for name in ["ga", "evolver", "regularized-evolution", "nsga2"] {
            let strategy = try SearchStrategies.named(name, space: space, seed: 0, populationSize: 20)
            var seen = Set<Architecture>()
            for _ in 0..<150 {
                let g = try strategy.ask { g in
                    let a = space.decode(g)
                    return !seen.contains(a) && a.parameterCount <= 4_400_000
                }
                let arch = space.decode(g)
                XCTAssertLessThanOrEqual(arch.parameterCount, 4_400_000)
                seen.insert(arch)
                strategy.tell(g, fitness: [fitness(arch), -Double(arch.parameterCount)])
            }
            XCTAssertEqual(seen.count, 150, name)
        }
    }

    func testUnknownStrategyAndImpossibleBudget() {
        XCTAssertThrowsError(try SearchStrategies.named("annealing", space: space, seed: 0)) {
            XCTAssertTrue("\($0)".contains("valid names: random, ga"))
        }
        let random = RandomSearch(space: space, seed: 0)
        XCTAssertThrowsError(try random.ask { _ in false }) { XCTAssertTrue("\($0)".contains("too tight")) }
    }

    /// Asynchronous mode: four workers' asks run ahead of the tells (results arrive out of order, three
    /// asks late), and a fresh strategy is told 40 trials it never proposed before its first ask (a worker
    /// joining late). Every strategy stays in the space and the budget, and the evolving ones still improve
    /// on their random start.
    func testEveryStrategyWorksAsynchronously() throws {
        for name in SearchStrategies.names {
            let strategy = try SearchStrategies.named(name, space: space, seed: 9, populationSize: 10)
            var seen = Set<Architecture>(), pending: [(Genome, Double)] = [], told: [(Genome, Double)] = []
            var rng = RandomGenerator(seed: 4)
            func accept(_ g: Genome) -> Bool {
                let a = space.decode(g)
                return space.contains(g) && !seen.contains(a) && a.parameterCount <= budget
            }
            for _ in 0..<120 {
                let g = try strategy.ask(accept: accept)
                seen.insert(space.decode(g))
                pending.append((g, fitness(space.decode(g))))
                if pending.count == 4 {   // the oldest of four running trials finishes
                    let i = Int(rng.next() % 2)
                    let (done, f) = pending.remove(at: i)
                    strategy.tell(done, fitness: [f, 0])
                    told.append((done, f))
                }
            }
            XCTAssertEqual(told.count, 117, name)
            // ENAS's controller learns over thousands of samples at its learning rate (3.5e-4); its learning is
            // checked on a bandit in ENASControllerTests.
            if !["random", "enas", "enas-buffer"].contains(name) {
                let early = told.prefix(20).map(\.1).reduce(0, +) / 20, late = told.suffix(20).map(\.1).reduce(0, +) / 20
                XCTAssertGreaterThan(late, early, "\(name): asynchronous tells still steer the search")
            }
            // A worker joining late: told everything, asked nothing.
            let joiner = try SearchStrategies.named(name, space: space, seed: 10, populationSize: 10)
            for (g, f) in told.prefix(40) { joiner.tell(g, fitness: [f, 0]) }
            let g = try joiner.ask(accept: accept)
            XCTAssertTrue(accept(g), name)
        }
    }
}
