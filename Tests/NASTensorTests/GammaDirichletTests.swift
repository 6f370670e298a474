import Foundation
import XCTest
@testable import NASTensor

/// The Gamma sampler, the regularized incomplete gamma function, the implicit reparameterisation gradient
/// and the Dirichlet sample op (DrNAS's engine side), against independent computations.
final class GammaDirichletTests: XCTestCase {
    override func setUp() { Engine.threads = 2 }

    /// (1/Γ(a)) ∫_{t0}^{t1} tᵃ⁻¹ e⁻ᵗ dt by composite Simpson, independent of the series and the continued
    /// fraction: below t = 1 in v = log t, where the integrand exp(a·v − eᵛ) is smooth and decays like e^{a·v}
    /// (cut 1 + 50/a below the top, e⁻⁵⁰ of the integral), above 1 in t (an infinite end is cut where e⁻ᵗ has
    /// fallen by e⁻⁶⁰ past the mode). Steps of 0.005 (0.005/a in v for a > 1).
    static func quadrature(_ a: Double, from t0: Double, to t1: Double) -> Double {
        func simpson(_ lo: Double, _ hi: Double, step: Double, _ f: (Double) -> Double) -> Double {
            guard hi > lo else { return 0 }
            let intervals = 2 * max(1_000, Int(((hi - lo) / (2 * step)).rounded(.up)))
            let h = (hi - lo) / Double(intervals)
            var s = f(lo) + f(hi)
            for k in 1..<intervals { s += f(lo + Double(k) * h) * (k % 2 == 1 ? 4 : 2) }
            return s * h / 3
        }
        let lg: Double = lgamma(a)
        var total = 0.0
        if t0 < 1 {
            let vHi = log(min(t1, 1)), vLo = t0 > 0 ? log(t0) : vHi - 1 - 50 / a
            total += simpson(vLo, vHi, step: 0.005 / max(1, a)) { v in exp(a * v - exp(v) - lg) }
        }
        if t1 > 1 {
            let lo = max(t0, 1), hi = t1.isInfinite ? max(lo, a) + 60 + 20 * a.squareRoot() : t1
            total += simpson(lo, hi, step: 0.005) { t in exp((a - 1) * log(t) - t - lg) }
        }
        return total
    }

    static func quadratureP(_ a: Double, _ z: Double) -> Double { quadrature(a, from: 0, to: z) }
    static func quadratureQ(_ a: Double, _ z: Double) -> Double { quadrature(a, from: z, to: .infinity) }

    /// The Gamma(a) quantile at u by bisection on log z of the quadrature P.
    static func quantile(_ a: Double, _ u: Double) -> Double {
        var lo = -60.0 / a - 10, hi = log(a + 40 + 10 * a.squareRoot())
        for _ in 0..<64 {
            let mid = (lo + hi) / 2
            if quadratureP(a, exp(mid)) < u { lo = mid } else { hi = mid }
        }
        return exp((lo + hi) / 2)
    }

    func testIncompleteGammaAgainstClosedFormAndQuadrature() {
        for x in [0.01, 0.5, 1.0, 2.0, 7.5, 30.0] {
            XCTAssertEqual(IncompleteGamma.regularizedLower(1, x), -expm1(-x), accuracy: 1e-14, "P(1, x) = 1 − e⁻ˣ")
            // P(2, x) = 1 − (1 + x)e⁻ˣ
            XCTAssertEqual(IncompleteGamma.regularizedUpper(2, x), (1 + x) * exp(-x), accuracy: 1e-14 * max(1, (1 + x) * exp(-x)))
        }
        for a in [0.05, 0.3, 1.7, 4.5, 20.0] {
            for x in [0.02 * a, 0.5 * a, a, a + 1, 2 * a + 3, 4 * a + 10] {
                let p = IncompleteGamma.regularizedLower(a, x), q = IncompleteGamma.regularizedUpper(a, x)
                XCTAssertEqual(p + q, 1, accuracy: 1e-13)
                // The smaller of P and Q keeps its relative precision.
                let lower = Self.quadratureP(a, x), upper = Self.quadratureQ(a, x)
                XCTAssertEqual(lower + upper, 1, accuracy: 1e-9, "quadrature at (\(a), \(x))")
                if lower < 0.5 {
                    XCTAssertEqual(p / lower, 1, accuracy: 1e-9, "P(\(a), \(x)) = \(p) vs quadrature \(lower)")
                } else {
                    XCTAssertEqual(q / upper, 1, accuracy: 1e-9, "Q(\(a), \(x)) = \(q) vs quadrature \(upper)")
                }
            }
        }
        XCTAssertTrue(IncompleteGamma.regularizedLower(-1, 2).isNaN)
        XCTAssertEqual(IncompleteGamma.regularizedLower(3, 0), 0)
    }

    /// ∂P/∂a (finite difference of the branch's log) against a finite difference of the quadrature.
    func testShapeDerivativeOfPAgainstQuadrature() {
        for (a, x) in [(0.3, 0.05), (0.3, 2.0), (1.0, 0.7), (4.5, 3.0), (4.5, 12.0), (20.0, 26.0)] {
            let h = 1e-4 * a
            let reference = Self.quadratureP(a, x) < 0.5
                ? (Self.quadratureP(a + h, x) - Self.quadratureP(a - h, x)) / (2 * h)
                : -(Self.quadratureQ(a + h, x) - Self.quadratureQ(a - h, x)) / (2 * h)
            let d = IncompleteGamma.lowerShapeDerivative(a, x)
            XCTAssertEqual(d, reference, accuracy: 1e-6 * abs(reference) + 1e-12, "∂P/∂a at (\(a), \(x))")
        }
    }

    /// Mean and variance of ≥ 20k draws match a and a within 4 standard errors; the standard error of the
    /// sample variance uses the Gamma's fourth central moment 3a² + 6a: Var(s²) ≈ (2a² + 6a)/N.
    func testGammaSamplerMeanAndVariance() {
        let draws = 40_000
        for a in [0.3, 1.0, 4.5] {
            var rng = RandomGenerator(seed: 11)
            var sum = 0.0, sumSquares = 0.0
            for _ in 0..<draws {
                let z = GammaDistribution.sample(shape: a, using: &rng)
                XCTAssertTrue(z > 0 && z.isFinite)
                sum += z
                sumSquares += z * z
            }
            let n = Double(draws), mean = sum / n, variance = (sumSquares - n * mean * mean) / (n - 1)
            XCTAssertEqual(mean, a, accuracy: 4 * (a / n).squareRoot(), "mean for a = \(a)")
            XCTAssertEqual(variance, a, accuracy: 4 * ((2 * a * a + 6 * a) / n).squareRoot(), "variance for a = \(a)")
        }
        var rng = RandomGenerator(seed: 1)
        XCTAssertTrue(GammaDistribution.sample(shape: 0, using: &rng).isNaN)
        XCTAssertTrue(GammaDistribution.sample(shape: .nan, using: &rng).isNaN)
    }

    /// dz/da of the implicit gradient equals the derivative of the Gamma quantile z(a) = F⁻¹(u; a) at a
    /// fixed u, by a central difference of the quadrature-and-bisection quantile.
    func testImplicitGradientMatchesQuantileDerivative() {
        for (a, u) in [(0.3, 0.1), (0.3, 0.5), (0.3, 0.95), (1.0, 0.2), (1.0, 0.7), (4.5, 0.05), (4.5, 0.5), (4.5, 0.99), (0.05, 0.3)] {
            let z = Self.quantile(a, u)
            XCTAssertEqual(IncompleteGamma.regularizedLower(a, z), u, accuracy: 1e-9, "quantile at (\(a), \(u))")
            let h = 1e-4 * a
            let reference = (Self.quantile(a + h, u) - Self.quantile(a - h, u)) / (2 * h)
            let d = GammaDistribution.sampleShapeDerivative(z, shape: a)
            XCTAssertEqual(d, reference, accuracy: 1e-5 * abs(reference) + 1e-300, "dz/da at (a, u) = (\(a), \(u)), z = \(z)")
        }
    }

    func testELUValuesAndGradient() {
        let x = Tensor(shape: [4], scalars: [-2, -0.5, 0, 1.5])
        let expected: [Float] = [Float(expm1(-2.0)), Float(expm1(-0.5)), 0, 1.5]
        assertClose(x.elu().scalars, expected, tol: 1e-6)
        assertClose(x.elu(alpha: 0.5).scalars, expected.map { $0 < 0 ? 0.5 * $0 : $0 }, tol: 1e-6)
        checkGradients([[3, 7]]) { $0[0].elu() }
        checkGradients([[3, 5]], sliced: true) { $0[0].elu() + 1 }
    }

    func testDirichletSampleRowsAreDistributionsWithTheDirichletMean() {
        let c: [Float] = [0.4, 1.0, 3.0, 2.0, 2.0, 0.01]
        let concentration = Tensor(shape: [2, 3], scalars: c)
        var rng = RandomGenerator(seed: 5)
        let draws = 20_000
        var sums = [Double](repeating: 0, count: 6)
        for _ in 0..<draws {
            let w = concentration.dirichletSample(using: &rng).scalars
            for r in 0..<2 {
                XCTAssertEqual(Double(w[3 * r] + w[3 * r + 1] + w[3 * r + 2]), 1, accuracy: 1e-5)
            }
            XCTAssertTrue(w.allSatisfy { $0 >= 0 && $0.isFinite }, "\(w)")
            for i in 0..<6 { sums[i] += Double(w[i]) }
        }
        for r in 0..<2 {
            let total = Double(c[3 * r] + c[3 * r + 1] + c[3 * r + 2])
            for i in 0..<3 {
                let k = 3 * r + i, mean = Double(c[k]) / total
                // Var(w_i) = m(1 − m)/(C + 1).
                let se = (mean * (1 - mean) / (total + 1) / Double(draws)).squareRoot()
                XCTAssertEqual(sums[k] / Double(draws), mean, accuracy: 4 * se, "E[w_\(k)]")
            }
        }
        // Same generator state, same sample; an invalid concentration gives a NaN row, not a hang or a crash.
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        XCTAssertEqual(concentration.dirichletSample(using: &a).scalars, concentration.dirichletSample(using: &b).scalars)
        let bad = Tensor(shape: [2, 2], scalars: [1, .nan, 1, 2]).dirichletSample(using: &a).scalars
        XCTAssertTrue(bad[0].isNaN && bad[1].isNaN)
        XCTAssertEqual(Double(bad[2] + bad[3]), 1, accuracy: 1e-6)
    }
}
