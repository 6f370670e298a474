import Foundation
import NASModels
import NASTensor

/// A plain-text corpus (one document or paragraph per line, UTF-8), tokenised once into a stream.
public struct TextCorpus: Sendable {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case empty(path: String)
        case tooShort(path: String, tokens: Int, needed: Int)

        public var description: String {
            switch self {
            case .unreadable(let p, let r): return "\(p): cannot read the corpus (\(r))"
            case .empty(let p): return "\(p): the corpus has no text"
            case .tooShort(let p, let t, let n): return "\(p): the corpus has \(t) tokens, \(n) are needed"
            }
        }
    }

    public let path: String
    /// Token ids of the whole text, lines joined in order (no special tokens).
    public let tokens: [Int32]

    /// A corpus of already tokenised text (e.g. by `CharTokenizer`); `path` names it in errors.
    public init(tokens: [Int32], path: String) throws {
        if tokens.isEmpty { throw Failure.empty(path: path) }
        self.path = path
        self.tokens = tokens
    }

    /// Bytes of memory per byte of corpus text at most (the text, its lines and Int32 token ids; one
    /// token per character with the character tokenizer): what `MemoryBudget.requireFile` is given.
    public static let memoryPerByte = 8

    public init(contentsOf url: URL, tokenizer: WordPieceTokenizer) throws {
        path = url.path
        try MemoryBudget.requireFile(url, expansion: Self.memoryPerByte, what: "the corpus")
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw Failure.unreadable(path: url.path, reason: error.localizedDescription)
        }
        var ids: [Int32] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            ids += tokenizer.encode(String(trimmed))
        }
        if ids.isEmpty { throw Failure.empty(path: url.path) }
        tokens = ids
    }

    /// A fixed batch of `batchSize` sequences of `length` tokens, each `[CLS] … [SEP]` around
    /// `length − 2` consecutive corpus tokens, starting at seeded random offsets. No padding.
    public func encoderBatch(batchSize: Int, length: Int, cls: Int32, sep: Int32, seed: UInt64) throws -> TokenBatch {
        let span = length - 2
        precondition(span > 0 && batchSize > 0, "encoderBatch: length must exceed 2 and batchSize be positive")
        guard tokens.count > span else { throw Failure.tooShort(path: path, tokens: tokens.count, needed: span + 1) }
        var rng = RandomGenerator(seed: seed)
        var ids: [Int32] = []
        ids.reserveCapacity(batchSize * length)
        for _ in 0..<batchSize {
            let start = Int(rng.next() % UInt64(tokens.count - span))
            ids.append(cls)
            ids += tokens[start..<(start + span)]
            ids.append(sep)
        }
        return TokenBatch(ids: ids, batchSize: batchSize, length: length)
    }

    /// A fixed batch of `batchSize` windows of `length` consecutive tokens (decoders: no special
    /// tokens), starting at seeded random offsets.
    public func decoderBatch(batchSize: Int, length: Int, seed: UInt64) throws -> TokenBatch {
        precondition(length > 1 && batchSize > 0, "decoderBatch: length must exceed 1 and batchSize be positive")
        guard tokens.count > length else { throw Failure.tooShort(path: path, tokens: tokens.count, needed: length + 1) }
        var rng = RandomGenerator(seed: seed)
        var ids: [Int32] = []
        ids.reserveCapacity(batchSize * length)
        for _ in 0..<batchSize {
            let start = Int(rng.next() % UInt64(tokens.count - length))
            ids += tokens[start..<(start + length)]
        }
        return TokenBatch(ids: ids, batchSize: batchSize, length: length)
    }
}
