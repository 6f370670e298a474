import XCTest
@testable import NASModels
@testable import NASSearch
@testable import NASTensor

final class ENASControllerTests: XCTestCase {
    /// A space with one decided gene of two choices (depth 1 or 2): a two-armed bandit.
    static let bandit = SearchSpace(name: "bandit", family: .decoder, vocabSize: 5, maxPositions: 4, depth: [1, 2], hidden: [8],
                                    layers: .shared, heads: [1], ffnRatio: [1])

    /// REINFORCE on a two-armed bandit (reward 1 for depth 2, 0 for depth 1) converges to the better arm,
    /// with and without the memory buffer.
    func testConvergesToTheBetterArmOfABandit() throws {
        for buffer in [0, 20] {
            let controller = ENASController(space: Self.bandit, seed: 3, hidden: 8, learningRate: 0.05, bufferSize: buffer)
            let better = [1, 0, 0, 0, 0]
            let start = exp(controller.logProbability(of: better))
            XCTAssertEqual(start, 0.5, accuracy: 0.2, "starts near uniform")
            for _ in 0..<200 {
                let g = try controller.ask { _ in true }
                controller.tell(g, fitness: [g[0] == 1 ? 1 : 0])
            }
            XCTAssertGreaterThan(exp(controller.logProbability(of: better)), 0.9, "buffer \(buffer)")
        }
    }

    /// Hidden-state vs edit distance: genomes differing only in an absent layer's genes are one
    /// architecture (edit distance 0, hidden distance 0 after canonicalisation), so with a third genome
    /// at a positive edit distance from both the two rankings agree exactly.
    func testHiddenStateDistanceIsComparedOnCanonicalArchitectures() {
        let space = SearchSpace.tangleNASShakespeare
        let controller = ENASController(space: space, seed: 1, hidden: 16)
        var a = space.encode(space.decode([Int](repeating: 0, count: space.genes.count)))!
        XCTAssertEqual(space.decode(a).depth, 4)
        var b = a
        b[space.genes.count - 1] = 1                          // the last slot's gene: layer 6, absent at depth 4
        XCTAssertEqual(space.decode(a), space.decode(b))
        a[1] = 0; var c = a; c[1] = 2                          // a different embedding width
        let result = controller.hiddenStateEditDistanceCorrelation([a, b, c])
        XCTAssertEqual(result.pairs, 3)
        XCTAssertEqual(result.spearman, 1, accuracy: 1e-12)
        XCTAssertEqual(result.kendall, 1, accuracy: 1e-12)
        XCTAssertEqual(controller.hiddenState(of: a), controller.hiddenState(of: space.encode(space.decode(b))!))
    }

    /// The same seed and fitnesses give the same proposals (a study resumes by replay).
    func testSameSeedSameProposals() throws {
        func trajectory() throws -> [Genome] {
            let c = ENASController(space: .tangleNASShakespeare, seed: 5, hidden: 16, learningRate: 0.01, bufferSize: 5)
            return try (0..<6).map { _ in
                let g = try c.ask { _ in true }
                c.tell(g, fitness: [Double(g.reduce(0, +))])
                return g
            }
        }
        XCTAssertEqual(try trajectory(), try trajectory())
    }

    /// ∂ log π(a)/∂(start vector) of the unrolled LSTM against central finite differences.
    func testLogProbabilityGradientMatchesFiniteDifferences() {
        let c = ENASController(space: .tangleNASShakespeare, seed: 2, hidden: 6)
        var rng = RandomGenerator(seed: 4)
        let genome = SearchSpace.tangleNASShakespeare.sample(using: &rng)
        c.optimizer.zeroGrad()
        c.unroll(genome).logProbability.backward()
        let analytic = c.start.grad!.scalars
        for i in 0..<6 {
            let saved = c.start.value.scalars
            func at(_ d: Float) -> Double {
                var s = saved; s[i] += d
                c.start.value = Tensor(shape: [1, 6], scalars: s)
                return c.logProbability(of: genome)
            }
            let fd = (at(1e-2) - at(-1e-2)) / 2e-2
            c.start.value = Tensor(shape: [1, 6], scalars: saved)
            XCTAssertEqual(Double(analytic[i]), fd, accuracy: 1e-3 + 2e-2 * abs(fd), "start[\(i)]")
        }
    }
}
