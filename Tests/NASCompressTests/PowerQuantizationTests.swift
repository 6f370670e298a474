import XCTest
@testable import NASCompress
import NASModels
import NASTensor

/// PowerQuant's data-free exponent: α = 1 is the uniform quantizer bit for bit; on bell-shaped (Gaussian) weights at
/// 3–4 bits the best α is below 1 with a lower reconstruction error than uniform, and the golden-section search finds
/// the minimum a fine grid finds; on flat (uniformly distributed) weights the uniform grid stays best. Simulated
/// quantization of a model sets every Linear and changes its output as little as its bit width allows.
final class PowerQuantizationTests: XCTestCase {
    static func gaussian(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return Tensor.randomNormal(shape, std: 0.05, using: &rng)
    }

    func testExponentOneIsTheUniformQuantizerBitForBit() {
        let w = Self.gaussian([16, 40], seed: 1)
        for bits in 2...8 {
            for perChannel in [false, true] {
                XCTAssertEqual(w.fakeQuantized(FakeQuantization(bits: bits, perChannel: perChannel, powerExponent: 1)).scalars,
                               w.fakeQuantized(FakeQuantization(bits: bits, perChannel: perChannel)).scalars, "\(bits) bits")
            }
        }
    }

    func testGaussianWeightsWantAnExponentBelowOneFoundByGoldenSection() {
        let w = Self.gaussian([64, 256], seed: 2)
        for bits in [3, 4] {
            let (alpha, error) = PowerQuantization.exponent(for: w, bits: bits)
            let uniform = PowerQuantization.reconstructionError(w, FakeQuantization(bits: bits, perChannel: true))
            XCTAssertLessThan(alpha, 0.95, "\(bits) bits")
            XCTAssertLessThan(error, 0.9 * uniform, "\(bits) bits: power \(error) against uniform \(uniform)")
            // A fine grid over [0.3, 1] finds no clearly better exponent.
            let grid = stride(from: Float(0.3), through: 1, by: 0.01).map {
                PowerQuantization.reconstructionError(w, FakeQuantization(bits: bits, perChannel: true, powerExponent: $0))
            }
            XCTAssertLessThanOrEqual(error, grid.min()! * 1.01, "\(bits) bits")
        }
    }

    func testFlatWeightsKeepTheUniformGrid() {
        var rng = RandomGenerator(seed: 3)
        let w = Tensor(shape: [32, 256], scalars: (0..<(32 * 256)).map { _ in Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) })
        let (alpha, _) = PowerQuantization.exponent(for: w, bits: 4)
        XCTAssertGreaterThan(alpha, 0.9)
    }

    func testSimulationSetsEveryLinearAndCostsWhatItsBitsCost() {
        let arch = Architecture.uniform(.encoder, vocabSize: 30, maxPositions: 16, hidden: 32, depth: 2, heads: 2, ffn: 64)
        let batch = TokenBatch(ids: (0..<24).map { Int32($0 % 30) }, batchSize: 2, length: 12)
        let exact = Transformer(arch, seed: 4)(batch).hidden.scalars
        func deviation(_ bits: Int, _ grid: SimulatedQuantization.Grid) -> (Double, [SimulatedQuantization.Layer]) {
            let model = Transformer(arch, seed: 4)
            let layers = SimulatedQuantization.apply(to: model, weightBits: bits, grid: grid, activationBits: 8)
            XCTAssertTrue(model.linears().allSatisfy { if case .fakeQuantized(_, let a?) = $0.linear.arithmetic { return a.bits == 8 } else { return false } })
            let y = model(batch).hidden.scalars
            return (zip(y, exact).map { Double(abs($0 - $1)) }.max()!, layers)
        }
        let (eight, layers8) = deviation(8, .uniform), (three, _) = deviation(3, .uniform)
        XCTAssertEqual(layers8.count, 12)
        XCTAssertTrue(layers8.allSatisfy { $0.alpha == 1 })
        XCTAssertLessThan(eight, 0.1 * three, "8 bits \(eight), 3 bits \(three)")
        let (_, power) = deviation(3, .power), (_, uniform) = deviation(3, .uniform)
        for (p, u) in zip(power, uniform) { XCTAssertLessThanOrEqual(p.error, u.error, p.name) }
    }
}
