import Foundation
import XCTest
@testable import NASCompress
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// Mixed-precision units, the benchmark file (draws, split, resumable extension, validation), exact bit allocation
/// against brute force, the unit statistics against independent computations, and the configuration scores.
final class MixedPrecisionTests: XCTestCase {
    static let arch = Architecture.uniform(.encoder, vocabSize: 40, maxPositions: 16, hidden: 16, depth: 2, heads: 2, ffn: 32)

    static func taskModel(_ arch: Architecture = MixedPrecisionTests.arch, seed: UInt64 = 1) -> TaskModel {
        var rng = RandomGenerator(seed: seed + 100)
        return TaskModel(model: Transformer(arch, seed: seed), head: SequenceClassificationHead(arch, numLabels: 2, rng: &rng), task: .sst2)
    }

    static func batch(rows: Int = 6, length: Int = 7, seed: UInt64 = 3) -> GLUEBatch {
        var rng = RandomGenerator(seed: seed)
        let ids = (0..<(rows * length)).map { _ in Int32(5 + rng.next() % 35) }
        return GLUEBatch(tokens: TokenBatch(ids: ids, attentionMask: [Float](repeating: 1, count: rows * length), batchSize: rows, length: length),
                         labels: (0..<rows).map { Float($0 % 2) }, exampleIndices: Array(0..<rows))
    }

    func testUnitsAreEveryBlocksSixLinearsAndApplySetsTheirBits() {
        let task = Self.taskModel()
        let mixed = MixedPrecision(model: task.model)
        XCTAssertEqual(mixed.units.map(\.name), ["layer0.Q", "layer0.K", "layer0.V", "layer0.O", "layer0.FFN1", "layer0.FFN2",
                                                 "layer1.Q", "layer1.K", "layer1.V", "layer1.O", "layer1.FFN1", "layer1.FFN2"])
        XCTAssertEqual(mixed.units.map(\.parameters), [256, 256, 256, 256, 512, 512, 256, 256, 256, 256, 512, 512])
        let bits = [2, 3, 4, 2, 3, 4, 4, 4, 4, 4, 2, 2]
        mixed.apply(bits)
        for (u, b) in bits.enumerated() {
            guard case .fakeQuantized(let q, let a) = mixed.linear(of: u).arithmetic else { return XCTFail("unit \(u) not quantized") }
            XCTAssertEqual(q.bits, b)
            XCTAssertTrue(q.perChannel && q.symmetric)
            XCTAssertEqual(a?.bits, 8)
        }
        // Σ b·n / Σ n by hand: (2+3+4+2)·256 + 3·512 + 4·512 + 16·256 + 4·512 = 2816 + 1536 + 2048 + 4096 + 2048 = 12544 over 2·(4·256 + 2·512) = 4096.
        XCTAssertEqual(mixed.bitsPerWeight(bits), 12544.0 / 4096, accuracy: 1e-12)
        // The quantized weight has at most 2^(b−1)·2 − 1 levels per row.
        let q = mixed.quantizedWeight(of: 0, bits: 2).scalars
        for row in 0..<16 { XCTAssertLessThanOrEqual(Set(q[(row * 16)..<((row + 1) * 16)]).count, 3) }
    }

    func testPrepareQuantizesEmbeddingsPerRowAndTheHead() {
        let task = Self.taskModel()
        let mixed = MixedPrecision(model: task.model)
        let before = task.model.wordEmbeddings.weight.value.scalars
        mixed.prepare(head: task.head, fixedBits: 2)
        let after = task.model.wordEmbeddings.weight.value.scalars
        XCTAssertNotEqual(before, after)
        for row in 0..<40 {
            let r = Array(after[(row * 16)..<((row + 1) * 16)]), m = before[(row * 16)..<((row + 1) * 16)].map(abs).max()!
            XCTAssertTrue(r.allSatisfy { [0, m, -m].contains($0) }, "row \(row) on the 2-bit grid {0, ±max}")
        }
        guard case .fakeQuantized(let q, _) = task.head.classifier.arithmetic else { return XCTFail("head not quantized") }
        XCTAssertEqual(q.bits, 2)
    }

    func testDrawsAreSeededAndExtendAndTheSplitIsFixed() throws {
        let a = MixedPrecisionBenchmark.draws(count: 20, units: 12, choices: [2, 3, 4], seed: 7)
        XCTAssertEqual(MixedPrecisionBenchmark.draws(count: 8, units: 12, choices: [2, 3, 4], seed: 7), Array(a.prefix(8)))
        XCTAssertNotEqual(MixedPrecisionBenchmark.draws(count: 8, units: 12, choices: [2, 3, 4], seed: 8), Array(a.prefix(8)))
        XCTAssertEqual(Set(a.flatMap { $0 }), [2, 3, 4])
        XCTAssertEqual((0..<20).filter { MixedPrecisionBenchmark.split(of: $0) == .test }, [7, 8, 9, 17, 18, 19])
    }

    func testExtendResumesAndLoadValidatesEveryField() throws {
        let units = MixedPrecision(model: Self.taskModel().model).units
        var b = MixedPrecisionBenchmark(checkpoint: "m", sha256: "00", task: "sst-2", fp32Accuracy: 0.9, chance: 0.5, evaluationSplit: "dev",
                                        examples: 10, maxLength: 16, grid: "uniform", activationBits: 8, fixedBits: 8, bitChoices: [2, 3, 4],
                                        seed: 1, units: units)
        var calls = 0, saves = 0
        let accuracy: ([Int]) -> Double = { bits in calls += 1; return Double(bits.reduce(0, +)) / 100 }
        b.extend(to: 5, evaluate: accuracy, save: { _ in saves += 1 })
        XCTAssertEqual([calls, saves], [5, 5])
        b.extend(to: 8, evaluate: accuracy, save: { _ in saves += 1 })
        XCTAssertEqual(calls, 8, "only the 3 new configurations are measured")
        XCTAssertEqual(b.configurations.map(\.id), Array(0..<8))
        XCTAssertEqual(b.configurations.map(\.bits), MixedPrecisionBenchmark.draws(count: 8, units: 12, choices: [2, 3, 4], seed: 1))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mqbench-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("b.json")
        try JSONFile.write(b, to: url)
        XCTAssertEqual(try MixedPrecisionBenchmark.load(url), b)
        XCTAssertTrue(try MixedPrecisionBenchmark.load(url).sameSetting(as: b))
        func fails(_ edit: (inout MixedPrecisionBenchmark) -> Void, field: String) throws {
            var bad = b
            edit(&bad)
            try JSONFile.write(bad, to: url)
            XCTAssertThrowsError(try MixedPrecisionBenchmark.load(url)) { e in
                XCTAssertEqual((e as? JSONFile.Failure)?.field, field, "\(e)")
                XCTAssertTrue("\(e)".contains(url.path), "\(e)")
            }
        }
        try fails({ $0.configurations[2].bits.removeLast() }, field: "configurations[2].bits")
        try fails({ $0.configurations[1].bits[0] = 5 }, field: "configurations[1].bits")
        try fails({ $0.configurations[3].accuracy = 1.5 }, field: "configurations[3].accuracy")
        try fails({ $0.configurations[0].split = .test }, field: "configurations[0].split")
        try fails({ $0.configurations[4].bitsPerWeight += 0.5 }, field: "configurations[4].bitsPerWeight")
        try Data(#"{"checkpoint": "m", "sha256": 3}"#.utf8).write(to: url)
        XCTAssertThrowsError(try MixedPrecisionBenchmark.load(url)) { e in XCTAssertEqual((e as? JSONFile.Failure)?.field, "sha256", "\(e)") }
    }

    func testBitAllocationIsTheBruteForceOptimum() {
        var rng = RandomGenerator(seed: 11)
        for trial in 0..<20 {
            let sizes = (0..<5).map { _ in [64, 128, 256][Int(rng.next() % 3)] }
            let gains = (0..<5).map { _ in [2: Double(rng.uniform()), 3: Double(rng.uniform()), 4: Double(rng.uniform())] }
            let budget = 2.5 + Double(trial % 4) * 0.4
            let gain: (Int, Int) -> Double = { u, b in gains[u][b]! }
            var best = -Double.infinity
            for code in 0..<243 {
                let bits = (0..<5).map { [2, 3, 4][(code / Int(pow(3.0, Double($0)))) % 3] }
                guard MixedPrecision.bitsPerWeight(bits, units: sizes.map { .init(name: "", path: "", parameters: $0) }) <= budget + 1e-12 else { continue }
                best = max(best, ConfigurationScorer.score(bits, gain: gain))
            }
            guard let found = BitAllocation.best(sizes: sizes, choices: [2, 3, 4], bitsPerWeight: budget, gain: gain) else { return XCTFail() }
            XCTAssertEqual(ConfigurationScorer.score(found, gain: gain), best, accuracy: 1e-12, "trial \(trial)")
            XCTAssertLessThanOrEqual(MixedPrecision.bitsPerWeight(found, units: sizes.map { .init(name: "", path: "", parameters: $0) }), budget + 1e-12)
        }
        XCTAssertNil(BitAllocation.best(sizes: [10, 20], choices: [2, 3], bitsPerWeight: 1.5, gain: { _, _ in 0 }))
    }

    func testUnitStatisticsMatchIndependentComputations() throws {
        let task = Self.taskModel()
        // Weights 4× their initial scale: a curvature the loss's float32 second difference resolves to ~1 %.
        for (_, linear) in task.model.linears() { linear.weight.value = linear.weight.value * 4 }
        let mixed = MixedPrecision(model: task.model)
        let batch = Self.batch()
        let stats = UnitStatistics.measure(mixed, head: task.head, calibration: batch, probes: 4, seed: 1)
        XCTAssertEqual(stats.leaves.count, 12)
        // The mean of the per-example gradients is the gradient of the batch's mean loss.
        let parameters = task.model.parameters + task.head.parameters
        parameters.forEach { $0.zeroGrad() }
        task.loss(batch).backward()
        for u in [0, 4, 11] {
            let g = mixed.linear(of: u).weight.grad!.scalars, ours = stats.leaves[u]["gradients"]!.values
            for j in stride(from: 0, to: g.count, by: 17) { XCTAssertEqual(ours[j], g[j], accuracy: 1e-5 + 1e-3 * abs(g[j])) }
            // Empirical Fisher ≥ squared mean gradient (Jensen), entry by entry.
            let f = stats.leaves[u]["fisher"]!.values
            for j in f.indices { XCTAssertGreaterThanOrEqual(f[j] * (1 + 1e-4) + 1e-12, ours[j] * ours[j]) }
        }
        parameters.forEach { $0.zeroGrad() }
        // Activations: the unit's inputs, one row per token (6 × 7 = 42 rows ≤ 256), width = the unit's input width.
        XCTAssertEqual(stats.leaves[4]["activations"]!.rows, 42)
        XCTAssertEqual(stats.leaves[5]["activations"]!.cols, 32)
        // The Hessian-vector products, against the loss itself: with one probe z (drawn as documented: ±1 per weight,
        // unit by unit) and Δ = (ε_u z_u)_u, Σ_u ε_u² · Tr_u = Σ_j Δ_j (HΔ)_j = ΔᵀHΔ = L(W+Δ) − 2L(W) + L(W−Δ) to second order.
        // (Hutchinson's average over probes is unbiased for Tr H_u but, on a random model whose Hessian is mostly
        // off-diagonal, too noisy to compare with the exact trace in a test.)
        let weights = mixed.units.indices.map { mixed.weight(of: $0) }
        for seed in [UInt64(5), 6] {
            let one = UnitStatistics.measure(mixed, head: task.head, calibration: batch, probes: 1, relativeStep: 0.25, seed: seed)
            var rng = RandomGenerator(seed: seed)
            let steps = weights.map { w -> Float in 0.25 * (w.scalars.reduce(0) { $0 + $1 * $1 } / Float(w.count)).squareRoot() }
            let z = weights.map { w in (0..<w.count).map { _ in rng.next() & 1 == 0 ? Float(-1) : 1 } }
            func loss(_ sign: Float) -> Double {
                for u in weights.indices {
                    mixed.linear(of: u).weight.value = weights[u] + Tensor(shape: weights[u].shape, scalars: z[u].map { sign * steps[u] * $0 })
                }
                return Double(Autograd.noGrad { task.loss(batch) }.item())
            }
            let curvature = loss(1) - 2 * loss(0) + loss(-1)
            for u in weights.indices { mixed.linear(of: u).weight.value = weights[u] }
            let ours = zip(one.hessianTrace, steps).reduce(0.0) { $0 + $1.0 * Double($1.1 * $1.1) }
            XCTAssertEqual(ours, curvature, accuracy: 0.03 * abs(curvature), "seed \(seed)")
        }
        let u = 11, v = weights[u].scalars
        XCTAssertEqual(stats.hessianTrace[u], stats.leaves[u]["hessian"]!.sum, accuracy: 1e-6 * abs(stats.hessianTrace[u]) + 1e-12)
        // Same seed, same statistics; the model is left as it was.
        XCTAssertEqual(UnitStatistics.measure(mixed, head: task.head, calibration: batch, probes: 2, seed: 4).hessianTrace,
                       UnitStatistics.measure(mixed, head: task.head, calibration: batch, probes: 2, seed: 4).hessianTrace)
        XCTAssertEqual(mixed.weight(of: u).scalars, v)
        XCTAssertNil(mixed.linear(of: u).inputObserver)
    }

    func testHandMadeScoresBehaveAsTheirFormulas() {
        let task = Self.taskModel()
        let mixed = MixedPrecision(model: task.model)
        let stats = UnitStatistics.measure(mixed, head: task.head, calibration: Self.batch(), probes: 2)
        let scorer = ConfigurationScorer(mixed, statistics: stats, choices: [2, 3, 4])
        let bits = [2, 3, 4, 2, 3, 4, 4, 4, 4, 4, 2, 2]
        XCTAssertEqual(ConfigurationScorer.score(bits, gain: scorer.gain(.size)) / 4096, mixed.bitsPerWeight(bits), accuracy: 1e-12)
        for u in 0..<12 {
            // More bits, less perturbation: the Fisher-weighted penalty shrinks.
            XCTAssertGreaterThanOrEqual(scorer.gain(.fisher)(u, 4), scorer.gain(.fisher)(u, 2))
        }
        // An evolved proxy in EMQ's form: b · s_{u,b}, with s = mean(|W| ⊙ W) here (no dependence on b), and one that
        // reads the width's perturbation: sum(perturbation²) = ‖Q_b(W) − W‖², HAWQ's error term.
        let g = ProxyGenotype(leaves: ["weights", "weights"], chains: [[.abs], []], binary: .product, reduction: .mean)
        let gain = scorer.gain(g)!
        let w = mixed.weight(of: 3).scalars
        let expected = zip(w.map(abs), w).reduce(0.0) { $0 + Double($1.0 * $1.1) } / Double(w.count)
        XCTAssertEqual(gain(3, 4), 4 * expected, accuracy: 1e-6 * abs(expected) + 1e-9)
        let error = ProxyGenotype(leaves: ["perturbation", "perturbation"], chains: [[], []], binary: .product, reduction: .sum)
        let q = mixed.quantizedWeight(of: 5, bits: 2).scalars, w5 = mixed.weight(of: 5).scalars
        let squared = zip(q, w5).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        XCTAssertEqual(scorer.gain(error)!(5, 2), 2 * squared, accuracy: 1e-5 * squared)
        XCTAssertEqual(scorer.samples.count, 12 * 3)
        // Correlation: a score that is the accuracy itself is ρ = 1, also in the top 20 %.
        let configs = (0..<10).map { i in MixedPrecisionBenchmark.Configuration(id: i, bits: [i % 3 + 2], bitsPerWeight: 0, accuracy: Double(i % 3) + Double(i) / 100,
                                                                              split: .train) }
        let r = ConfigurationScorer.correlation(configs, gain: { _, b in Double(b) })
        XCTAssertGreaterThan(r.all, 0.9)
    }
}
