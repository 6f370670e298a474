import NASSearch
import NASTensor

/// Training-free scores of a model's bit configurations, every one additive over units, score(b) = Σ_u g_u(b_u), so
/// `BitAllocation` finds each one's exact optimum under a budget:
///
/// - an evolved proxy (EMQ's form): g_u(b) = b · s_{u,b}, s_{u,b} the genotype's number for unit u on its statistics
///   and the leaf `perturbation` = Q_b(W_u) − W_u (so a proxy may weigh the error a width causes, as HAWQ does);
/// - `size`: g_u(b) = b · n_u (the bits per weight, up to a constant factor);
/// - `hawq` (HAWQ-V2, Dong et al., NeurIPS 2020): g_u(b) = −Tr(H_u)/n_u · ‖Q_b(W_u) − W_u‖²;
/// - `fisher` (Fisher-weighted perturbation): g_u(b) = −Σ F_u ⊙ (Q_b(W_u) − W_u)²;
/// - `snip` (Lee et al., ICLR 2019, as EMQ scores it): g_u(b) = b · Σ |W_u ⊙ G_u|;
/// - `hessian-trace`, `fisher-trace`: g_u(b) = b · Tr H_u, b · Σ F_u (EMQ's bit-weighted forms).
public struct ConfigurationScorer {
    public enum HandMade: String, CaseIterable, Sendable { case size, hawq, fisher, snip, hessianTrace = "hessian-trace", fisherTrace = "fisher-trace" }

    public let units: [MixedPrecision.Unit]
    public let statistics: UnitStatistics
    public let choices: [Int]
    /// ‖Q_b(W_u) − W_u‖² and Σ F_u ⊙ (Q_b(W_u) − W_u)², per unit and bit width.
    let perturbation: [[Int: Double]], fisherPerturbation: [[Int: Double]]
    /// The evolved proxies' samples: per unit u and width b (u-major, `choices` order), the unit's leaves and
    /// `perturbation`.
    public let samples: [[String: ProxyValue]]
    /// The leaves of `samples`.
    public static let leafNames = UnitStatistics.leafNames + ["perturbation"]

    public init(_ mixed: MixedPrecision, statistics: UnitStatistics, choices: [Int]) {
        var p: [[Int: Double]] = [], fp: [[Int: Double]] = [], samples: [[String: ProxyValue]] = []
        for u in mixed.units.indices {
            let weight = mixed.weight(of: u), w = weight.contiguous().scalars, f = statistics.leaves[u]["fisher"]!.values
            var row: [Int: Double] = [:], frow: [Int: Double] = [:]
            for b in choices {
                let q = mixed.quantizedWeight(of: u, bits: b).scalars
                var e = 0.0, fe = 0.0
                for j in w.indices { let d = Double(q[j] - w[j]); e += d * d; fe += Double(f[j]) * d * d }
                (row[b], frow[b]) = (e, fe)
                var leaves = statistics.leaves[u]
                leaves["perturbation"] = ProxyValue(rows: weight.shape[0], cols: weight.shape[1], values: zip(q, w).map { $0 - $1 })
                samples.append(leaves)
            }
            p.append(row); fp.append(frow)
        }
        (units, self.statistics, self.choices, perturbation, fisherPerturbation, self.samples) = (mixed.units, statistics, choices, p, fp, samples)
    }

    /// g_u(b) of a hand-made proxy.
    public func gain(_ proxy: HandMade) -> (Int, Int) -> Double {
        let leaves = statistics.leaves
        switch proxy {
        case .size: return { u, b in Double(b * units[u].parameters) }
        case .hawq: return { u, b in -statistics.hessianTrace[u] / Double(units[u].parameters) * perturbation[u][b]! }
        case .fisher: return { u, b in -fisherPerturbation[u][b]! }
        case .snip:
            let s = leaves.map { l in zip(l["weights"]!.values, l["gradients"]!.values).reduce(0.0) { $0 + Double(abs($1.0 * $1.1)) } }
            return { u, b in Double(b) * s[u] }
        case .hessianTrace: return { u, b in Double(b) * statistics.hessianTrace[u] }
        case .fisherTrace:
            let s = leaves.map { $0["fisher"]!.sum }
            return { u, b in Double(b) * s[u] }
        }
    }

    /// g_u(b) = b · s_{u,b} of an evolved proxy, nil when it is invalid on some sample.
    public func gain(_ genotype: ProxyGenotype) -> ((Int, Int) -> Double)? {
        var s: [Double] = []
        for l in samples {
            guard let v = genotype.evaluate(l) else { return nil }
            s.append(v)
        }
        return gain(scores: s)
    }

    /// g_u(b) = b · s_{u,b} from the scores of `samples`.
    public func gain(scores s: [Double]) -> (Int, Int) -> Double {
        let index = Dictionary(uniqueKeysWithValues: choices.enumerated().map { ($1, $0) }), n = choices.count
        return { u, b in Double(b) * s[u * n + index[b]!] }
    }

    /// Σ_u g_u(b_u).
    public static func score(_ bits: [Int], gain: (Int, Int) -> Double) -> Double {
        bits.indices.reduce(0) { $0 + gain($1, bits[$1]) }
    }

    /// Spearman ρ of the scores against the accuracies, over all configurations and over those whose accuracy is in
    /// the top `topFraction` (EMQ's Spearman@top-k).
    public static func correlation(_ configurations: [MixedPrecisionBenchmark.Configuration], gain: (Int, Int) -> Double,
                                   topFraction: Double = 0.2) -> (all: Double, top: Double) {
        let scores = configurations.map { score($0.bits, gain: gain) }, truth = configurations.map(\.accuracy)
        let order = truth.indices.sorted { truth[$0] > truth[$1] }.prefix(max(2, Int((topFraction * Double(truth.count)).rounded())))
        return (RankCorrelation.spearman(scores, truth), RankCorrelation.spearman(order.map { scores[$0] }, order.map { truth[$0] }))
    }
}
