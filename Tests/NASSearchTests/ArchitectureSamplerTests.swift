import Foundation
import XCTest
@testable import NASSearch
import NASTensor

/// The samplers turning architecture logits α into mixing weights w (issue 13): DARTS's gradient by finite
/// differences, GDAS's straight-through gradient against the relaxed softmax computed by hand, DrNAS's
/// Monte-Carlo gradient against the derivative of the Dirichlet mean, SPOS's uniform one-hot draws (χ²),
/// and reproducibility from the seed.
final class ArchitectureSamplerTests: XCTestCase {
    override func setUp() { Engine.threads = 2 }

    static func logits(_ values: [Float]) -> Parameter { Parameter(Tensor(shape: [values.count], scalars: values), name: "alpha") }

    func testKindsMakeTheirSamplers() {
        for kind in ArchitectureSamplerKind.allCases { XCTAssertEqual(kind.make().name, kind.rawValue) }
        XCTAssertEqual(ArchitectureSamplerKind.allCases.map(\.rawValue), ["darts", "drnas", "gdas", "spos"])
    }

    /// ∂L/∂α of L = Σ c_i w_i, w = softmax(α), against central differences.
    func testDARTSGradientMatchesFiniteDifferences() {
        var rng = RandomGenerator(seed: 3)
        let alpha = Self.logits(Tensor.randomNormal([5], using: &rng).scalars)
        let c = Tensor.randomNormal([5], using: &rng)
        let sampler = DARTSSampler()
        func loss() -> Double {
            Autograd.noGrad {
                let w = sampler.weights(alpha.tensor, step: 0, totalSteps: 1, using: &rng).scalars
                return zip(w, c.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
        }
        let w = sampler.weights(alpha.tensor, step: 0, totalSteps: 1, using: &rng)
        XCTAssertEqual(Double(w.scalars.reduce(0, +)), 1, accuracy: 1e-6)
        (w * c).sum().backward()
        let grad = alpha.grad!.scalars
        let h: Float = 1e-2
        for k in 0..<5 {
            let original = alpha.value.scalars[k]
            alpha.value.withMutableBuffer { $0[k] = original + h }
            let plus = loss()
            alpha.value.withMutableBuffer { $0[k] = original - h }
            let minus = loss()
            alpha.value.withMutableBuffer { $0[k] = original }
            let numeric = (plus - minus) / (2 * Double(h))
            XCTAssertEqual(Double(grad[k]), numeric, accuracy: 1e-4 + 1e-3 * abs(numeric), "∂L/∂α_\(k)")
        }
    }

    func testGDASTemperatureAnnealsLinearly() {
        let gdas = GDASSampler()
        XCTAssertEqual(gdas.temperature(step: 0, totalSteps: 100), 10)
        XCTAssertEqual(gdas.temperature(step: 99, totalSteps: 100), 0.1, accuracy: 1e-6)
        XCTAssertEqual(gdas.temperature(step: 33, totalSteps: 100), Float(10 - 9.9 * 33 / 99), accuracy: 1e-5)
        XCTAssertEqual(GDASSampler(tauMax: 5, tauMin: 1).temperature(step: 2, totalSteps: 3), 1)
    }

    /// Forward: one-hot at argmax(α + g). Backward: the relaxed softmax's gradient with the same Gumbel noise,
    /// (1/τ)·y ⊙ (c − ⟨c, y⟩) for L = Σ c_i w_i, y = softmax((α + g)/τ), computed here by hand in Double.
    func testGDASIsOneHotWithTheRelaxedSoftmaxGradient() {
        let gdas = GDASSampler()
        var source = RandomGenerator(seed: 8)
        for (trial, (step, steps)) in [(0, 50), (17, 50), (49, 50), (3, 10)].enumerated() {
            let n = 6
            let alpha = Self.logits(Tensor.randomNormal([n], std: 2, using: &source).scalars)
            let c = Tensor.randomNormal([n], using: &source)
            var rng = RandomGenerator(seed: 100 + UInt64(trial)), replay = rng
            let w = gdas.weights(alpha.tensor, step: step, totalSteps: steps, using: &rng)
            (w * c).sum().backward()

            // The noise by hand: g_i = −log(−log u_i), u_i uniform on (0, 1), in order.
            let g = (0..<n).map { _ in Float(-log(-log(replay.uniformOpen()))) }
            XCTAssertEqual(rng, replay, "GDAS draws n uniforms")
            let perturbed = zip(alpha.value.scalars, g).map { $0 + $1 }
            let best = perturbed.indices.max { perturbed[$0] < perturbed[$1] }!
            let ws = w.scalars
            for i in 0..<n { XCTAssertEqual(ws[i], i == best ? 1 : 0, accuracy: 1e-6, "w is one-hot at argmax(α + g)") }

            let tau = Double(gdas.temperature(step: step, totalSteps: steps))
            let scaled = perturbed.map { Double($0) / tau }, top = scaled.max()!
            let e = scaled.map { exp($0 - top) }, total = e.reduce(0, +)
            let y = e.map { $0 / total }, cs = c.scalars.map(Double.init)
            let cy = zip(cs, y).reduce(0) { $0 + $1.0 * $1.1 }
            let grad = alpha.grad!.scalars
            for j in 0..<n {
                let reference = y[j] * (cs[j] - cy) / tau
                XCTAssertEqual(Double(grad[j]), reference, accuracy: 1e-6 + 1e-4 * abs(reference), "∂L/∂α_\(j) at step \(step)")
            }
            XCTAssertGreaterThan(grad.map { abs($0) }.max()!, 0, "the straight-through gradient reaches α")
        }
    }

    /// The test: over many samples, the mean of ∂w_i/∂α_j (one backward per i with the same draw)
    /// matches ∂E[w_i]/∂α_j of the Dirichlet mean E[w_i] = c_i/C, c = ELU(α) + 1, C = Σc, i.e.
    /// c′_j·(δ_ij/C − c_i/C²) with c′_j = 1 for α_j > 0 and e^{α_j} otherwise, within 3 standard errors.
    func testDrNASMonteCarloGradientMatchesTheDerivativeOfTheDirichletMean() {
        let values: [Float] = [-0.7, 0.3, 1.2, -0.1]
        let n = values.count, samples = 4_000
        let alpha = Self.logits(values)
        let drnas = DrNASSampler()
        var rng = RandomGenerator(seed: 17)
        var sum = [Double](repeating: 0, count: n * n), sumSquares = sum
        for _ in 0..<samples {
            let start = rng
            for i in 0..<n {
                var r = start
                alpha.zeroGrad()
                let w = drnas.weights(alpha.tensor, step: 0, totalSteps: 1, using: &r)
                if i == 0 { XCTAssertEqual(Double(w.scalars.reduce(0, +)), 1, accuracy: 1e-5) }
                var seed = [Float](repeating: 0, count: n)
                seed[i] = 1
                w.backward(Tensor(shape: [n], scalars: seed))
                let grad = alpha.grad!.scalars
                for j in 0..<n {
                    let d = Double(grad[j])
                    sum[i * n + j] += d
                    sumSquares[i * n + j] += d * d
                }
                rng = r
            }
        }
        let c = values.map { $0 > 0 ? Double($0) + 1 : exp(Double($0)) }
        let slope = values.map { $0 > 0 ? 1 : exp(Double($0)) }
        let total = c.reduce(0, +)
        for i in 0..<n {
            for j in 0..<n {
                let exact = slope[j] * ((i == j ? 1 / total : 0) - c[i] / (total * total))
                let m = sum[i * n + j] / Double(samples)
                let variance = (sumSquares[i * n + j] / Double(samples) - m * m) * Double(samples) / Double(samples - 1)
                let se = (variance / Double(samples)).squareRoot()
                XCTAssertGreaterThan(se, 0)
                XCTAssertEqual(m, exact, accuracy: 3 * se, "E[∂w_\(i)/∂α_\(j)] = \(m) ± \(se) vs \(exact)")
            }
        }
    }

    /// One-hot, each of n choices with frequency 1/n (χ², α = 0.001), and no gradient for α.
    func testSPOSDrawsUniformOneHotWithoutGradient() {
        let spos = SPOSSampler()
        let n = 4, draws = 8_000
        let alpha = Self.logits([3, -1, 0.5, 0])
        var rng = RandomGenerator(seed: 4)
        var counts = [Int](repeating: 0, count: n)
        for _ in 0..<draws {
            let w = spos.weights(alpha.tensor, step: 0, totalSteps: 1, using: &rng).scalars
            XCTAssertEqual(w.filter { $0 == 1 }.count, 1)
            XCTAssertEqual(w.filter { $0 == 0 }.count, n - 1)
            counts[w.firstIndex(of: 1)!] += 1
        }
        XCTAssertLessThan(SupernetTests.chiSquare(counts, Array(repeating: 1 / Double(n), count: n)), SupernetTests.critical[n - 1]!, "\(counts)")

        let other = Parameter(Tensor(shape: [n], scalars: [1, 2, 3, 4]), name: "v")
        let w = spos.weights(alpha.tensor, step: 0, totalSteps: 1, using: &rng)
        XCTAssertFalse(w.requiresGrad)
        (w * other.tensor).sum().backward()
        XCTAssertNil(alpha.grad, "α gets no gradient")
        XCTAssertEqual(other.grad?.scalars, w.scalars)
    }

    /// Same seed, same sequence of w; the stochastic samplers give another sequence under another seed.
    func testSameSeedSameWeights() {
        let alpha = Self.logits([0.2, -0.4, 0.1, 0.05, -0.3])
        for kind in ArchitectureSamplerKind.allCases {
            let sampler = kind.make()
            func sequence(_ seed: UInt64) -> [[Float]] {
                var rng = RandomGenerator(seed: seed)
                return (0..<6).map { sampler.weights(alpha.tensor, step: $0, totalSteps: 6, using: &rng).scalars }
            }
            XCTAssertEqual(sequence(21), sequence(21), kind.rawValue)
            if kind != .darts { XCTAssertNotEqual(sequence(21), sequence(22), kind.rawValue) }
        }
    }
}
