/// The rows of a global batch that one rank of a data-parallel job holds: rows `offset ..< offset + count`
/// of `total`, contiguous, so that the K ranks' shards laid end to end are the batch.
///
/// Randomness that is drawn per element of a batch-major tensor (dropout masks) is keyed by the *global*
/// row: a generator carrying a shard (`RandomGenerator.batchShard`) reserves the counters of the whole
/// batch and draws the ones of its own rows, so a rank sees exactly the numbers the unsharded step would
/// have drawn for those rows, and every rank's generator stays at the same position. The result of a
/// step therefore does not depend on how many ranks share it.
public struct BatchShard: Codable, Equatable, Sendable {
    public let offset: Int
    public let count: Int
    public let total: Int

    public init(offset: Int, count: Int, total: Int) {
        precondition(offset >= 0 && count > 0 && offset + count <= total, "BatchShard: rows \(offset) ..< \(offset + count) of \(total)")
        self.offset = offset; self.count = count; self.total = total
    }

    /// Rank `rank`'s shard of `total` rows split over `ranks`: rows ⌊total·r/K⌋ ..< ⌊total·(r+1)/K⌋ (sizes
    /// differ by at most one; every rank needs at least one row).
    public init(total: Int, rank: Int, ranks: Int) {
        precondition(ranks > 0 && rank >= 0 && rank < ranks && total >= ranks, "BatchShard: \(total) rows over \(ranks) ranks")
        let lo = total * rank / ranks, hi = total * (rank + 1) / ranks
        self.init(offset: lo, count: hi - lo, total: total)
    }

    /// The rows as a range of the global batch.
    public var rows: Range<Int> { offset ..< offset + count }

    /// The first counter of this shard's draws and the counters the whole batch takes, for a batch-major
    /// tensor of `elements` values (this shard's rows): each row takes elements / count counters.
    func counters(elements: Int) -> (skip: Int, reserve: Int) {
        precondition(elements % count == 0, "BatchShard: \(elements) elements do not split into \(count) rows")
        let perRow = elements / count
        return (perRow * offset, perRow * total)
    }
}
