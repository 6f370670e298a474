import XCTest
@testable import NASText

/// Each expected value is worked out by hand in the comment beside it.
final class TaskMetricsTests: XCTestCase {
    // MARK: Accuracy

    func testAccuracyCountsMatches() {
        // Matches at positions 0, 2, 4: 3 of 5.
        XCTAssertEqual(TaskMetrics.accuracy(predictions: [1, 0, 1, 1, 0], labels: [1, 1, 1, 0, 0]), 0.6, accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.accuracy(predictions: [0, 1], labels: [0, 1]), 1)
        XCTAssertEqual(TaskMetrics.accuracy(predictions: [1, 0], labels: [0, 1]), 0)
        // Classes other than 0 and 1 compare by equality too: 2 = 2 matches, 2 ≠ 1 does not.
        XCTAssertEqual(TaskMetrics.accuracy(predictions: [2, 2], labels: [2, 1]), 0.5)
    }

    func testAccuracyOfNothingIsNaN() {
        XCTAssertTrue(TaskMetrics.accuracy(predictions: [], labels: []).isNaN)
    }

    // MARK: F1

    func testF1FromCounts() {
        // predictions 1 0 1 1 0 / labels 1 1 1 0 0: TP = 2 (positions 0, 2), FP = 1 (3), FN = 1 (1).
        // precision = 2/3, recall = 2/3, F1 = 2·2 / (2·2 + 1 + 1) = 4/6 = 2/3.
        XCTAssertEqual(TaskMetrics.f1(predictions: [1, 0, 1, 1, 0], labels: [1, 1, 1, 0, 0]), 2.0 / 3, accuracy: 1e-12)
        // Everything predicted positive, one true positive: TP = 1, FP = 3, FN = 0.
        // precision = 1/4, recall = 1; F1 = 2·(1/4)·1 / (1/4 + 1) = 0.5 / 1.25 = 0.4 = 2 / (2 + 3).
        XCTAssertEqual(TaskMetrics.f1(predictions: [1, 1, 1, 1], labels: [1, 0, 0, 0]), 0.4, accuracy: 1e-12)
        // Precision 1, recall 1/3: TP = 1, FP = 0, FN = 2 → F1 = 2 / (2 + 0 + 2) = 0.5.
        XCTAssertEqual(TaskMetrics.f1(predictions: [1, 0, 0, 0], labels: [1, 1, 1, 0]), 0.5, accuracy: 1e-12)
        // The positive class is 1, not 0: swapping the roles of 0 and 1 in the first case gives
        // TP = 1 (position 4), FP = 1 (1), FN = 1 (3) → F1 = 2 / (2 + 1 + 1) = 0.5, not 2/3.
        XCTAssertEqual(TaskMetrics.f1(predictions: [0, 1, 0, 0, 1], labels: [0, 0, 0, 1, 1]), 0.5, accuracy: 1e-12)
    }

    func testF1IsZeroWithoutTruePositives() {
        // Nothing predicted positive: TP = 0 → 0 (documented; precision would be 0/0).
        XCTAssertEqual(TaskMetrics.f1(predictions: [0, 0, 0], labels: [1, 0, 1]), 0)
        // No positive label and none predicted: 0/0 → 0.
        XCTAssertEqual(TaskMetrics.f1(predictions: [0, 0], labels: [0, 0]), 0)
        // Positives predicted, none true: TP = 0 → 0.
        XCTAssertEqual(TaskMetrics.f1(predictions: [1, 1], labels: [0, 0]), 0)
        XCTAssertEqual(TaskMetrics.f1(predictions: [], labels: []), 0)
    }

    // MARK: Matthews correlation

    func testMatthewsCorrelationOfATwoByTwoMatrix() {
        // Labels 1 1 1 1 1 0 0 0 0 0 against predictions 1 1 1 0 0 1 0 0 0 0:
        //                predicted 1   predicted 0
        //   label 1        TP = 3        FN = 2
        //   label 0        FP = 1        TN = 4
        // MCC = (3·4 − 1·2) / √((3+1)(3+2)(4+1)(4+2)) = 10 / √600 = 1/√6 ≈ 0.408248.
        let labels = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
        let predictions = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: predictions, labels: labels),
                       1 / 6.0.squareRoot(), accuracy: 1e-12)
        // Order does not matter; swapping the classes everywhere keeps the value (TP ↔ TN, FP ↔ FN).
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: predictions.map { 1 - $0 }, labels: labels.map { 1 - $0 }),
                       1 / 6.0.squareRoot(), accuracy: 1e-12)
        // Perfect agreement → 1; perfect disagreement → (0·0 − 2·2) / √(2·2·2·2) = −1.
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: [1, 0, 1, 0], labels: [1, 0, 1, 0]), 1, accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: [0, 1, 0, 1], labels: [1, 0, 1, 0]), -1, accuracy: 1e-12)
    }

    func testMatthewsCorrelationOfThreeClasses() {
        // Labels 0 0 1 2, predictions 0 1 1 2: s = 4, c = 3 correct, label counts t = (2, 1, 1),
        // prediction counts p = (1, 2, 1). Σ p·t = 2 + 2 + 1 = 5; s² − Σp² = 16 − 6 = 10;
        // s² − Σt² = 16 − 6 = 10. MCC = (3·4 − 5) / √(10·10) = 7/10.
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: [0, 1, 1, 2], labels: [0, 0, 1, 2]), 0.7, accuracy: 1e-12)
    }

    func testMatthewsCorrelationIsZeroWhenADenominatorFactorIsZero() {
        // All predictions 0: TP + FP = 0 → 0 (as scikit-learn), even though accuracy is 3/4.
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: [0, 0, 0, 0], labels: [1, 0, 0, 0]), 0)
        // All labels 1: no label 0, so TN + FP = 0 → 0.
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: [1, 0, 1, 1], labels: [1, 1, 1, 1]), 0)
        XCTAssertEqual(TaskMetrics.matthewsCorrelation(predictions: [], labels: []), 0)
    }

    // MARK: Pearson

    func testPearsonWorkedOut() {
        // x = 1 2 3 4 (mean 2.5), y = 2 4 5 9 (mean 5).
        // x − x̄ = −1.5 −0.5 0.5 1.5; y − ȳ = −3 −1 0 4.
        // Σ dx·dy = 4.5 + 0.5 + 0 + 6 = 11; Σ dx² = 5; Σ dy² = 9 + 1 + 0 + 16 = 26.
        // r = 11 / √(5·26) = 11 / √130 ≈ 0.964764.
        let r = TaskMetrics.pearson([1, 2, 3, 4] as [Double], [2, 4, 5, 9])
        XCTAssertEqual(r, 11 / 130.0.squareRoot(), accuracy: 1e-12)
        // Float input gives the same value (computed in Double).
        XCTAssertEqual(TaskMetrics.pearson([1, 2, 3, 4] as [Float], [2, 4, 5, 9]), r, accuracy: 1e-12)
        // Exact linear relations: y = 2x + 1 → 1, y = −x → −1.
        XCTAssertEqual(TaskMetrics.pearson([1, 2, 3] as [Double], [3, 5, 7]), 1, accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.pearson([1, 2, 3] as [Double], [-1, -2, -3]), -1, accuracy: 1e-12)
    }

    func testPearsonIsNaNWhenUndefined() {
        // A constant vector has Σ dx² = 0. 0.1 is not exact in binary, so its mean is an ulp off;
        // the value must still be NaN, not a number made of rounding noise.
        XCTAssertTrue(TaskMetrics.pearson([0.1, 0.1, 0.1] as [Double], [1, 2, 3]).isNaN)
        XCTAssertTrue(TaskMetrics.pearson([1, 2, 3] as [Double], [2, 2, 2]).isNaN)
        XCTAssertTrue(TaskMetrics.pearson([1] as [Double], [2]).isNaN)
        XCTAssertTrue(TaskMetrics.pearson([] as [Double], []).isNaN)
        XCTAssertTrue(TaskMetrics.pearson([1, .nan, 3] as [Double], [1, 2, 3]).isNaN)
        XCTAssertTrue(TaskMetrics.pearson([1, 2, 3] as [Float], [1, .infinity, 3]).isNaN)
    }

    // MARK: Spearman

    func testAverageRanksShareTies() {
        // Sorted: 10 (index 1), 10 (4), 20 (2), 20 (3), 30 (0): ranks 1, 2 → 1.5 each; 3, 4 → 3.5 each; 5.
        XCTAssertEqual(TaskMetrics.averageRanks([30, 10, 20, 20, 10]), [5, 1.5, 3.5, 3.5, 1.5])
        // Three-way tie over ranks 2, 3, 4 → 3.
        XCTAssertEqual(TaskMetrics.averageRanks([0, 7, 7, 7]), [1, 3, 3, 3])
        XCTAssertEqual(TaskMetrics.averageRanks([]), [])
    }

    func testSpearmanWithoutTies() {
        // x = 1 2 3 4 5, y = 2 1 4 3 5: rank differences d = −1 1 −1 1 0, Σd² = 4;
        // with no ties ρ = 1 − 6Σd² / (n(n² − 1)) = 1 − 24/120 = 0.8.
        XCTAssertEqual(TaskMetrics.spearman([1, 2, 3, 4, 5] as [Double], [2, 1, 4, 3, 5]), 0.8, accuracy: 1e-12)
        // Monotone but not linear: ρ = 1 while Pearson's r < 1.
        XCTAssertEqual(TaskMetrics.spearman([1, 2, 3, 4] as [Double], [1, 8, 27, 64]), 1, accuracy: 1e-12)
        XCTAssertLessThan(TaskMetrics.pearson([1, 2, 3, 4] as [Double], [1, 8, 27, 64]), 0.99)
    }

    func testSpearmanWithTies() {
        // x = 10 20 20 30 → ranks 1 2.5 2.5 4; y = 1 3 2 4 → ranks 1 3 2 4. Both rank means are 2.5.
        // dx = −1.5 0 0 1.5; dy = −1.5 0.5 −0.5 1.5.
        // Σ dx·dy = 2.25 + 0 + 0 + 2.25 = 4.5; Σ dx² = 4.5; Σ dy² = 2.25 + 0.25 + 0.25 + 2.25 = 5.
        // ρ = 4.5 / √(4.5·5) = √(4.5/5) = √0.9 ≈ 0.948683.
        XCTAssertEqual(TaskMetrics.spearman([10, 20, 20, 30] as [Double], [1, 3, 2, 4]), 0.9.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(TaskMetrics.spearman([10, 20, 20, 30] as [Float], [1, 3, 2, 4]), 0.9.squareRoot(), accuracy: 1e-12)
    }

    func testSpearmanIsNaNWhenUndefined() {
        XCTAssertTrue(TaskMetrics.spearman([3, 3, 3] as [Double], [1, 2, 3]).isNaN)
        XCTAssertTrue(TaskMetrics.spearman([1] as [Double], [1]).isNaN)
        XCTAssertTrue(TaskMetrics.spearman([1, .nan, 2] as [Double], [1, 2, 3]).isNaN)
    }
}
