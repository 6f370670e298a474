import Foundation
import NASText

/// Kendall τ-b, Spearman ρ and Pearson r of one proxy's scores against a ground truth.
///
/// `NaN` means "undefined", never "no correlation": it comes back when fewer than two usable pairs
/// remain, or when either side is constant over them (a zero denominator).
public struct Correlations: Equatable, Sendable {
    public var kendall: Double
    public var spearman: Double
    public var pearson: Double

    public init(kendall: Double, spearman: Double, pearson: Double) {
        self.kendall = kendall
        self.spearman = spearman
        self.pearson = pearson
    }

    /// All three undefined.
    public static let undefined = Correlations(kendall: .nan, spearman: .nan, pearson: .nan)

    /// Equality that treats `NaN == NaN` (both undefined) as equal.
    public static func == (a: Correlations, b: Correlations) -> Bool {
        func same(_ u: Double, _ v: Double) -> Bool { u == v || (u.isNaN && v.isNaN) }
        return same(a.kendall, b.kendall) && same(a.spearman, b.spearman) && same(a.pearson, b.pearson)
    }
}

/// Correlation coefficients between two paired samples `x` and `y` (same length, paired by index).
///
/// **Non-finite values.** A proxy may return `NaN` or `±inf` for some architecture (an overflow, a
/// singular matrix). Every function here drops each *pair* in which either value is not finite
/// (pairwise deletion) and computes the coefficient on the rest, so one bad architecture never
/// crashes or poisons a ranking run; `finitePairCount` tells how many pairs were used. All three
/// coefficients thus see the same subset. (`+inf` is dropped rather than ranked first: it is an
/// overflow, not a measurement, and Pearson r has no meaning for it.)
///
/// **Degenerate inputs.** Fewer than two usable pairs, or a side that is constant over them, give
/// `NaN` (the coefficient is undefined: 0/0). Results are clamped to [−1, 1] against rounding.
///
/// `x` and `y` of different lengths are a programming error (precondition failure).
public enum RankCorrelation {

    /// Kendall's τ-b, the tie-corrected rank correlation (M. G. Kendall, "The treatment of ties in
    /// ranking problems", Biometrika 33(3):239–251, 1945):
    ///
    ///     τ_b = (n_c − n_d) / √((n0 − n1)(n0 − n2))
    ///
    /// over the n usable pairs, where n0 = n(n−1)/2 is the number of pairs of observations (i, j),
    /// n_c / n_d count those ordered the same / opposite way by x and y (a pair tied in x or in y is
    /// neither), n1 = Σ t(t−1)/2 over the groups of t tied x values and n2 the same for y.
    /// Without ties it reduces to τ-a = (n_c − n_d)/n0.
    ///
    /// Plain O(n²) loop over all pairs: the benchmarks here have n ≤ 1000 (≤ 500 000 pairs, well under
    /// a millisecond), and the direct definition is easy to check by eye.
    public static func kendallTauB(_ x: [Double], _ y: [Double]) -> Double {
        let (x, y) = finitePairs(x, y)
        let n = x.count
        guard n >= 2 else { return .nan }
        var concordant = 0, discordant = 0, tiedX = 0, tiedY = 0
        for i in 0..<(n - 1) {
            for j in (i + 1)..<n {
                let dx = x[i] - x[j], dy = y[i] - y[j]
                if dx == 0 { tiedX += 1 }   // pairs tied in x: Σ t(t−1)/2 over x's tie groups = n1
                if dy == 0 { tiedY += 1 }   // likewise n2 (a pair tied in both counts in each)
                if dx == 0 || dy == 0 { continue }
                if (dx > 0) == (dy > 0) { concordant += 1 } else { discordant += 1 }
            }
        }
        let n0 = n * (n - 1) / 2
        let denominator = (Double(n0 - tiedX) * Double(n0 - tiedY)).squareRoot()
        guard denominator > 0 else { return .nan }
        return clamp(Double(concordant - discordant) / denominator)
    }

    /// Spearman's ρ: Pearson's r of the ranks (C. Spearman, "The proof and measurement of
    /// association between two things", Am. J. Psychol. 15(1):72–101, 1904), with tied values given
    /// the mean of the ranks they span (`TaskMetrics.averageRanks`). With ties this is the correct form; the
    /// shortcut 1 − 6Σd²/(n(n²−1)) is exact only without ties and is not used.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        let (x, y) = finitePairs(x, y)
        return TaskMetrics.spearman(x, y)
    }

    /// Pearson's product-moment correlation of the finite pairs (`TaskMetrics.pearson`: centred sums in
    /// Double, two passes, so a large common offset does not cancel catastrophically):
    ///
    ///     r = Σ(x_i − x̄)(y_i − ȳ) / √(Σ(x_i − x̄)² · Σ(y_i − ȳ)²)
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let (x, y) = finitePairs(x, y)
        return TaskMetrics.pearson(x, y)
    }

    /// All three coefficients on the same finite pairs.
    public static func all(_ x: [Double], _ y: [Double]) -> Correlations {
        Correlations(kendall: kendallTauB(x, y), spearman: spearman(x, y), pearson: pearson(x, y))
    }

    /// Number of pairs in which both values are finite (the n the coefficients are computed on).
    public static func finitePairCount(_ x: [Double], _ y: [Double]) -> Int {
        precondition(x.count == y.count, "paired samples of different lengths: \(x.count) vs \(y.count)")
        return zip(x, y).reduce(0) { $0 + ($1.0.isFinite && $1.1.isFinite ? 1 : 0) }
    }

    /// The pairs in which both values are finite, in their original order.
    public static func finitePairs(_ x: [Double], _ y: [Double]) -> (x: [Double], y: [Double]) {
        precondition(x.count == y.count, "paired samples of different lengths: \(x.count) vs \(y.count)")
        if x.allSatisfy(\.isFinite) && y.allSatisfy(\.isFinite) { return (x, y) }
        var fx: [Double] = [], fy: [Double] = []
        for (a, b) in zip(x, y) where a.isFinite && b.isFinite {
            fx.append(a)
            fy.append(b)
        }
        return (fx, fy)
    }

    private static func clamp(_ r: Double) -> Double { min(1, max(-1, r)) }
}
