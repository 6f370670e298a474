import Foundation
import NASTensor

/// BERT WordPiece tokenizer over a `vocab.txt` (one token per line, id = 0-based line number).
///
/// Text goes through `BasicTokenizer` (clean, CJK split, lowercase + strip accents, punctuation
/// split); each word is then cut greedily, longest match first, into vocabulary pieces, pieces
/// after the first carrying the "##" prefix. A word longer than `maxInputCharsPerWord` Unicode
/// scalars, or one that cannot be cut completely, becomes a single `[UNK]`.
///
/// Tokens are compared scalar by scalar (not by Swift's canonical-equivalence `String ==`), as
/// the reference implementation compares code points. The vocabulary is held as a trie over
/// Unicode scalars (edges in one `[UInt64: Int32]` dictionary), so the longest match at a
/// position costs one lookup per scalar instead of one substring hash per candidate length.
public struct WordPieceTokenizer: Tokenizer, Equatable {
    /// Special tokens every vocabulary must hold.
    public static let requiredSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    /// Prefix of a piece that continues a word.
    public static let continuationPrefix = "##"

    /// Tokens by id.
    public let tokens: [String]
    /// Where the vocabulary came from (a file path, or a note for an in-memory vocabulary).
    public let source: String
    /// The word-level splitter run before WordPiece.
    public let basic: BasicTokenizer
    /// Longer words (in Unicode scalars) map to `[UNK]`.
    public let maxInputCharsPerWord: Int

    public let padId: Int32
    public let unkId: Int32
    public let clsId: Int32
    public let sepId: Int32
    public let maskId: Int32

    private let trie: VocabularyTrie

    public var vocabSize: Int { tokens.count }

    // MARK: Loading

    /// Loads `vocab.txt` at `url`.
    public init(vocabularyURL url: URL, lowercase: Bool = true, maxInputCharsPerWord: Int = 100) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError.unreadableVocabulary(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw TokenizerError.unreadableVocabulary(path: path, reason: "is a directory")
        }
        try MemoryBudget.requireFile(url, expansion: 16, what: "the vocabulary")   // token strings and their index
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableVocabulary(path: path, reason: "\(error.localizedDescription)")
        }
        guard String(data: data, encoding: .utf8) != nil else {
            throw TokenizerError.unreadableVocabulary(path: path, reason: "not valid UTF-8")
        }
        try self.init(tokens: Self.lines(of: data), lowercase: lowercase,
                      maxInputCharsPerWord: maxInputCharsPerWord, source: path)
    }

    /// Loads `vocab.txt` at `path`.
    public init(vocabularyPath path: String, lowercase: Bool = true, maxInputCharsPerWord: Int = 100) throws {
        try self.init(vocabularyURL: URL(fileURLWithPath: path), lowercase: lowercase,
                      maxInputCharsPerWord: maxInputCharsPerWord)
    }

    /// Builds a tokenizer from tokens in id order; `source` names them in errors.
    public init(tokens: [String], lowercase: Bool = true, maxInputCharsPerWord: Int = 100,
                source: String = "<in-memory vocabulary>") throws {
        guard !tokens.isEmpty, !(tokens.count == 1 && tokens[0].isEmpty) else {
            throw TokenizerError.emptyVocabulary(path: source)
        }
        guard tokens.count <= Int(Int32.max) else {
            throw TokenizerError.unreadableVocabulary(path: source, reason: "more than \(Int32.max) tokens")
        }
        var trie = VocabularyTrie()
        for (index, token) in tokens.enumerated() {
            if let first = trie.insert(token, id: Int32(index)) {
                throw TokenizerError.duplicateToken(path: source, token: token, line: index + 1,
                                                    firstLine: Int(first) + 1)
            }
        }
        trie.continuationRoot = trie.node(after: Self.continuationPrefix.unicodeScalars, from: 0) ?? -1
        func id(_ token: String) throws -> Int32 {
            guard let id = trie.id(of: token) else {
                throw TokenizerError.missingSpecialToken(path: source, token: token)
            }
            return id
        }
        padId = try id("[PAD]")
        unkId = try id("[UNK]")
        clsId = try id("[CLS]")
        sepId = try id("[SEP]")
        maskId = try id("[MASK]")
        self.tokens = tokens
        self.source = source
        self.trie = trie
        self.basic = BasicTokenizer(lowercase: lowercase)
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Lines of a vocabulary file: split on "\n", a trailing "\r" and a leading BOM removed, the
    /// empty remainder after a final newline dropped.
    static func lines(of data: Data) -> [String] {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> String in
            var line = line[...]
            if line.last == 0x0D { line = line.dropLast() }
            return String(decoding: line, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    // MARK: Vocabulary

    /// The id of `token`, if the vocabulary holds it.
    public func id(for token: String) -> Int32? { trie.id(of: token) }

    /// The token of `id`, if in range.
    public func token(for id: Int32) -> String? {
        (id >= 0 && Int(id) < tokens.count) ? tokens[Int(id)] : nil
    }

    /// Ids of the five required special tokens.
    public var specialIds: Set<Int32> { [padId, unkId, clsId, sepId, maskId] }

    // MARK: Encoding

    /// Token ids of `text`, without special tokens.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        basic.forEachWord(in: text) { word in
            appendPieces(of: word, to: &ids)
        }
        return ids
    }

    /// WordPiece tokens of `text`, without special tokens.
    public func tokenize(_ text: String) -> [String] {
        encode(text).map { tokens[Int($0)] }
    }

    /// `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, with token types 0 for `[CLS] a [SEP]` and 1
    /// for `b [SEP]`. With `maxLength`, segments are truncated by `truncation` so the whole fits
    /// (if `maxLength` is below the number of special tokens, or the strategy cannot shorten
    /// enough, the segments are emptied as far as the strategy allows and the result stays longer).
    /// With `padTo`, the result is padded up to that length.
    public func encode(_ a: String, _ b: String? = nil, maxLength: Int? = nil, padTo: Int? = nil,
                       truncation: Truncation = .longestFirst) -> Encoding {
        encode(ids: encode(a), b.map { encode($0) }, maxLength: maxLength, padTo: padTo,
               truncation: truncation)
    }

    /// As `encode(_:_:maxLength:padTo:truncation:)`, from ids without special tokens.
    public func encode(ids first: [Int32], _ second: [Int32]? = nil, maxLength: Int? = nil,
                       padTo: Int? = nil, truncation: Truncation = .longestFirst) -> Encoding {
        var first = first
        var second = second
        if let maxLength {
            let budget = max(0, maxLength - (second == nil ? 2 : 3))
            Self.truncate(&first, &second, to: budget, strategy: truncation)
        }
        var ids: [Int32] = [clsId]
        ids.reserveCapacity(max(padTo ?? 0, first.count + (second?.count ?? 0) + 3))
        ids.append(contentsOf: first)
        ids.append(sepId)
        let firstCount = ids.count
        if let second {
            ids.append(contentsOf: second)
            ids.append(sepId)
        }
        var types = [Int32](repeating: 0, count: firstCount)
        types.append(contentsOf: repeatElement(1, count: ids.count - firstCount))
        var encoding = Encoding(ids: ids, tokenTypeIds: types,
                                attentionMask: [Int32](repeating: 1, count: ids.count))
        if let padTo { encoding.pad(to: padTo, padId: padId) }
        return encoding
    }

    /// Shortens the segments so their total length is at most `budget`.
    static func truncate(_ first: inout [Int32], _ second: inout [Int32]?, to budget: Int,
                         strategy: Truncation) {
        var n1 = first.count
        var n2 = second?.count ?? 0
        var excess = n1 + n2 - budget
        guard excess > 0 else { return }
        switch strategy {
        case .longestFirst:
            while excess > 0 {
                if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
                excess -= 1
            }
        case .onlyFirst:
            n1 = max(0, n1 - excess)
        case .onlySecond:
            n2 = max(0, n2 - excess)
        }
        first.removeLast(first.count - n1)
        if second != nil { second!.removeLast(second!.count - n2) }
    }

    /// Pads `encodings` into one batch: to the longest, or to `length` (each must fit it).
    public func batch(_ encodings: [Encoding], padTo length: Int? = nil) throws -> EncodedBatch {
        try EncodedBatch(padding: encodings, to: length, padId: padId)
    }

    /// Encodes single segments (or pairs, when `second` is given) with special tokens and pads them
    /// into one batch (to the longest, or to `padTo`).
    public func encodeBatch(_ first: [String], _ second: [String]? = nil, maxLength: Int? = nil,
                            padTo: Int? = nil, truncation: Truncation = .longestFirst) throws -> EncodedBatch {
        if let second, second.count != first.count {
            throw TokenizerError.batchSizeMismatch(first: first.count, second: second.count)
        }
        let encodings = first.indices.map { i in
            encode(first[i], second?[i], maxLength: maxLength, truncation: truncation)
        }
        return try batch(encodings, padTo: padTo)
    }

    // MARK: Decoding

    /// Tokens joined by spaces, "##" pieces merged into the previous token; special tokens kept.
    /// Ids out of range decode as `[UNK]`.
    public func decode(_ ids: [Int32]) -> String {
        decode(ids, skipSpecialTokens: false)
    }

    /// As `decode(_:)`; with `skipSpecialTokens`, [PAD], [UNK], [CLS], [SEP] and [MASK] are dropped.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        let special = skipSpecialTokens ? specialIds : []
        var text = ""
        for id in ids where !special.contains(id) {
            let token = token(for: id) ?? tokens[Int(unkId)]
            if !text.isEmpty && token.utf8.starts(with: Self.continuationPrefix.utf8) {
                text.unicodeScalars.append(contentsOf: token.unicodeScalars.dropFirst(2))
            } else {
                if !text.isEmpty { text.append(" ") }
                text.append(token)
            }
        }
        return text
    }

    // MARK: WordPiece

    /// Greedy longest-match-first cut of one word; the whole word becomes [UNK] if any part fails.
    private func appendPieces(of word: ArraySlice<Unicode.Scalar>, to ids: inout [Int32]) {
        guard word.count <= maxInputCharsPerWord else {
            ids.append(unkId)
            return
        }
        let end = word.endIndex
        let mark = ids.count
        var start = word.startIndex
        while start < end {
            // Walk the trie from the word-initial or the "##" root as far as the word allows,
            // remembering the last node that ends a token: that is the longest match.
            var node: Int32 = start == word.startIndex ? 0 : trie.continuationRoot
            var match: Int32 = -1
            var matchEnd = start
            var position = start
            while node >= 0 && position < end, let child = trie.child(of: node, word[position]) {
                node = child
                position += 1
                let id = trie.tokenIds[Int(child)]
                if id >= 0 {
                    match = id
                    matchEnd = position
                }
            }
            guard match >= 0 else {
                ids.removeSubrange(mark...)
                ids.append(unkId)
                return
            }
            ids.append(match)
            start = matchEnd
        }
    }

    public static func == (lhs: WordPieceTokenizer, rhs: WordPieceTokenizer) -> Bool {
        lhs.tokens == rhs.tokens && lhs.basic == rhs.basic && lhs.maxInputCharsPerWord == rhs.maxInputCharsPerWord
    }
}

/// The vocabulary as a trie over Unicode scalars. Node 0 is the root; an edge is the entry
/// `(node << 32 | scalar) → child` of one dictionary; `tokenIds[node]` is the id of the token
/// ending at `node`, or -1.
struct VocabularyTrie: Sendable {
    private(set) var edges: [UInt64: Int32] = [:]
    private(set) var tokenIds: [Int32] = [-1]
    /// The node reached by "##" (where continuation pieces start), or -1.
    var continuationRoot: Int32 = -1

    @inline(__always)
    func child(of node: Int32, _ scalar: Unicode.Scalar) -> Int32? {
        edges[UInt64(UInt32(bitPattern: node)) << 32 | UInt64(scalar.value)]
    }

    func node<S: Sequence>(after scalars: S, from start: Int32) -> Int32? where S.Element == Unicode.Scalar {
        var node = start
        for scalar in scalars {
            guard let next = child(of: node, scalar) else { return nil }
            node = next
        }
        return node
    }

    func id(of token: String) -> Int32? {
        guard let node = node(after: token.unicodeScalars, from: 0) else { return nil }
        let id = tokenIds[Int(node)]
        return id >= 0 ? id : nil
    }

    /// Adds `token`; returns the id already stored for it when it is a duplicate.
    mutating func insert(_ token: String, id: Int32) -> Int32? {
        var node: Int32 = 0
        for scalar in token.unicodeScalars {
            let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(scalar.value)
            if let next = edges[key] {
                node = next
            } else {
                let next = Int32(tokenIds.count)
                tokenIds.append(-1)
                edges[key] = next
                node = next
            }
        }
        if tokenIds[Int(node)] >= 0 { return tokenIds[Int(node)] }
        tokenIds[Int(node)] = id
        return nil
    }
}
