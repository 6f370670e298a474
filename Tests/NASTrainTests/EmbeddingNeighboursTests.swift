import XCTest
import NASTensor
import NASText
@testable import NASTrain

/// Embedding neighbours by hand: cosine order, the word itself, pieces and special tokens excluded, unknown words empty.
final class EmbeddingNeighboursTests: XCTestCase {
    func testNeighboursAreTheClosestWholeWordsByCosine() throws {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "great", "fine", "bad", "##ish", "a"]
        let tokenizer = try WordPieceTokenizer(tokens: tokens)
        // Rows: good (1, 0), great (3, 0.3) — cosine 0.995, fine (1, 1) — 0.707, bad (−1, 0) — −1, ##ish (1, 0) — 1 but a
        // piece, a (1, 0) — one letter; the specials point along good too and must not appear.
        let rows: [[Float]] = [[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [3, 0.3], [1, 1], [-1, 0], [1, 0], [1, 0]]
        let n = EmbeddingNeighbours(table: Tensor(shape: [11, 2], scalars: rows.flatMap { $0 }), tokenizer: tokenizer, count: 2)
        XCTAssertEqual(n("good"), ["great", "fine"])
        XCTAssertEqual(n("GOOD"), ["great", "fine"], "lowercased")
        XCTAssertEqual(n("bad"), ["fine", "great"], "cosines −0.707 (fine), −0.995 (great), −1 (good)")
        XCTAssertEqual(n("xyz"), [])
        XCTAssertEqual(n("a"), [], "one letter is no candidate")
    }
}
