import XCTest
@testable import NASText
import NASTensor

/// RandAugment for text: N = 0 or M = 0 is the identity, a seed fixes the result, and every operation changes
/// round(M/20 · n) words to within one.
final class TextAugmentationTests: XCTestCase {
    let sentence = (0..<20).map { "w\($0)" }.joined(separator: " ")
    let synonyms: (String) -> [String] = { ["\($0)a", "\($0)b"] }

    func augmentation(_ n: Int, _ m: Int) -> TextAugmentation {
        var a = TextAugmentation(count: n, magnitude: m, synonyms: synonyms)
        a.fitTFIDF([sentence, "w1 w2 w3 common", "common words here", "common"])
        return a
    }

    func testZeroCountOrMagnitudeIsTheIdentity() {
        var rng = RandomGenerator(seed: 1)
        XCTAssertEqual(augmentation(0, 7).apply(sentence, using: &rng), sentence)
        XCTAssertEqual(augmentation(3, 0).apply(sentence, using: &rng), sentence)
        XCTAssertEqual(Set(augmentation(1, 5).operations), Set(TextAugmentation.Operation.allCases))
        XCTAssertEqual(TextAugmentation(count: 1, magnitude: 5).operations, [.swap, .adjacentSwap, .deletion, .spanDeletion, .mask],
                       "no synonyms, no TF-IDF: the five operations that need nothing")
    }

    func testSeededAndDifferentAcrossSeeds() {
        let a = augmentation(2, 6)
        var r1 = RandomGenerator(seed: 4), r2 = RandomGenerator(seed: 4), r3 = RandomGenerator(seed: 5)
        let x = (0..<10).map { _ in a.apply(sentence, using: &r1) }
        XCTAssertEqual(x, (0..<10).map { _ in a.apply(sentence, using: &r2) })
        XCTAssertNotEqual(x, (0..<10).map { _ in a.apply(sentence, using: &r3) })
        XCTAssertTrue(x.allSatisfy { $0 != sentence })
    }

    /// Changed words: positions that differ for same-length results, the length difference for insertions and
    /// deletions; 20 distinct words, so every swap and replacement shows.
    func testEveryOperationChangesItsShareOfWords() {
        let words = TextAugmentation.words(sentence)
        for m in [1, 3, 5, 8, 10] {
            let a = augmentation(1, m), k = Int((Double(m) / 20 * 20).rounded())
            XCTAssertEqual(a.changedWords(20), k)
            for op in TextAugmentation.Operation.allCases {
                for seed in 0..<5 {
                    var rng = RandomGenerator(seed: UInt64(seed))
                    let out = a.apply(op, to: words, using: &rng)
                    let changed = out.count == words.count ? zip(out, words).filter { $0 != $1 }.count : abs(out.count - words.count)
                    XCTAssertLessThanOrEqual(abs(changed - k), 1, "\(op) at M = \(m): \(changed) changed, target \(k)")
                    if op == .mask { XCTAssertEqual(out.filter { $0 == "[MASK]" }.count, k) }
                    if op == .spanDeletion, let first = out.firstIndex(where: { !words.contains($0) }) { XCTFail("span deletion invented \(out[first])") }
                }
            }
        }
    }
}
