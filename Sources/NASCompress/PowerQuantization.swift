import NASTensor

/// PowerQuant's data-free exponent (Yvinec et al., ICLR 2023, "PowerQuant: Automorphism Search for
/// Non-Uniform Quantization"; NUPES, 2023): quantize u = sign(w)·|w/m|^α on the uniform symmetric b-bit grid
/// and map back by the inverse power (`FakeQuantization.powerExponent`), with one α per layer chosen without
/// data, as the one that minimises the weight reconstruction error
///
///     α* = argmin_{α ∈ [0.3, 1]}  E(α),   E(α) = ‖W − Q_α(W)‖² / ‖W‖²
///
/// by golden-section search (the paper shows E locally convex in α; bell-shaped weights want α < 1, which puts
/// more levels near zero). α = 1 is the uniform grid, so the search can only keep or lower the uniform error
/// among the points it tries: the uniform error is one of them (`exponent` compares its best against α = 1).
public enum PowerQuantization {
    /// E(α): the relative squared reconstruction error of `w` under `q`.
    public static func reconstructionError(_ w: Tensor, _ q: FakeQuantization) -> Double {
        reconstructionError(w, quantized: Autograd.noGrad { w.fakeQuantized(q) })
    }

    /// ‖W − Ŵ‖² / ‖W‖² for a quantized `quantized` Ŵ of `w`.
    public static func reconstructionError(_ w: Tensor, quantized: Tensor) -> Double {
        let x = w.contiguous().scalars, y = quantized.contiguous().scalars
        var err = 0.0, norm = 0.0
        for (a, b) in zip(x, y) { err += Double(a - b) * Double(a - b); norm += Double(a) * Double(a) }
        return norm > 0 ? err / norm : 0
    }

    /// The α in `range` with the least `reconstructionError` of a b-bit symmetric quantization of `w` (per output
    /// channel by default), by golden-section search down to `tolerance`; α = 1 (uniform) wins ties and any case
    /// where the search found nothing better. Returns α and its error.
    public static func exponent(for w: Tensor, bits: Int, perChannel: Bool = true, range: ClosedRange<Float> = 0.3...1,
                                tolerance: Float = 1e-3) -> (alpha: Float, error: Double) {
        func error(_ alpha: Float) -> Double {
            reconstructionError(w, FakeQuantization(bits: bits, perChannel: perChannel, powerExponent: alpha))
        }
        let ratio = Float(0.5 * (5.0.squareRoot() - 1))   // 1/φ
        var (lo, hi) = (range.lowerBound, range.upperBound)
        var x1 = hi - ratio * (hi - lo), x2 = lo + ratio * (hi - lo)
        var e1 = error(x1), e2 = error(x2)
        while hi - lo > tolerance {
            if e1 <= e2 {
                (hi, x2, e2) = (x2, x1, e1)
                x1 = hi - ratio * (hi - lo)
                e1 = error(x1)
            } else {
                (lo, x1, e1) = (x1, x2, e2)
                x2 = lo + ratio * (hi - lo)
                e2 = error(x2)
            }
        }
        let best = e1 <= e2 ? (x1, e1) : (x2, e2)
        let uniform = error(1)
        return best.1 < uniform ? (best.0, best.1) : (1, uniform)
    }
}
