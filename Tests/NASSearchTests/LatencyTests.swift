import Foundation
import XCTest
import NASModels
import NASTensor
@testable import NASSearch

final class LatencyTests: XCTestCase {

    /// A small encoder of `depth` identical layers (vocab 100, 64 positions).
    static func tiny(depth: Int, hidden: Int, heads: Int = 2, ffn: Int) -> Architecture {
        .uniform(.encoder, vocabSize: 100, maxPositions: 64, hidden: hidden, depth: depth, heads: heads, ffn: ffn)
    }

    /// Random heterogeneous encoders: depth 1–6, hidden 32–256 (step 16), per layer qkv 32–256 (step 16)
    /// with 1, 2 or 4 heads, FFN 32–1024 (step 32).
    static func randomArchitectures(_ count: Int, seed: UInt64) -> [Architecture] {
        var rng = RandomGenerator(seed: seed)
        func pick(_ values: [Int]) -> Int { values[Int(rng.next() % UInt64(values.count))] }
        return (0..<count).map { _ in
            let depth = pick(Array(1...6)), hidden = pick(Array(stride(from: 32, through: 256, by: 16)))
            let layers = (0..<depth).map { _ in
                Architecture.Layer(heads: pick([1, 2, 4]), qkv: pick(Array(stride(from: 32, through: 256, by: 16))),
                                   ffn: pick(Array(stride(from: 32, through: 1024, by: 32))))
            }
            return Architecture(family: .encoder, vocabSize: 1000, maxPositions: 128, hidden: hidden, layers: layers)
        }
    }

    /// The synthetic latency law of the predictor tests: 0.5 ms + 1 ms per million FLOPs at 64 tokens.
    static func syntheticLatency(_ arch: Architecture) -> Double {
        0.5 + 1e-6 * Double(arch.flops(sequenceLength: 64))
    }

    static func syntheticSamples(_ count: Int, seed: UInt64) -> [(Architecture, Double)] {
        randomArchitectures(count, seed: seed).map { ($0, syntheticLatency($0)) }
    }

    // MARK: - Meter

    func testMeterIsPositiveAndGrowsWithTheModel() {
        let meter = LatencyMeter(sequenceLength: 32, warmup: 1, runs: 5)
        let small = meter.measure(Self.tiny(depth: 1, hidden: 32, ffn: 64))
        let big = meter.measure(Self.tiny(depth: 4, hidden: 128, heads: 4, ffn: 512))
        XCTAssertGreaterThan(small, 0)
        XCTAssertTrue(small.isFinite && big.isFinite)
        // 4 layers of 4× the width (~50× the FLOPs, 4× the ops) must take well over twice as long.
        XCTAssertGreaterThan(big, 2 * small, "small \(small) ms, big \(big) ms")
    }

    func testMeterRestoresEngineThreads() {
        let saved = Engine.threads
        defer { Engine.threads = saved }
        Engine.threads = 3
        _ = LatencyMeter(sequenceLength: 16, threads: 1, warmup: 0, runs: 1).measure(Self.tiny(depth: 1, hidden: 32, ffn: 64))
        XCTAssertEqual(Engine.threads, 3)
        Engine.threads = 1
        _ = LatencyMeter(sequenceLength: 16, threads: 2, warmup: 0, runs: 1).measure(Self.tiny(depth: 1, hidden: 32, ffn: 64))
        XCTAssertEqual(Engine.threads, 1)
    }

    func testMedian() {
        XCTAssertEqual(LatencyMeter.median([5, 1, 3]), 3)
        XCTAssertEqual(LatencyMeter.median([4, 1, 3, 2]), 2.5)
    }

    // MARK: - Features

    func testFeaturesAreFiniteAndDistinguishArchitectures() {
        let names = LatencyPredictor.featureNames
        let a = LatencyPredictor.features(Self.tiny(depth: 2, hidden: 64, ffn: 128), sequenceLength: 32)
        let b = LatencyPredictor.features(Self.tiny(depth: 2, hidden: 64, ffn: 256), sequenceLength: 32)
        let c = LatencyPredictor.features(Self.tiny(depth: 3, hidden: 64, ffn: 128), sequenceLength: 32)
        for f in [a, b, c] {
            XCTAssertEqual(f.count, names.count)
            XCTAssertTrue(f.allSatisfy(\.isFinite), "\(f)")
        }
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertNotEqual(b, c)
        // FFN FLOPs grow with the FFN width; depth with the layer count.
        XCTAssertGreaterThan(b[names.firstIndex(of: "log1p(FFN FLOPs)")!], a[names.firstIndex(of: "log1p(FFN FLOPs)")!])
        XCTAssertEqual(c[0] - a[0], 1)
    }

    /// The four FLOP parts add up to `Architecture.flops` for every kind of layer.
    func testFLOPPartsAddUpToTotalFLOPs() {
        let arch = Architecture(family: .encoder, vocabSize: 100, maxPositions: 64, hidden: 64, embeddingSize: 32, layers: [
            .init(heads: 2, qkv: 48, ffn: 96),
            .init(heads: 4, qkv: 64, ffn: 128, operation: .wma, ffnStack: [80]),
            .init(heads: 1, qkv: 32, ffn: 64, operation: .dft, hidden: 96),
            .init(heads: 1, qkv: 32, ffn: 64, operation: .dct),
            .init(heads: 2, qkv: 32, ffn: 64, operation: .dynamicConv(kernel: 5), hidden: 64),
            .init(heads: 2, qkv: 32, ffn: 64, bottleneck: 32),
        ])
        XCTAssertNoThrow(try arch.validate())
        let f = LatencyPredictor.features(arch, sequenceLength: 40)
        let names = LatencyPredictor.featureNames
        let parts = ["log1p(mixer projection FLOPs)", "log1p(token-mixing FLOPs)", "log1p(FFN FLOPs)", "log1p(other projection FLOPs)"]
        let sum = parts.map { expm1(f[names.firstIndex(of: $0)!]) }.reduce(0, +)
        let total = Double(arch.flops(sequenceLength: 40))
        XCTAssertEqual(sum, total, accuracy: 1e-9 * total)
        XCTAssertEqual(expm1(f[names.firstIndex(of: "log1p(total FLOPs)")!]), total, accuracy: 1e-9 * total)
        XCTAssertEqual(f[names.firstIndex(of: "bottleneck layers")!], 1)
        XCTAssertEqual(f[names.firstIndex(of: "non-SDP layers")!], 4)
        XCTAssertEqual(f[names.firstIndex(of: "FFN dense layers")!], 7)
    }

    // MARK: - Predictor

    func testPredictorRecoversASyntheticLatencyLaw() {
        let train = Self.syntheticSamples(160, seed: 1), heldOut = Self.syntheticSamples(40, seed: 2)
        let predictor = LatencyPredictor.train(samples: train, sequenceLength: 64, seed: 7, steps: 1500)
        let error = LatencyPredictor.meanRelativeError(predictor, heldOut: heldOut)
        XCTAssertLessThan(error, 0.10, "mean relative error \(error)")
        // The untrained network (0 steps) is far off: the test measures the training.
        let untrained = LatencyPredictor.train(samples: train, sequenceLength: 64, seed: 7, steps: 0)
        XCTAssertGreaterThan(LatencyPredictor.meanRelativeError(untrained, heldOut: heldOut), 0.3)
    }

    func testTrainingIsDeterministicForASeed() {
        let train = Self.syntheticSamples(40, seed: 3)
        let a = LatencyPredictor.train(samples: train, sequenceLength: 64, seed: 11, steps: 100)
        let b = LatencyPredictor.train(samples: train, sequenceLength: 64, seed: 11, steps: 100)
        let c = LatencyPredictor.train(samples: train, sequenceLength: 64, seed: 12, steps: 100)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let arch = Self.randomArchitectures(1, seed: 99)[0]
        XCTAssertEqual(a.predict(arch), b.predict(arch))
    }

    func testCodableRoundTripPredictsIdentically() throws {
        let train = Self.syntheticSamples(40, seed: 4)
        let predictor = LatencyPredictor.train(samples: train, sequenceLength: 64, seed: 5, steps: 100)
        let data = try JSONEncoder().encode(predictor)
        let decoded = try JSONDecoder().decode(LatencyPredictor.self, from: data)
        XCTAssertEqual(decoded, predictor)
        for arch in Self.randomArchitectures(10, seed: 6) {
            XCTAssertEqual(decoded.predict(arch), predictor.predict(arch))
        }
    }

    // MARK: - Linear baseline

    func testLinearBaselineRecoversAnExactLinearLaw() {
        func law(_ arch: Architecture) -> Double {
            0.3 + 2e-6 * Double(arch.flops(sequenceLength: 64)) + 1e-5 * Double(arch.parameterCount)
        }
        let train = Self.randomArchitectures(30, seed: 8).map { ($0, law($0)) }
        let heldOut = Self.randomArchitectures(10, seed: 9).map { ($0, law($0)) }
        let model = LinearLatencyModel.fit(samples: train, sequenceLength: 64)
        XCTAssertEqual(model.a, 2e-6, accuracy: 1e-10)
        XCTAssertEqual(model.b, 1e-5, accuracy: 1e-9)
        XCTAssertEqual(model.c, 0.3, accuracy: 1e-4)
        XCTAssertLessThan(LatencyPredictor.meanRelativeError(heldOut: heldOut, model.predict), 1e-6)
    }

    func testMeanRelativeError() {
        let arch = Self.tiny(depth: 1, hidden: 32, ffn: 64)
        XCTAssertEqual(LatencyPredictor.meanRelativeError(heldOut: [(arch, 2), (arch, 4)]) { _ in 3 }, (0.5 + 0.25) / 2, accuracy: 1e-12)
    }
}
