import NASSearch

/// How much of a study's objective each gene explains: one-way ANOVA's η² (Fisher 1925; Cohen 1973)
/// per gene. With the trials grouped by the gene's choice,
///
///     η² = SS_between / SS_total = Σ_g n_g (ȳ_g − ȳ)² / Σ_i (y_i − ȳ)²,
///
/// over the complete trials with a finite primary objective. η² is in [0, 1]; each gene is looked at on
/// its own (no interactions), and with few trials per choice it overstates a gene's share (a gene with
/// k choices explains about (k − 1)/(n − 1) of pure noise), so the view also gives the trials counted.
public struct GeneImportance: Equatable, Sendable {
    public var gene: String
    /// η² of the gene; NaN when the objective does not vary (or fewer than 2 trials).
    public var etaSquared: Double
    /// Distinct choices of the gene among the trials counted.
    public var choicesSeen: Int
    /// Trials counted.
    public var trials: Int

    public init(gene: String, etaSquared: Double, choicesSeen: Int, trials: Int) {
        self.gene = gene; self.etaSquared = etaSquared; self.choicesSeen = choicesSeen; self.trials = trials
    }

    /// η² of each gene named in `geneNames` (genome positions in order), largest first (ties by position).
    /// Trials whose genome is shorter than a position are left out of that gene.
    public static func etaSquared(trials: [Trial], settings: StudySettings, geneNames: [String]) -> [GeneImportance] {
        let usable = trials.filter { $0.state == .complete && StudyReport.primaryValue($0, settings: settings).isFinite }
        let ranked = geneNames.enumerated().map { position, name -> (Int, GeneImportance) in
            let pairs = usable.compactMap { t -> (Int, Double)? in
                position < t.genome.count ? (t.genome[position], StudyReport.primaryValue(t, settings: settings)) : nil
            }
            return (position, etaSquared(pairs, gene: name))
        }
        return ranked.sorted { a, b in
            let (x, y) = (a.1.etaSquared, b.1.etaSquared)
            if x.isNaN != y.isNaN { return !x.isNaN }
            if x != y && !x.isNaN { return x > y }
            return a.0 < b.0
        }.map(\.1)
    }

    /// η² of (choice, objective) pairs.
    static func etaSquared(_ pairs: [(Int, Double)], gene: String) -> GeneImportance {
        let n = Double(pairs.count)
        let mean = pairs.reduce(0) { $0 + $1.1 } / max(n, 1)
        var groups: [Int: (sum: Double, count: Double)] = [:]
        var total = 0.0
        for (choice, y) in pairs {
            groups[choice, default: (0, 0)].sum += y
            groups[choice, default: (0, 0)].count += 1
            total += (y - mean) * (y - mean)
        }
        let between = groups.values.reduce(0.0) { acc, g in
            let m = g.sum / g.count
            return acc + g.count * (m - mean) * (m - mean)
        }
        let eta = pairs.count >= 2 && total > 0 ? min(1, between / total) : .nan
        return GeneImportance(gene: gene, etaSquared: eta, choicesSeen: groups.count, trials: pairs.count)
    }
}
