import Foundation
import XCTest
@testable import NASText

final class TokenizerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("nastext-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A small vocabulary: specials first, then words, pieces and punctuation.
    static let smallVocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "un", "##aff", "##able", "##a", "##ff", "hello", "world", "the", "cat", "sat",
        "a", "b", "c", "d", "e", "f", ",", ".", "!", "'", "s", "##s", "中", "国", "人",
        "run", "##ning", "cafe", "x",
    ]

    private func writeVocabulary(_ lines: [String], name: String = "vocab.txt") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private func smallTokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabularyURL: writeVocabulary(Self.smallVocabulary))
    }

    private func id(_ token: String, _ tokenizer: WordPieceTokenizer) -> Int32 {
        tokenizer.id(for: token)!
    }

    // MARK: Basic tokenizer

    func testBasicTokenizerCleansSplitsAndNormalizes() {
        let basic = BasicTokenizer()
        XCTAssertEqual(basic.tokenize("Héllo, World!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(basic.tokenize("a\u{0}b\u{FFFD}c\u{7}d\u{200B}e"), ["abcde"])  // NUL, U+FFFD, BEL, ZWSP (Cf)
        XCTAssertEqual(basic.tokenize("tab\there\nnew\r\nline\u{00A0}nbsp"), ["tab", "here", "new", "line", "nbsp"])
        XCTAssertEqual(basic.tokenize("中国人abc"), ["中", "国", "人", "abc"])
        XCTAssertEqual(basic.tokenize("don't—stop «now»"), ["don", "'", "t", "—", "stop", "«", "now", "»"])
        XCTAssertEqual(basic.tokenize("$5+3=8 ^_^ ~ok`"), ["$", "5", "+", "3", "=", "8", "^", "_", "^", "~", "ok", "`"])
        XCTAssertEqual(basic.tokenize("ÅNGSTRÖM Ñandú"), ["angstrom", "nandu"])
        XCTAssertEqual(basic.tokenize("e\u{301}"), ["e"])                            // decomposed accent
        XCTAssertEqual(basic.tokenize(""), [])
        XCTAssertEqual(basic.tokenize("   \t\n "), [])
        XCTAssertEqual(BasicTokenizer(lowercase: false).tokenize("Héllo"), ["Héllo"])
    }

    // MARK: WordPiece

    func testGreedyLongestMatchFirst() throws {
        let tokenizer = try smallTokenizer()
        XCTAssertEqual(tokenizer.tokenize("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(tokenizer.tokenize("running cats"), ["run", "##ning", "cat", "##s"])
        XCTAssertEqual(tokenizer.tokenize("cat's"), ["cat", "'", "s"])
        // Longest first: "##aff" is taken before "##a" + "##ff".
        XCTAssertEqual(tokenizer.tokenize("unaff"), ["un", "##aff"])
        XCTAssertEqual(tokenizer.tokenize("unaaff"), ["un", "##a", "##aff"])
        XCTAssertEqual(tokenizer.encode("unaffable"),
                       [id("un", tokenizer), id("##aff", tokenizer), id("##able", tokenizer)])
    }

    func testUnknownWords() throws {
        let tokenizer = try smallTokenizer()
        // "hellox" cannot be cut completely ("##x" is absent): the whole word is [UNK].
        XCTAssertEqual(tokenizer.tokenize("hellox world"), ["[UNK]", "world"])
        XCTAssertEqual(tokenizer.tokenize("zebra"), ["[UNK]"])
        // 100 scalars still go through WordPiece, 101 become [UNK].
        let hundred = String(repeating: "a", count: 100)
        XCTAssertEqual(tokenizer.tokenize(hundred), ["a"] + Array(repeating: "##a", count: 99))
        XCTAssertEqual(tokenizer.tokenize(hundred + "a"), ["[UNK]"])
        XCTAssertEqual(tokenizer.encode("the " + hundred + "a cat"), [id("the", tokenizer), tokenizer.unkId, id("cat", tokenizer)])
    }

    func testNormalizationThroughWordPiece() throws {
        let tokenizer = try smallTokenizer()
        XCTAssertEqual(tokenizer.tokenize("Héllo"), ["hello"])
        XCTAssertEqual(tokenizer.tokenize("CAFÉ!"), ["cafe", "!"])
        XCTAssertEqual(tokenizer.tokenize("Hello,world."), ["hello", ",", "world", "."])
        XCTAssertEqual(tokenizer.tokenize("中国人"), ["中", "国", "人"])
        XCTAssertEqual(tokenizer.tokenize("hel\u{0}lo\u{1B}"), ["hello"])
        XCTAssertEqual(tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.encode("  \t \n"), [])
    }

    func testEmptyTextWithSpecialTokens() throws {
        let tokenizer = try smallTokenizer()
        let empty = tokenizer.encode("", maxLength: nil)
        XCTAssertEqual(empty.ids, [tokenizer.clsId, tokenizer.sepId])
        XCTAssertEqual(empty.tokenTypeIds, [0, 0])
        XCTAssertEqual(empty.attentionMask, [1, 1])
        let spaces: Encoding = tokenizer.encode("   ")
        XCTAssertEqual(spaces.ids, [tokenizer.clsId, tokenizer.sepId])
        // The one-argument call without annotation means ids without special tokens.
        let plain = tokenizer.encode("hello")
        XCTAssertEqual(plain, [id("hello", tokenizer)])
    }

    func testPairTokenTypes() throws {
        let tokenizer = try smallTokenizer()
        let pair = tokenizer.encode("the cat", "sat.")
        let t = { self.id($0, tokenizer) }
        XCTAssertEqual(pair.ids, [tokenizer.clsId, t("the"), t("cat"), tokenizer.sepId, t("sat"), t("."), tokenizer.sepId])
        XCTAssertEqual(pair.tokenTypeIds, [0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(pair.attentionMask, [1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(tokenizer.decode(pair.ids), "[CLS] the cat [SEP] sat . [SEP]")
        XCTAssertEqual(tokenizer.decode(pair.ids, skipSpecialTokens: true), "the cat sat .")
    }

    func testLongestFirstTruncation() throws {
        let tokenizer = try smallTokenizer()
        let letters = { (n: Int) in Array("abcdef".prefix(n)).map(String.init).joined(separator: " ") }
        // 6 + 2 content tokens, budget 8 - 3 = 5: the longer first segment loses 3.
        var e = tokenizer.encode(letters(6), "c d", maxLength: 8)
        XCTAssertEqual(e.count, 8)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a b c [SEP] c d [SEP]")
        XCTAssertEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 1, 1, 1])
        // 5 + 5, budget 7: one token at a time from the longer, the second on a tie.
        e = tokenizer.encode(letters(5), letters(5), maxLength: 10)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a b c d [SEP] a b c [SEP]")
        // Second longer.
        e = tokenizer.encode("a", letters(6), maxLength: 6)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a [SEP] a b [SEP]")
        // Fits: untouched.
        e = tokenizer.encode("a b", "c", maxLength: 6)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a b [SEP] c [SEP]")
        // Single segment.
        e = tokenizer.encode(letters(6), maxLength: 4)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a b [SEP]")
        // Other strategies.
        e = tokenizer.encode(letters(3), letters(3), maxLength: 8, truncation: .onlyFirst)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a b [SEP] a b c [SEP]")
        e = tokenizer.encode(letters(3), letters(3), maxLength: 8, truncation: .onlySecond)
        XCTAssertEqual(tokenizer.decode(e.ids), "[CLS] a b c [SEP] a b [SEP]")
        // A maxLength below the special tokens leaves only the special tokens.
        e = tokenizer.encode(letters(3), letters(3), maxLength: 2)
        XCTAssertEqual(e.ids, [tokenizer.clsId, tokenizer.sepId, tokenizer.sepId])
        // Reference behaviour of the loop itself.
        var first: [Int32] = [1, 2, 3, 4, 5, 6]
        var second: [Int32]? = [7, 8, 9, 10, 11]
        WordPieceTokenizer.truncate(&first, &second, to: 7, strategy: .longestFirst)
        XCTAssertEqual(first, [1, 2, 3, 4])
        XCTAssertEqual(second, [7, 8, 9])
    }

    func testPaddingAndAttentionMask() throws {
        let tokenizer = try smallTokenizer()
        let e = tokenizer.encode("the cat", "sat", maxLength: 16, padTo: 8)
        XCTAssertEqual(e.ids.count, 8)
        XCTAssertEqual(Array(e.ids.suffix(2)), [tokenizer.padId, tokenizer.padId])
        XCTAssertEqual(e.attentionMask, [1, 1, 1, 1, 1, 1, 0, 0])
        XCTAssertEqual(e.tokenTypeIds, [0, 0, 0, 0, 1, 1, 0, 0])

        let batch = try tokenizer.encodeBatch(["the cat sat", "hello"], ["a", "b c"])
        XCTAssertEqual(batch.shape, [2, 7])
        XCTAssertEqual(batch.ids.count, 14)
        XCTAssertEqual(batch.attentionMask, [1, 1, 1, 1, 1, 1, 1,
                                             1, 1, 1, 1, 1, 1, 0])
        XCTAssertEqual(batch.tokenTypeIds, [0, 0, 0, 0, 0, 1, 1,
                                            0, 0, 0, 1, 1, 1, 0])
        XCTAssertEqual(batch.ids[13], tokenizer.padId)
        XCTAssertEqual(batch.row(1).ids.prefix(3), [tokenizer.clsId, id("hello", tokenizer), tokenizer.sepId])

        let fixed = try tokenizer.batch([tokenizer.encode("a"), tokenizer.encode("a b")], padTo: 6)
        XCTAssertEqual(fixed.shape, [2, 6])
        XCTAssertEqual(fixed.attentionMask, [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0])
        XCTAssertThrowsError(try tokenizer.batch([tokenizer.encode("a b c d e")], padTo: 4)) { error in
            XCTAssertEqual(error as? TokenizerError, .sequenceTooLong(index: 0, length: 7, limit: 4))
        }
        XCTAssertThrowsError(try tokenizer.encodeBatch(["a"], ["b", "c"]))
        let emptyBatch = try tokenizer.batch([])
        XCTAssertEqual(emptyBatch.shape, [0, 0])
    }

    func testDecodeMergesContinuationPieces() throws {
        let tokenizer = try smallTokenizer()
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("unaffable running")), "unaffable running")
        XCTAssertEqual(tokenizer.decode([id("##aff", tokenizer), id("cat", tokenizer)]), "##aff cat")
        XCTAssertEqual(tokenizer.decode([999, -1]), "[UNK] [UNK]")
        XCTAssertEqual(tokenizer.vocabSize, Self.smallVocabulary.count)
        XCTAssertEqual(tokenizer.padId, 0)
        XCTAssertEqual(tokenizer.unkId, 1)
        XCTAssertEqual(tokenizer.clsId, 2)
        XCTAssertEqual(tokenizer.sepId, 3)
        XCTAssertEqual(tokenizer.maskId, 4)
    }

    // MARK: Vocabulary validation

    func testBadVocabularyFiles() throws {
        let missing = directory.appendingPathComponent("nope/vocab.txt")
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: missing)) { error in
            XCTAssertEqual(error as? TokenizerError, .unreadableVocabulary(path: missing.path, reason: "no such file"))
            XCTAssertTrue("\(error)".contains(missing.path))
        }
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: directory)) { error in
            XCTAssertTrue("\(error)".contains("directory"))
        }

        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: empty)) { error in
            XCTAssertEqual(error as? TokenizerError, .emptyVocabulary(path: empty.path))
        }

        let duplicate = try writeVocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cat", "dog", "cat"],
                                            name: "dup.txt")
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: duplicate)) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .duplicateToken(path: duplicate.path, token: "cat", line: 8, firstLine: 6))
            let message = "\(error)"
            XCTAssertTrue(message.contains(duplicate.path) && message.contains("line 8"), message)
        }

        let noUnk = try writeVocabulary(["[PAD]", "[CLS]", "[SEP]", "[MASK]", "cat"], name: "nounk.txt")
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: noUnk)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingSpecialToken(path: noUnk.path, token: "[UNK]"))
            XCTAssertTrue("\(error)".contains("[UNK]"))
        }

        let invalid = directory.appendingPathComponent("latin1.txt")
        try Data([0x5B, 0x50, 0x41, 0x44, 0x5D, 0x0A, 0xE9, 0x0A]).write(to: invalid)
        XCTAssertThrowsError(try WordPieceTokenizer(vocabularyURL: invalid)) { error in
            XCTAssertTrue("\(error)".contains("UTF-8"))
        }
    }

    func testVocabularyLinesAndExactScalarMatching() throws {
        // CRLF line ends are tolerated; ids are line numbers.
        let url = directory.appendingPathComponent("crlf.txt")
        try Data("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\ncat\r\n".utf8).write(to: url)
        let tokenizer = try WordPieceTokenizer(vocabularyURL: url)
        XCTAssertEqual(tokenizer.vocabSize, 6)
        XCTAssertEqual(tokenizer.encode("Cat"), [5])
        // Precomposed and decomposed forms are different tokens (no canonical-equivalence merge).
        let forms = try WordPieceTokenizer(tokens: Self.smallVocabulary + ["\u{E9}", "e\u{301}"])
        XCTAssertEqual(forms.vocabSize, Self.smallVocabulary.count + 2)
        XCTAssertNotEqual(forms.id(for: "\u{E9}"), forms.id(for: "e\u{301}"))
    }

    // MARK: Real vocabulary parity

    func testRealVocabularyParity() throws {
        guard let teacher = ProcessInfo.processInfo.environment["SWIFTNAS_TEACHER_DIR"], !teacher.isEmpty else {
            throw XCTSkip("SWIFTNAS_TEACHER_DIR is not set; skipping parity with the real BERT uncased vocab.txt (run `make test`)")
        }
        let url = URL(fileURLWithPath: teacher).appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) does not exist (teacher not installed; `make teacher`); skipping vocab parity")
        }
        let tokenizer = try WordPieceTokenizer(vocabularyURL: url)
        XCTAssertEqual(tokenizer.vocabSize, 30522)
        let expected: [(String, [Int32])] = [
            ("A man is playing a guitar.", [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102]),
            ("Someone is playing an instrument.", [101, 2619, 2003, 2652, 2019, 6602, 1012, 102]),
            ("The stock market fell sharply today.", [101, 1996, 4518, 3006, 3062, 9249, 2651, 1012, 102]),
            ("Un café, s'il vous plaît!", [101, 4895, 7668, 1010, 1055, 1005, 6335, 29536, 2271, 20228, 4886, 2102, 999, 102]),
        ]
        for (text, ids) in expected {
            let encoding: Encoding = tokenizer.encode(text)
            XCTAssertEqual(encoding.ids, ids, text)
            XCTAssertEqual(encoding.tokenTypeIds, Array(repeating: 0, count: ids.count))
        }
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("Someone is playing an instrument.")),
                       "someone is playing an instrument .")

        // Speed smoke check (printed, not asserted): ~60k GLUE-sized sentences take ~0.3 s in release.
        let sentences = (0..<20_000).map { "Sentence \($0): \(expected[$0 % expected.count].0) Unbelievably résumé-like." }
        let start = Date()
        var total = 0
        for sentence in sentences { total += tokenizer.encode(sentence).count }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(total, 20_000)
        print("tokenized \(sentences.count) sentences (\(total) tokens) in \(String(format: "%.2f", seconds)) s")
    }

    // MARK: Character tokenizer

    static let shakespeare = """
        First Citizen:
        Before we proceed any further, hear me speak.

        All:
        Speak, speak.

        First Citizen:
        You are all resolved rather to die than to famish?
        """

    func testCharTokenizerRoundTripAndSave() throws {
        let tokenizer = CharTokenizer(training: Self.shakespeare)
        let sorted = Set(Self.shakespeare.unicodeScalars.map(\.value)).sorted()
        XCTAssertEqual(tokenizer.characters.map(\.value), sorted)
        XCTAssertEqual(tokenizer.vocabSize, sorted.count)
        XCTAssertEqual(tokenizer.characters.first, "\n")
        let ids = try tokenizer.encode(Self.shakespeare)
        XCTAssertEqual(ids.count, Self.shakespeare.unicodeScalars.count)
        XCTAssertTrue(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabSize })
        XCTAssertEqual(tokenizer.decode(ids), Self.shakespeare)
        XCTAssertEqual(tokenizer.decode([-1]), "\u{FFFD}")

        let url = directory.appendingPathComponent("chars.json")
        try tokenizer.save(to: url)
        try tokenizer.save(to: url)  // overwrite in place
        let loaded = try CharTokenizer(contentsOf: url)
        XCTAssertEqual(loaded, tokenizer)
        XCTAssertEqual(try loaded.encode("speak"), try tokenizer.encode("speak"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])

        let unicode = CharTokenizer(training: "naïve 中文\r\n")
        XCTAssertEqual(unicode.decode(try unicode.encode("中文 naïve\r\n")), "中文 naïve\r\n")
        XCTAssertEqual(unicode.vocabSize, 10)
    }

    func testCharTokenizerUnknownCharacter() throws {
        let tokenizer = CharTokenizer(training: Self.shakespeare)
        XCTAssertThrowsError(try tokenizer.encode("hear me, Zed")) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownCharacter("Z", offset: 9))
            let message = "\(error)"
            XCTAssertTrue(message.contains("'Z'") && message.contains("U+005A") && message.contains("offset 9"), message)
        }
    }

    func testCharTokenizerBadFiles() throws {
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"format": "swiftnas-char-tokenizer", "version": 1, "characters": ["a", "bc"]}"#.utf8).write(to: bad)
        XCTAssertThrowsError(try CharTokenizer(contentsOf: bad)) { error in
            XCTAssertTrue("\(error)".contains(bad.path))
        }
        try Data(#"{"format": "swiftnas-char-tokenizer", "version": 1, "characters": ["a", "a"]}"#.utf8).write(to: bad)
        XCTAssertThrowsError(try CharTokenizer(contentsOf: bad)) { error in
            XCTAssertTrue("\(error)".contains("twice"))
        }
        XCTAssertThrowsError(try CharTokenizer(contentsOf: directory.appendingPathComponent("missing.json")))
    }

    // MARK: Protocol

    func testProtocolConformance() throws {
        let tokenizers: [any Tokenizer] = [try smallTokenizer(), CharTokenizer(training: "hello world")]
        for tokenizer in tokenizers {
            let ids = try tokenizer.encode("hello world")
            XCTAssertFalse(ids.isEmpty)
            XCTAssertEqual(tokenizer.decode(ids), "hello world")
            XCTAssertTrue(ids.allSatisfy { Int($0) < tokenizer.vocabSize })
        }
    }
}

extension TokenizerTests {
    /// The Latin table fast path of accent stripping agrees with Foundation's NFD path.
    func testLatinFastPathMatchesFoundation() {
        var words: [[Unicode.Scalar]] = (UInt32(0x80)..<0x250).map { [Unicode.Scalar($0)!] }
        words.append(Array("ÅNGSTRÖM".unicodeScalars))
        words.append(Array("İstanbul".unicodeScalars))
        words.append(Array("e\u{301}\u{327}ǅ".unicodeScalars))
        for word in words {
            var fast: [Unicode.Scalar] = []
            var slow: [Unicode.Scalar] = []
            BasicTokenizer.lowercaseAndStripAccents(word, into: &fast)
            BasicTokenizer.foundationLowercaseAndStripAccents(word, into: &slow)
            XCTAssertEqual(fast, slow, "\(word.map { String($0.value, radix: 16) })")
        }
    }
}
