import Foundation

/// Character-level tokenizer for small character LMs (e.g. Tiny Shakespeare).
///
/// A "character" is a Unicode scalar (as Python's `sorted(set(text))` sees it), so "\r\n" is two
/// ids. Built from a training text, the vocabulary is its unique scalars sorted by code point and
/// the id of a scalar is its position. Loaded from JSON, ids follow the order stored in the file.
///
/// Unknown characters: `encode` throws `TokenizerError.unknownCharacter`, naming the character
/// and its scalar offset; there is no unknown id. `decode` maps ids out of range to U+FFFD.
public struct CharTokenizer: Tokenizer, Equatable {
    /// Scalars by id.
    public let characters: [Unicode.Scalar]
    private let asciiIds: [Int32]                 // 128 entries, -1 when absent
    private let otherIds: [UInt32: Int32]

    public var vocabSize: Int { characters.count }

    /// The vocabulary of `text`: its unique scalars, sorted by code point.
    public init(training text: String) {
        self.init(uniqueSorted: Set(text.unicodeScalars.map(\.value)).sorted())
    }

    /// A vocabulary of the given scalars, deduplicated and sorted by code point.
    public init<S: Sequence>(characters: S) where S.Element == Unicode.Scalar {
        self.init(uniqueSorted: Set(characters.map(\.value)).sorted())
    }

    private init(uniqueSorted values: [UInt32]) {
        try! self.init(ordered: values.map { Unicode.Scalar($0)! }, source: "")
    }

    /// Scalars in id order; duplicates are an error.
    private init(ordered characters: [Unicode.Scalar], source: String) throws {
        var ascii = [Int32](repeating: -1, count: 128)
        var other: [UInt32: Int32] = [:]
        for (index, scalar) in characters.enumerated() {
            let id = Int32(index)
            let known = scalar.isASCII ? ascii[Int(scalar.value)] >= 0 : other[scalar.value] != nil
            if known {
                throw TokenizerError.invalidCharacterVocabulary(
                    path: source, reason: "character \(Self.describe(scalar)) appears twice (entry \(index))")
            }
            if scalar.isASCII { ascii[Int(scalar.value)] = id } else { other[scalar.value] = id }
        }
        self.characters = characters
        self.asciiIds = ascii
        self.otherIds = other
    }

    /// The id of `scalar`, if in the vocabulary.
    public func id(for scalar: Unicode.Scalar) -> Int32? {
        if scalar.isASCII {
            let id = asciiIds[Int(scalar.value)]
            return id >= 0 ? id : nil
        }
        return otherIds[scalar.value]
    }

    /// One id per Unicode scalar of `text`; throws `TokenizerError.unknownCharacter` on a scalar
    /// outside the vocabulary.
    public func encode(_ text: String) throws -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count)
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            guard let id = id(for: scalar) else {
                throw TokenizerError.unknownCharacter(scalar, offset: offset)
            }
            ids.append(id)
        }
        return ids
    }

    /// The text of `ids`; ids out of range decode to U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        var text = String()
        text.unicodeScalars.reserveCapacity(ids.count)
        for id in ids {
            text.unicodeScalars.append(
                (id >= 0 && Int(id) < characters.count) ? characters[Int(id)] : "\u{FFFD}")
        }
        return text
    }

    // MARK: JSON

    /// File format: `{"format": "swiftnas-char-tokenizer", "version": 1, "characters": ["\n", " ", …]}`,
    /// one single-scalar string per id.
    public static let fileFormat = "swiftnas-char-tokenizer"

    private struct File: Codable {
        var format: String
        var version: Int
        var characters: [String]
    }

    /// Loads a vocabulary saved by `save(to:)`.
    public init(contentsOf url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError.invalidCharacterVocabulary(path: path, reason: "no such file")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        } catch {
            throw TokenizerError.invalidCharacterVocabulary(path: path, reason: "\(error)")
        }
        guard file.format == Self.fileFormat else {
            throw TokenizerError.invalidCharacterVocabulary(
                path: path, reason: "format is \"\(file.format)\", expected \"\(Self.fileFormat)\"")
        }
        guard file.version == 1 else {
            throw TokenizerError.invalidCharacterVocabulary(path: path, reason: "unsupported version \(file.version)")
        }
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(file.characters.count)
        for (index, entry) in file.characters.enumerated() {
            let entryScalars = Array(entry.unicodeScalars)
            guard entryScalars.count == 1 else {
                throw TokenizerError.invalidCharacterVocabulary(
                    path: path, reason: "entry \(index) holds \(entryScalars.count) scalars, expected 1")
            }
            scalars.append(entryScalars[0])
        }
        try self.init(ordered: scalars, source: path)
    }

    /// Writes the vocabulary as JSON: to a temporary file beside `url`, then renamed over it, so a
    /// reader never sees a partial file.
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(format: Self.fileFormat, version: 1,
                                           characters: characters.map { String($0) }))
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw TokenizerError.invalidCharacterVocabulary(path: url.path, reason: "cannot rename temporary file: \(reason)")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// `'x' (U+0078)`, with control characters escaped.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return "'\(scalar.escaped(asASCII: false))' (\(code))"
    }
}
