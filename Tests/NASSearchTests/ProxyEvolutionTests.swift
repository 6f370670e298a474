import XCTest
@testable import NASSearch
import NASTensor

/// The evolved-proxy engine: each op against a hand computation, invalid shapes refused, the formula and its Codable
/// form, and an evolution that recovers a planted proxy, screens invalid, constant and equivalent candidates and
/// repeats itself under a seed.
final class ProxyEvolutionTests: XCTestCase {
    let m = ProxyValue(rows: 2, cols: 3, values: [1, -2, 3, -4, 5, -6])

    func testUnaryOpsByHand() {
        XCTAssertEqual(ProxyUnary.abs.apply(m)?.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(ProxyUnary.square.apply(m)?.values, [1, 4, 9, 16, 25, 36])
        XCTAssertEqual(ProxyUnary.transpose.apply(m), ProxyValue(rows: 3, cols: 2, values: [1, -4, -2, 5, 3, -6]))
        XCTAssertEqual(ProxyUnary.rowMean.apply(m), ProxyValue(rows: 2, cols: 1, values: [2.0 / 3, -5.0 / 3]))
        XCTAssertEqual(ProxyUnary.columnMean.apply(m), ProxyValue(rows: 1, cols: 3, values: [-1.5, 1.5, -1.5]))
        XCTAssertEqual(ProxyUnary.mean.apply(m)!.values[0], -0.5, accuracy: 1e-6)
        XCTAssertEqual(ProxyUnary.frobenius.apply(m)!.values[0], Float(91.0.squareRoot()), accuracy: 1e-5)
        let z = ProxyUnary.standardize.apply(m)!
        XCTAssertEqual(z.mean, 0, accuracy: 1e-6)
        XCTAssertEqual(z.std, 1, accuracy: 1e-5)
        let expected: [Float] = [7.0 / 11, 4.0 / 11, 9.0 / 11, 2.0 / 11, 1, 0]
        let scaled = ProxyUnary.minMax.apply(m)!.values
        for (a, b) in zip(scaled, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(ProxyUnary.softmax.apply(m)!.sum, 1, accuracy: 1e-6)
        XCTAssertNil(ProxyUnary.standardize.apply(ProxyValue(3)), "a constant has no standard deviation")
        XCTAssertEqual(ProxyUnary.log.apply(ProxyValue(0))!.values[0], Float(log(1e-8)), accuracy: 1e-3, "log is of |x| + 1e-8")
    }

    func testBinaryOpsBroadcastAndMultiplyOrRefuse() {
        let column = ProxyValue(rows: 2, cols: 1, values: [10, 20]), row = ProxyValue(rows: 1, cols: 3, values: [1, 2, 3])
        XCTAssertEqual(ProxyBinary.sum.apply(m, column)?.values, [11, 8, 13, 16, 25, 14])
        XCTAssertEqual(ProxyBinary.product.apply(row, m)?.values, [1, -4, 9, -4, 10, -18])
        XCTAssertEqual(ProxyBinary.difference.apply(m, ProxyValue(1))?.values, [0, -3, 2, -5, 4, -7])
        // m [2,3] · mᵀ (cols agree): [[14, −32], [−32, 77]].
        XCTAssertEqual(ProxyBinary.matmul.apply(m, m), ProxyValue(rows: 2, cols: 2, values: [14, -32, -32, 77]))
        // m [2,3] · rowᵀ... row is [1,3]: cols agree → [2,1] = [1−4+9, −4+10−18].
        XCTAssertEqual(ProxyBinary.matmul.apply(m, row), ProxyValue(rows: 2, cols: 1, values: [6, -12]))
        XCTAssertNil(ProxyBinary.sum.apply(m, ProxyValue(rows: 3, cols: 2, values: [1, 2, 3, 4, 5, 6])), "shapes that do not broadcast")
        XCTAssertNil(ProxyBinary.matmul.apply(m, ProxyValue(rows: 4, cols: 5, values: [Float](repeating: 1, count: 20))))
    }

    func testGenotypeFormulaEvaluationAndCodable() throws {
        let g = ProxyGenotype(leaves: ["w", "g"], chains: [[.abs, .square], []], binary: .product, reduction: .sum)
        XCTAssertEqual(g.description, "sum(square(abs(w)) * g)")
        let leaves = ["w": m, "g": ProxyValue(2)]
        XCTAssertEqual(g.evaluate(leaves)!, 2 * 91, accuracy: 1e-9)
        XCTAssertNil(g.evaluate(["w": m]), "a missing leaf")
        XCTAssertEqual(try JSONDecoder().decode(ProxyGenotype.self, from: JSONEncoder().encode(g)), g)
        var rng = RandomGenerator(seed: 1)
        for _ in 0..<200 {
            let r = ProxyGenotype.random(leafNames: ["w", "g"], using: &rng)
            XCTAssertTrue(r.chains.allSatisfy { $0.count <= ProxyGenotype.maxChain })
            let child = r.mutated(leafNames: ["w", "g"], using: &rng)
            XCTAssertTrue(child.chains.allSatisfy { $0.count <= ProxyGenotype.maxChain })
        }
    }

    /// Samples with a planted truth t_i = Σ |a_i|²; fitness = Spearman of the proxy's scores against t. The evolution
    /// must find a proxy ranking the samples (almost) perfectly, never admit two members equal up to a positive factor,
    /// and screen out invalid and constant candidates on the way.
    func testEvolutionRecoversAPlantedProxyAndScreens() throws {
        var rng = RandomGenerator(seed: 9)
        var samples: [[String: ProxyValue]] = [], truth: [Double] = []
        for i in 0..<30 {
            let rows = 3 + i % 4
            let a = (0..<(rows * 5)).map { _ in Float(rng.normal()) }, b = (0..<(rows * 5)).map { _ in Float(rng.normal()) }
            samples.append(["a": ProxyValue(rows: rows, cols: 5, values: a), "b": ProxyValue(rows: rows, cols: 5, values: b),
                            "n": ProxyValue(Double(rows))])
            truth.append(a.reduce(0.0) { $0 + Double($1 * $1) })
        }
        let evolution = ProxyEvolution(leafNames: ["a", "b", "n"], samples: samples) { RankCorrelation.spearman($0, truth) }
        let settings = ProxyEvolution.Settings(population: 20, iterations: 400, seed: 3)
        let result = try evolution.run(settings)
        XCTAssertGreaterThan(result.best.fitness, 0.98, "best: \(result.best.genotype)")
        XCTAssertGreaterThan(result.invalid + result.constant, 0)
        XCTAssertEqual(Set(result.population.map { ProxyEvolution.fingerprint($0.scores) }).count, result.population.count)
        XCTAssertEqual(result.history.count, 400)
        XCTAssertEqual(zip(result.history, result.history.dropFirst()).filter { $0 > $1 }.count, 0, "the best never gets worse")
        let again = try evolution.run(settings)
        XCTAssertEqual(again.best.genotype, result.best.genotype)
        XCTAssertEqual(again.history, result.history)
        // A start genotype that ranks perfectly (Σ a², written a ⊙ a summed) is the best from the first iteration.
        let planted = ProxyGenotype(leaves: ["a", "a"], chains: [[], []], binary: .product, reduction: .sum)
        let seeded = try evolution.run(ProxyEvolution.Settings(population: 10, iterations: 5, seed: 4), start: [planted])
        XCTAssertEqual(seeded.best.fitness, 1, accuracy: 1e-12)
        XCTAssertEqual(seeded.history.first ?? 0, 1, accuracy: 1e-12)
        // A fitness that is never defined leaves nothing to evolve: a clear error, not a crash.
        XCTAssertThrowsError(try ProxyEvolution(leafNames: ["a"], samples: samples, fitness: { _ in .nan }).run(settings)) { e in
            XCTAssertTrue("\(e)".contains("no valid proxy"), "\(e)")
        }
    }
}
