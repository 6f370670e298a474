/// Within-band τ: how well a proxy ranks architectures *of similar size*, where a size count alone
/// says little. Overall τ on a benchmark is dominated by size (a large model beats a small one); a
/// search under a budget compares candidates near that budget, so what matters is the ranking inside
/// narrow size bands (the LTS paper's observation: M. Javaheripi et al., "LiteTransformerSearch:
/// Training-free Neural Architecture Search for Efficient Language Models", NeurIPS 2022, on
/// non-embedding parameters of decoders).
///
/// **Bands.** The rows with a finite size are sorted by size (ascending; stable, so equal sizes keep
/// their row order) and walked in that order; a new band starts whenever a row's size exceeds
/// `ratio` × the size of the current band's **first** member (exactly `ratio` × stays in the band).
/// The bands depend only on the sizes, so every proxy of a run is judged on the same bands.
///
/// **Per band.** Kendall τ-b of the proxy against the truth (`RankCorrelation.kendallTauB`, finite
/// pairs only). A band is skipped when it has fewer than `minimumBandSize` finite pairs, or when the
/// proxy or the truth is constant over them (τ undefined, `NaN`).
///
/// **Summary.** The n-weighted mean over the remaining bands, n = the band's finite pairs:
///
///     τ_within = Σ_b n_b · τ_b / Σ_b n_b
///
/// `NaN` when no band remains.
public struct WithinBandCorrelation: Equatable, Sendable {
    /// The n-weighted mean τ-b over the bands used (`NaN` when none).
    public var kendall: Double
    /// Bands that entered the mean.
    public var bandsUsed: Int
    /// Rows (finite pairs) in those bands, Σ n_b.
    public var rowsCovered: Int
    /// All bands the sizes formed, used or not.
    public var bandCount: Int

    public init(kendall: Double, bandsUsed: Int, rowsCovered: Int, bandCount: Int) {
        self.kendall = kendall
        self.bandsUsed = bandsUsed
        self.rowsCovered = rowsCovered
        self.bandCount = bandCount
    }

    /// The size ratio of the LTS analysis: a band spans at most 10 % above its first member.
    public static let defaultRatio = 1.10
    /// Bands smaller than this are too small for a τ worth averaging.
    public static let defaultMinimumBandSize = 5

    /// Equality that treats `NaN == NaN` as equal.
    public static func == (a: WithinBandCorrelation, b: WithinBandCorrelation) -> Bool {
        (a.kendall == b.kendall || (a.kendall.isNaN && b.kendall.isNaN)) && a.bandsUsed == b.bandsUsed
            && a.rowsCovered == b.rowsCovered && a.bandCount == b.bandCount
    }

    /// The bands of `sizes`: lists of row indices, each in ascending size order, bands in ascending
    /// order. Rows whose size is not finite belong to no band.
    public static func bands(sizes: [Double], ratio: Double = defaultRatio) -> [[Int]] {
        precondition(ratio >= 1, "within-band ratio must be ≥ 1, got \(ratio)")
        let order = sizes.indices.filter { sizes[$0].isFinite }.sorted { (sizes[$0], $0) < (sizes[$1], $1) }
        var bands: [[Int]] = []
        for i in order {
            if let first = bands.last?.first, sizes[i] <= ratio * sizes[first] {
                bands[bands.count - 1].append(i)
            } else {
                bands.append([i])
            }
        }
        return bands
    }

    /// Within-band Kendall τ-b of `proxy` against `truth` (same length as `sizes`, paired by index).
    public static func kendall(sizes: [Double], proxy: [Double], truth: [Double], ratio: Double = defaultRatio,
                               minimumBandSize: Int = defaultMinimumBandSize) -> WithinBandCorrelation {
        precondition(sizes.count == proxy.count && proxy.count == truth.count,
                     "within-band τ: \(sizes.count) sizes, \(proxy.count) proxy scores, \(truth.count) truths")
        let bands = bands(sizes: sizes, ratio: ratio)
        var weighted = 0.0, used = 0, covered = 0
        for band in bands {
            let x = band.map { proxy[$0] }, y = band.map { truth[$0] }
            let n = RankCorrelation.finitePairCount(x, y)
            guard n >= minimumBandSize else { continue }
            let tau = RankCorrelation.kendallTauB(x, y)
            guard tau.isFinite else { continue }   // a constant side: undefined
            weighted += Double(n) * tau
            used += 1
            covered += n
        }
        return WithinBandCorrelation(kendall: covered > 0 ? weighted / Double(covered) : .nan, bandsUsed: used,
                                     rowsCovered: covered, bandCount: bands.count)
    }
}
