import XCTest
@testable import NASTensor

/// Dropout drawn through generators carrying `BatchShard`s: the ranks' shards, laid end to end, have
/// exactly the mask of the whole batch, and every rank's generator ends where the unsharded one does.
final class BatchShardTests: XCTestCase {
    func testShardsSplitTheBatchContiguously() {
        let shards = (0..<3).map { BatchShard(total: 7, rank: $0, ranks: 3) }
        XCTAssertEqual(shards.map(\.rows), [0..<2, 2..<4, 4..<7])
        XCTAssertEqual(BatchShard(total: 4, rank: 1, ranks: 2).rows, 2..<4)
    }

    func testShardedDropoutEqualsTheWholeBatchsRows() {
        let rows = 5, perRow = 3 * 8   // e.g. [B, T, H] = [5, 3, 8]
        let x = Tensor(shape: [rows, 3, 8], scalars: (0..<(rows * perRow)).map { Float($0 % 17) + 1 })
        var whole = RandomGenerator(seed: 11)
        _ = whole.next()
        let reference = x.dropout(p: 0.3, using: &whole).scalars
        for ranks in [1, 2, 3] {
            var pieces: [Float] = []
            for rank in 0..<ranks {
                let shard = BatchShard(total: rows, rank: rank, ranks: ranks)
                var rng = RandomGenerator(seed: 11)
                _ = rng.next()
                rng.batchShard = shard
                let part = Tensor(shape: [shard.count, 3, 8], scalars: Array(x.scalars[(shard.offset * perRow)..<((shard.offset + shard.count) * perRow)]))
                pieces += part.dropout(p: 0.3, using: &rng).scalars
                XCTAssertEqual(rng.counter, whole.counter, "rank \(rank) of \(ranks): the generator ends where the whole batch's does")
            }
            XCTAssertEqual(pieces, reference, "\(ranks) ranks")
        }
        // A shard is not a whole batch: its rows draw other numbers than an unsharded batch of its size.
        var plain = RandomGenerator(seed: 11)
        _ = plain.next()
        let second = Tensor(shape: [2, 3, 8], scalars: Array(x.scalars[(3 * perRow)..<(5 * perRow)]))
        XCTAssertNotEqual(second.dropout(p: 0.3, using: &plain).scalars, Array(reference[(3 * perRow)...]))
    }

    func testTheShardIsNotPartOfTheSavedState() throws {
        var rng = RandomGenerator(seed: 5)
        rng.batchShard = BatchShard(total: 4, rank: 1, ranks: 2)
        let decoded = try JSONDecoder().decode(RandomGenerator.self, from: JSONEncoder().encode(rng))
        XCTAssertNil(decoded.batchShard)
        XCTAssertEqual(decoded.counter, rng.counter)
        XCTAssertEqual(decoded.key, rng.key)
    }
}
