import Foundation
import NASModels
import NASText

/// The tokenizer a model reads text with: BERT's WordPiece (a `vocab.txt`) or characters (a
/// `char-tokenizer.json`), as stored beside a checkpoint's weights.
public enum TextTokenizer {
    case wordPiece(WordPieceTokenizer, file: URL)
    case characters(CharTokenizer, file: URL)

    /// The file name of a character vocabulary beside a checkpoint's weights.
    public static let characterFile = "char-tokenizer.json"

    /// Entries of the vocabulary (the model's `vocabSize` must equal it).
    public var vocabSize: Int {
        switch self {
        case .wordPiece(let t, _): return t.vocabSize
        case .characters(let t, _): return t.vocabSize
        }
    }

    /// The vocabulary file.
    public var file: URL {
        switch self {
        case .wordPiece(_, let f), .characters(_, let f): return f
        }
    }

    /// The ids of a text: WordPiece line by line (blank lines skipped, no special tokens), or every character.
    public func encode(_ text: String) throws -> [Int32] {
        switch self {
        case .wordPiece(let t, _):
            return text.split(separator: "\n", omittingEmptySubsequences: true).flatMap { line -> [Int32] in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.isEmpty ? [] : t.encode(trimmed)
            }
        case .characters(let t, _):
            return try t.encode(text)
        }
    }

    /// The tokenizer stored in a checkpoint folder (`vocab.txt` first, then `char-tokenizer.json`).
    public static func stored(in folder: URL) throws -> TextTokenizer {
        let vocab = folder.appendingPathComponent("vocab.txt"), chars = folder.appendingPathComponent(characterFile)
        if FileManager.default.fileExists(atPath: vocab.path) { return .wordPiece(try WordPieceTokenizer(vocabularyURL: vocab), file: vocab) }
        if FileManager.default.fileExists(atPath: chars.path) { return .characters(try CharTokenizer(contentsOf: chars), file: chars) }
        throw TrainingInputError(file: folder.path, "no vocab.txt or \(characterFile), so the checkpoint's tokenizer is unknown")
    }

    /// Checks that the model's embedding table matches the tokenizer; `source` names the model in the error.
    public func check(_ arch: Architecture, source: String) throws {
        guard arch.vocabSize == vocabSize else {
            throw TrainingInputError(field: "vocabSize",
                                     "vocabulary mismatch: \(source) has vocabSize \(arch.vocabSize), but the tokenizer \(file.path) "
                                     + "has \(vocabSize) entries; use the tokenizer the model was built for")
        }
    }
}
