import Foundation

/// The Gamma(a, 1) distribution (shape a > 0, unit scale): density f(z; a) = zᵃ⁻¹ e⁻ᶻ / Γ(a), distribution
/// function F(z; a) = P(a, z) (`IncompleteGamma`), mean a, variance a.
///
/// Sampling: Marsaglia & Tsang, "A simple method for generating gamma variables" (ACM TOMS 26(3), 2000):
/// for a ≥ 1, with d = a − 1/3 and c = 1/√(9d), draw x ~ N(0, 1) and v = (1 + c·x)³ until v > 0 and a uniform
/// u satisfies u < 1 − 0.0331·x⁴ (squeeze) or log u < x²/2 + d·(1 − v + log v); return d·v. For a < 1 the
/// boost: z = z′·u^(1/a) with z′ ~ Gamma(a + 1) and u uniform, done in logs so that tiny samples of a small
/// shape keep their relative precision. All randomness comes from the `RandomGenerator`, in a fixed order.
///
/// Reparameterisation: Figurnov, Mohamed & Mnih, "Implicit Reparameterization Gradients" (NeurIPS 2018):
/// holding F(z; a) fixed, dz/da = −(∂F(z; a)/∂a) / f(z; a).
public enum GammaDistribution {
    /// One draw of Gamma(a, 1); NaN for a shape that is not a positive finite number.
    public static func sample(shape a: Double, using rng: inout RandomGenerator) -> Double {
        Foundation.exp(logSample(shape: a, using: &rng))
    }

    /// log of one draw of Gamma(a, 1) (NaN for an invalid shape, without drawing).
    public static func logSample(shape a: Double, using rng: inout RandomGenerator) -> Double {
        guard a > 0, a.isFinite else { return .nan }
        if a < 1 {
            let boosted = logSample(shape: a + 1, using: &rng)
            return boosted + Foundation.log(rng.uniformOpen()) / a
        }
        let d = a - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = Double(rng.normal())
            let t = 1 + c * x
            if t <= 0 { continue }
            let v = t * t * t
            let u = rng.uniformOpen()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 || Foundation.log(u) < 0.5 * x2 + d * (1 - v + Foundation.log(v)) {
                return Foundation.log(d) + Foundation.log(v)
            }
        }
    }

    /// log f(z; a) = (a − 1)·log z − z − log Γ(a).
    public static func logDensity(_ z: Double, shape a: Double) -> Double {
        (a - 1) * Foundation.log(z) - z - Foundation.lgamma(a)
    }

    /// The implicit reparameterisation gradient dz/da = −(∂P(a, z)/∂a) / f(z; a) of a sample z of Gamma(a, 1).
    public static func sampleShapeDerivative(_ z: Double, shape a: Double) -> Double {
        z * logSampleShapeDerivative(logZ: Foundation.log(z), shape: a)
    }

    /// d log z / da = −(∂P/∂a) / (z·f(z; a)), evaluated in logs: with F the branch's own function (P or
    /// Q = 1 − P, see `IncompleteGamma.lowerShapeDerivative`), ∂P/∂a = ±F·∂ log F/∂a and
    /// z·f(z; a) = exp(a·log z − z − log Γ(a)), so the ratio is ∓∂ log F/∂a · exp(log F − log(z·f)).
    static func logSampleShapeDerivative(logZ: Double, shape a: Double) -> Double {
        let z = Foundation.exp(logZ)   // may underflow to 0 for a tiny shape: the series then works from logZ
        guard a > 0, a.isFinite, logZ.isFinite, z.isFinite else { return .nan }
        let (series, dLog, logF) = IncompleteGamma.logBranchDerivative(a, z, logX: logZ)
        let ratio = Foundation.exp(logF - (a * logZ - z - Foundation.lgamma(a)))
        return series ? -dLog * ratio : dLog * ratio
    }
}
