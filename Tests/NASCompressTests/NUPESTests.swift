import XCTest
@testable import NASCompress
import NASModels
import NASTensor

/// NUPES's data-driven step: its quantizer is the deployed `FakeQuantization` power grid, its exponent gradient is the
/// derivative of the rounding-ratio-held surrogate (finite differences), and the fit lowers the layer-output error from
/// PowerQuant's start on a Gaussian layer at 3 bits (never raises it), with weights the deployed quantizer reproduces.
final class NUPESTests: XCTestCase {
    func testQuantizerIsTheDeployedPowerGrid() {
        let w = PowerQuantizationTests.gaussian([8, 30], seed: 3)
        let v = w.scalars
        let m = (0..<8).map { r in v[(r * 30)..<((r + 1) * 30)].map(abs).max()! }
        for (bits, alpha) in [(3, Float(0.6)), (4, 0.8), (3, 1)] {
            let q = NUPES.quantize(v, cols: 30, scales: m, bits: bits, alpha: alpha, derivative: false).q
            let deployed = w.fakeQuantized(FakeQuantization(bits: bits, perChannel: true, powerExponent: alpha)).scalars
            for (a, b) in zip(q, deployed) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b))) }
        }
    }

    /// ∂Q/∂α against central differences of Q̃(α) = sign(w)·m·(|w/m|^α + δ)^{1/α} with the rounding residual
    /// δ = q − |w/m|^α fixed at α₀: the straight-through surrogate whose derivative the fit uses.
    func testExponentGradientMatchesFiniteDifferencesOfTheSurrogate() {
        let v: [Float] = [0.031, -0.5, 0.77, -0.004, 1.0, 0.2], m: [Float] = [1]
        let alpha: Float = 0.7, bits = 3
        let (q, d) = NUPES.quantize(v, cols: 6, scales: m, bits: bits, alpha: alpha, derivative: true)
        let levels = Double((1 << (bits - 1)) - 1)
        for e in v.indices where q[e] != 0 {
            let a = Double(abs(v[e])), u0 = pow(a, Double(alpha))
            let delta = (u0 * levels).rounded(.toNearestOrAwayFromZero) / levels - u0
            func surrogate(_ al: Double) -> Double { (v[e] < 0 ? -1 : 1) * pow(pow(a, al) + delta, 1 / al) }
            let h = 1e-5, numeric = (surrogate(Double(alpha) + h) - surrogate(Double(alpha) - h)) / (2 * h)
            XCTAssertEqual(Double(d[e]), numeric, accuracy: 1e-3 * max(1, abs(numeric)), "weight \(v[e])")
        }
        XCTAssertEqual(d[4], 0, accuracy: 1e-7, "the row's maximum sits on the grid: no residual, no gradient")
    }

    func testFitLowersTheOutputErrorWithWeightsTheDeployedQuantizerReproduces() {
        let w = PowerQuantizationTests.gaussian([24, 48], seed: 5)
        var rng = RandomGenerator(seed: 6)
        // Correlated inputs (a shared component in every feature), as a layer's are: round to nearest is then not the
        // best rounding, as it is for white inputs.
        let z = Tensor.randomNormal([256, 48], std: 1, using: &rng), mix = Tensor.randomNormal([48, 48], std: 0.3, using: &rng)
        let x = z + z.matmul(mix)
        let start = PowerQuantization.exponent(for: w, bits: 3).alpha
        let fit = NUPES.fit(weight: w, inputs: x, bits: 3, alpha: start, activations: nil, options: .init(steps: 60))
        XCTAssertLessThan(fit.loss, 0.8 * fit.initialLoss, "60 steps from PowerQuant's start")
        let v = w.scalars
        for r in 0..<24 {
            let row = Array(v[(r * 48)..<((r + 1) * 48)]), fitted = Array(fit.weight[(r * 48)..<((r + 1) * 48)])
            XCTAssertEqual(fitted.map(abs).max(), row.map(abs).max(), "row \(r): the scale-setting weight is held")
        }
        // The fitted layer, deployed: Q_α(W) by the inference quantizer gives the loss the fit reports.
        let q = Tensor(shape: [24, 48], scalars: fit.weight).fakeQuantized(FakeQuantization(bits: 3, perChannel: true, powerExponent: fit.alpha))
        let residual = (x.matmul(q, transposeB: true) - x.matmul(w, transposeB: true)).scalars
        XCTAssertEqual(residual.reduce(0.0) { $0 + Double($1 * $1) } / Double(256 * 24), fit.loss, accuracy: 1e-4 * fit.loss)
        // No step: the start itself.
        let none = NUPES.fit(weight: w, inputs: x, bits: 3, alpha: start, activations: nil, options: .init(steps: 0))
        XCTAssertEqual(none.loss, none.initialLoss)
        XCTAssertEqual(none.weight, v)
    }
}
