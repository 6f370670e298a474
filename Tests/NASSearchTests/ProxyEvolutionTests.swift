import Foundation
import XCTest
import NASModels
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

    /// Architecture features against the quantities they summarise: k_l equals PCAProxy's, the counts are the
    /// architecture's, the gradient norms are those of the LM loss's block gradients; the evolved proxy scores what its
    /// genotype says and loads by the name evolved:FILE.
    func testArchitectureFeaturesAndTheNamedEvolvedProxy() throws {
        let arch = ProxyTests.encoder
        let c = try ProxyContext(architecture: arch, batch: ProxyTests.batch(3, 8, vocab: 13, pad: 2), seed: 5)
        let f = try ArchitectureFeatures.measure(c)
        XCTAssertEqual(Set(f.keys), Set(ArchitectureFeatures.leafNames))
        XCTAssertEqual(f["pca"]!.values, try PCAProxy.componentCounts(c, eta: 0.99, maxTokens: nil).map(Float.init))
        XCTAssertEqual(f["ffn"]!.values, [12, 10])
        XCTAssertEqual(f["heads"]!.values, [2, 2])
        XCTAssertEqual(f["params"]!.values, [Float(arch.parameterCount)])
        XCTAssertEqual(f["depth"]!.values, [2])
        c.zeroGrad()
        c.loss()!.backward()
        let expected = c.model.blocks.map { b in b.parameters.reduce(0.0) { $0 + ($1.grad?.scalars.reduce(0.0) { $0 + Double($1 * $1) } ?? 0) }.squareRoot() }
        c.zeroGrad()
        for (a, b) in zip(f["grad-norm"]!.values, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-5 * b + 1e-9) }
        // Attention entropy lies between 0 and log T (T = 8 positions, 2 of them padding in one row).
        for e in f["attention-entropy"]!.values { XCTAssertTrue(e > 0 && e <= Float(log(8.0)) + 1e-5, "\(e)") }
        for e in f["spectrum-entropy"]!.values { XCTAssertTrue(e > 0 && e <= Float(log(12.0)) + 1e-5, "\(e)") }

        let g = ProxyGenotype(leaves: ["params", "pca"], chains: [[], []], binary: .product, reduction: .mean)
        XCTAssertEqual(try EvolvedProxy(genotype: g).score(c), try WPCAProxy().score(c), accuracy: 1e-3, "mean(params ⊙ k) is W-PCA")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("evolved-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"genotype": \#(String(decoding: try JSONEncoder().encode(g), as: UTF8.self)), "eta": 0.99, "formula": "x"}"#.utf8).write(to: url)
        let named = try Proxies.named("evolved:" + url.path)
        XCTAssertEqual(try named.score(c), try WPCAProxy().score(c), accuracy: 1e-3)
        try Data(#"{"eta": 0.99}"#.utf8).write(to: url)
        XCTAssertThrowsError(try Proxies.named("evolved:" + url.path)) { e in XCTAssertEqual((e as? JSONFile.Failure)?.field, "genotype", "\(e)") }
    }
}
