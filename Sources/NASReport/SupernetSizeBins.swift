import Foundation

/// The loss of a supernet's members by size, from its metrics log: each logged step of `supernet
/// train` holds every member it trained (`params_<i>`) and its loss — member 0's label loss `lm`, and for
/// the others (sandwich and complexity rules) the in-place distillation loss `kd_smallest` (member 1)
/// or `kd_<i>`. The members are put into `binCount` bins of equal width in parameters between the
/// smallest and the largest logged, and each bin's mean loss per logged step becomes one series.
/// Label and distillation losses measure different things, so they are binned separately.
public struct SupernetSizeBins: Sendable {
    public struct Bin: Sendable {
        /// Parameter range [lo, hi].
        public var lo: Double, hi: Double
        public var steps: [Double]
        public var meanLoss: [Double]
    }

    public var labelLoss: [Bin]
    public var distillationLoss: [Bin]

    public init(log: TrainingLog, binCount: Int = 4) {
        var label: [(step: Int, params: Double, loss: Double)] = []
        var kd: [(step: Int, params: Double, loss: Double)] = []
        for e in log.entries {
            for (key, params) in e.values where key.hasPrefix("params_") {
                guard let i = Int(key.dropFirst("params_".count)), params.isFinite else { continue }
                if i == 0, let loss = e.values["lm"] { label.append((e.step, params, loss)) }
                if i >= 1, let loss = e.values[i == 1 ? "kd_smallest" : "kd_\(i)"] { kd.append((e.step, params, loss)) }
            }
        }
        let all = (label + kd).map(\.params)
        let (lo, hi) = (all.min() ?? 0, all.max() ?? 0)
        func bins(_ rows: [(step: Int, params: Double, loss: Double)]) -> [Bin] {
            let count = max(1, binCount)
            let width = (hi - lo) / Double(count)
            var sums = Array(repeating: [Int: (Double, Double)](), count: count)
            for r in rows where r.loss.isFinite {
                let k = width > 0 ? min(count - 1, Int((r.params - lo) / width)) : 0
                let old = sums[k][r.step] ?? (0, 0)
                sums[k][r.step] = (old.0 + r.loss, old.1 + 1)
            }
            return (0..<count).compactMap { k in
                guard !sums[k].isEmpty else { return nil }
                let steps = sums[k].keys.sorted()
                return Bin(lo: lo + width * Double(k), hi: width > 0 ? lo + width * Double(k + 1) : hi,
                           steps: steps.map(Double.init), meanLoss: steps.map { sums[k][$0]!.0 / sums[k][$0]!.1 })
            }
        }
        labelLoss = bins(label)
        distillationLoss = bins(kd)
    }
}
