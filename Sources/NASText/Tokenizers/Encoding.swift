/// One encoded example, BERT style: ids, token type (segment) ids and attention mask, all of the
/// same length. Padding positions carry the pad id, token type 0 and mask 0.
public struct Encoding: Equatable, Sendable {
    public var ids: [Int32]
    public var tokenTypeIds: [Int32]
    public var attentionMask: [Int32]

    public init(ids: [Int32], tokenTypeIds: [Int32], attentionMask: [Int32]) {
        precondition(ids.count == tokenTypeIds.count && ids.count == attentionMask.count,
                     "Encoding: ids, tokenTypeIds and attentionMask must have the same length")
        self.ids = ids
        self.tokenTypeIds = tokenTypeIds
        self.attentionMask = attentionMask
    }

    /// Number of positions, padding included.
    public var count: Int { ids.count }

    /// Appends padding (pad id, type 0, mask 0) up to `length`; longer encodings are left as they are.
    public mutating func pad(to length: Int, padId: Int32) {
        let extra = length - ids.count
        guard extra > 0 else { return }
        ids.append(contentsOf: repeatElement(padId, count: extra))
        tokenTypeIds.append(contentsOf: repeatElement(0, count: extra))
        attentionMask.append(contentsOf: repeatElement(0, count: extra))
    }
}

/// How a pair of segments is shortened to fit a maximum length.
public enum Truncation: String, Sendable, Codable, CaseIterable {
    /// Remove one token at a time from the end of the longer segment (the second on a tie),
    /// until the pair fits: Hugging Face's "longest_first".
    case longestFirst = "longest_first"
    /// Remove tokens only from the first segment.
    case onlyFirst = "only_first"
    /// Remove tokens only from the second segment (a single segment is then not truncated).
    case onlySecond = "only_second"
}

/// A batch of encodings padded to one length, as flat row-major `[batchSize, sequenceLength]`
/// arrays ready for a model.
public struct EncodedBatch: Equatable, Sendable {
    public var ids: [Int32]
    public var tokenTypeIds: [Int32]
    public var attentionMask: [Int32]
    public let batchSize: Int
    public let sequenceLength: Int

    /// `[batchSize, sequenceLength]`.
    public var shape: [Int] { [batchSize, sequenceLength] }

    /// Pads `encodings` to the longest one, or to `length` when given (then every encoding must fit
    /// it, else `TokenizerError.sequenceTooLong`).
    public init(padding encodings: [Encoding], to length: Int? = nil, padId: Int32) throws {
        let longest = encodings.map(\.count).max() ?? 0
        let width = length ?? longest
        if let length, let index = encodings.firstIndex(where: { $0.count > length }) {
            throw TokenizerError.sequenceTooLong(index: index, length: encodings[index].count, limit: length)
        }
        batchSize = encodings.count
        sequenceLength = width
        let total = batchSize * width
        ids = []
        tokenTypeIds = []
        attentionMask = []
        ids.reserveCapacity(total)
        tokenTypeIds.reserveCapacity(total)
        attentionMask.reserveCapacity(total)
        for encoding in encodings {
            let extra = width - encoding.count
            ids.append(contentsOf: encoding.ids)
            ids.append(contentsOf: repeatElement(padId, count: extra))
            tokenTypeIds.append(contentsOf: encoding.tokenTypeIds)
            tokenTypeIds.append(contentsOf: repeatElement(0, count: extra))
            attentionMask.append(contentsOf: encoding.attentionMask)
            attentionMask.append(contentsOf: repeatElement(0, count: extra))
        }
    }

    /// Row `index` of the batch as an `Encoding` (padding included).
    public func row(_ index: Int) -> Encoding {
        let range = (index * sequenceLength)..<((index + 1) * sequenceLength)
        return Encoding(ids: Array(ids[range]), tokenTypeIds: Array(tokenTypeIds[range]),
                        attentionMask: Array(attentionMask[range]))
    }
}
