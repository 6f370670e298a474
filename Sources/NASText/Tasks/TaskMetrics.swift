/// The metrics of the GLUE tasks, computed in `Double`.
///
/// Classification metrics take class ids; correlations take real values. Every function requires
/// its two arrays to have the same length (a mismatch is a programming error and traps). On
/// degenerate input the value is the documented one (0 or NaN), never a trap.
public enum TaskMetrics {
    // MARK: Classification

    /// Fraction of positions where the prediction equals the label:
    /// `accuracy = #{i : predictionᵢ = labelᵢ} / n`. NaN for empty input.
    public static func accuracy(predictions: [Int], labels: [Int]) -> Double {
        checkCounts(predictions.count, labels.count, "accuracy")
        guard !labels.isEmpty else { return .nan }
        let correct = zip(predictions, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        return Double(correct) / Double(labels.count)
    }

    /// F1 of the positive class 1, the harmonic mean of precision `TP / (TP + FP)` and recall
    /// `TP / (TP + FN)`: `F1 = 2·TP / (2·TP + FP + FN)`, where a position is positive when its id is 1
    /// and negative otherwise.
    ///
    /// When there is no true positive (in particular when nothing is predicted positive or no label
    /// is positive) F1 is 0, as scikit-learn's `f1_score` with its default `zero_division` gives,
    /// including the 0/0 case of no positive at all.
    public static func f1(predictions: [Int], labels: [Int]) -> Double {
        checkCounts(predictions.count, labels.count, "f1")
        var truePositives = 0, falsePositives = 0, falseNegatives = 0
        for (prediction, label) in zip(predictions, labels) {
            switch (prediction == 1, label == 1) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): break
            }
        }
        guard truePositives > 0 else { return 0 }
        return Double(2 * truePositives) / Double(2 * truePositives + falsePositives + falseNegatives)
    }

    /// Matthews correlation coefficient, from the confusion matrix of labels (rows) against
    /// predictions (columns).
    ///
    /// For two classes (1 positive, 0 negative) it is
    /// `MCC = (TP·TN − FP·FN) / √((TP + FP)(TP + FN)(TN + FP)(TN + FN))`.
    /// For any set of class ids it is the K-class form (Gorodkin 2004), which equals the binary one
    /// for K = 2: with `s` positions, `c` of them correct, `tₖ` labels and `pₖ` predictions of class k,
    /// `MCC = (c·s − Σₖ pₖ·tₖ) / √((s² − Σₖ pₖ²)(s² − Σₖ tₖ²))`.
    ///
    /// When a factor of the denominator is 0 (all predictions, or all labels, one class; or empty
    /// input) the value is 0, as scikit-learn's `matthews_corrcoef` returns.
    public static func matthewsCorrelation(predictions: [Int], labels: [Int]) -> Double {
        checkCounts(predictions.count, labels.count, "matthewsCorrelation")
        var labelCounts: [Int: Double] = [:]
        var predictionCounts: [Int: Double] = [:]
        var correct = 0.0
        for (prediction, label) in zip(predictions, labels) {
            labelCounts[label, default: 0] += 1
            predictionCounts[prediction, default: 0] += 1
            if prediction == label { correct += 1 }
        }
        let s = Double(labels.count)
        let crossSum = labelCounts.reduce(0.0) { $0 + $1.value * (predictionCounts[$1.key] ?? 0) }
        let predictionSquares = predictionCounts.values.reduce(0.0) { $0 + $1 * $1 }
        let labelSquares = labelCounts.values.reduce(0.0) { $0 + $1 * $1 }
        let predictionFactor = s * s - predictionSquares
        let labelFactor = s * s - labelSquares
        guard predictionFactor > 0, labelFactor > 0 else { return 0 }
        // One square root of the product: √(x·x) is exactly x, so perfect agreement gives exactly 1.
        let mcc = (correct * s - crossSum) / (predictionFactor * labelFactor).squareRoot()
        return min(1, max(-1, mcc))
    }

    // MARK: Correlation

    /// Pearson's correlation coefficient
    /// `r = Σᵢ (xᵢ − x̄)(yᵢ − ȳ) / √(Σᵢ (xᵢ − x̄)² · Σᵢ (yᵢ − ȳ)²)`, with the means taken first
    /// (two passes, in `Double`).
    ///
    /// NaN when there are fewer than two points, when either vector is constant (a zero factor in
    /// the denominator, as `scipy.stats.pearsonr`), or when a value is not finite.
    public static func pearson<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> Double {
        checkCounts(x.count, y.count, "pearson")
        return pearson(x.map { Double($0) }, y.map { Double($0) })
    }

    /// Spearman's rank correlation: Pearson's `r` of the ranks of `x` and the ranks of `y`. Ranks
    /// are 1-based; tied values all get the mean of the ranks they span (values 10, 20, 20, 30
    /// rank 1, 2.5, 2.5, 4), as `scipy.stats.spearmanr`.
    ///
    /// NaN under the same conditions as `pearson` (fewer than two points, a constant vector, a
    /// value that is not finite).
    public static func spearman<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> Double {
        checkCounts(x.count, y.count, "spearman")
        let x = x.map { Double($0) }, y = y.map { Double($0) }
        guard x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else { return .nan }
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// 1-based ranks of `values`, ties sharing the mean of the ranks they span. Values must be
    /// finite (NaN has no place in an order).
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
            // Positions start..<end (0-based) hold ranks start+1 … end; their mean:
            let rank = Double(start + 1 + end) / 2
            for position in start..<end { ranks[order[position]] = rank }
            start = end
        }
        return ranks
    }

    private static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = x.count
        guard n >= 2, x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else { return .nan }
        // A constant vector is tested exactly: its rounded mean may differ from the value by an ulp,
        // which would leave a tiny, meaningless spread instead of the zero that makes r undefined.
        guard x.contains(where: { $0 != x[0] }), y.contains(where: { $0 != y[0] }) else { return .nan }
        let meanX = x.reduce(0, +) / Double(n)
        let meanY = y.reduce(0, +) / Double(n)
        var cross = 0.0, squaresX = 0.0, squaresY = 0.0
        for i in 0..<n {
            let dx = x[i] - meanX, dy = y[i] - meanY
            cross += dx * dy
            squaresX += dx * dx
            squaresY += dy * dy
        }
        guard squaresX > 0, squaresY > 0 else { return .nan }
        // One square root of the product, so that identical vectors give exactly 1; rounding can still
        // push |r| a hair past 1, so clamp to the mathematical range.
        return min(1, max(-1, cross / (squaresX * squaresY).squareRoot()))
    }

    private static func checkCounts(_ a: Int, _ b: Int, _ name: String) {
        precondition(a == b, "TaskMetrics.\(name): arrays of different lengths (\(a) and \(b))")
    }
}
