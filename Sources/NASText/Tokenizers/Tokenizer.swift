import Foundation

/// A text tokenizer: text in, token ids out, and back.
///
/// `WordPieceTokenizer` (BERT uncased, `vocab.txt`) and `CharTokenizer` (one id per Unicode scalar,
/// for small character LMs) conform. `encode` is declared `throws` because a character vocabulary
/// cannot represent an unseen character; WordPiece maps unknown words to `[UNK]` and never throws.
public protocol Tokenizer: Sendable {
    /// Number of ids; every id produced by `encode` lies in `0..<vocabSize`.
    var vocabSize: Int { get }
    /// Token ids of `text`, without special tokens.
    func encode(_ text: String) throws -> [Int32]
    /// Text of `ids`. Ids outside the vocabulary decode to a replacement (documented per type).
    func decode(_ ids: [Int32]) -> String
}

/// Errors of the tokenizers. Every file error names the file (and the line where it applies).
public enum TokenizerError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The vocabulary file is missing, unreadable or not UTF-8.
    case unreadableVocabulary(path: String, reason: String)
    /// The vocabulary file holds no token.
    case emptyVocabulary(path: String)
    /// A token appears twice (lines are 1-based).
    case duplicateToken(path: String, token: String, line: Int, firstLine: Int)
    /// A required special token such as `[UNK]` is absent.
    case missingSpecialToken(path: String, token: String)
    /// A character vocabulary file is malformed.
    case invalidCharacterVocabulary(path: String, reason: String)
    /// Encoding with a character vocabulary met a character it does not hold.
    case unknownCharacter(Unicode.Scalar, offset: Int)
    /// A sequence does not fit the fixed length it must be padded to.
    case sequenceTooLong(index: Int, length: Int, limit: Int)
    /// The first and second segments of a batch differ in count.
    case batchSizeMismatch(first: Int, second: Int)

    public var description: String {
        switch self {
        case let .unreadableVocabulary(path, reason):
            return "cannot read vocabulary file \(path): \(reason)"
        case let .emptyVocabulary(path):
            return "vocabulary file \(path) holds no token"
        case let .duplicateToken(path, token, line, firstLine):
            return "vocabulary file \(path), line \(line): duplicate token \"\(token)\" (first on line \(firstLine))"
        case let .missingSpecialToken(path, token):
            return "vocabulary file \(path) lacks the required special token \(token)"
        case let .invalidCharacterVocabulary(path, reason):
            return "character vocabulary file \(path) is invalid: \(reason)"
        case let .unknownCharacter(scalar, offset):
            return "character \(CharTokenizer.describe(scalar)) at offset \(offset) is not in the character vocabulary"
        case let .sequenceTooLong(index, length, limit):
            return "sequence \(index) has \(length) tokens, more than the fixed length \(limit)"
        case let .batchSizeMismatch(first, second):
            return "batch has \(first) first segments but \(second) second segments"
        }
    }

    public var errorDescription: String? { description }
}
