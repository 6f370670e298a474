/// A batch of token sequences, flattened row-major [batchSize, length], ready for a model.
public struct TokenBatch: Sendable {
    public var ids: [Int32]
    /// Segment ids (BERT token types); nil means all 0.
    public var typeIds: [Int32]?
    /// 1 for a real token, 0 for padding; nil means no padding.
    public var attentionMask: [Float]?
    public let batchSize: Int
    public let length: Int

    public init(ids: [Int32], typeIds: [Int32]? = nil, attentionMask: [Float]? = nil, batchSize: Int, length: Int) {
        precondition(ids.count == batchSize * length, "TokenBatch: \(ids.count) ids for [\(batchSize), \(length)]")
        precondition(typeIds.map { $0.count == ids.count } ?? true, "TokenBatch: typeIds count differs from ids")
        precondition(attentionMask.map { $0.count == ids.count } ?? true, "TokenBatch: attentionMask count differs from ids")
        self.ids = ids
        self.typeIds = typeIds
        self.attentionMask = attentionMask
        self.batchSize = batchSize
        self.length = length
    }

    /// Rows `range` of the batch (e.g. one data-parallel rank's shard), ids, types and mask alike.
    public func rows(_ range: Range<Int>) -> TokenBatch {
        precondition(range.lowerBound >= 0 && range.upperBound <= batchSize && !range.isEmpty, "TokenBatch.rows: \(range) of \(batchSize) rows")
        let span = (range.lowerBound * length) ..< (range.upperBound * length)
        return TokenBatch(ids: Array(ids[span]), typeIds: typeIds.map { Array($0[span]) }, attentionMask: attentionMask.map { Array($0[span]) },
                          batchSize: range.count, length: length)
    }
}
