import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import XCTest

/// Replays every committed fuzz seed (`Fuzz/corpus/<target>/`) through the parser entry points the fuzz
/// targets call (`Fuzz/Sources/FuzzSupport/Harness.swift`), without libFuzzer: each file must either load
/// or throw the parser's own error type (a clear message naming the file), never trap. Fast: a few dozen
/// small files.
final class FuzzCorpusTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-fuzz-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    /// The seed files of one target, sorted (at least one).
    private func seeds(_ target: String, file: StaticString = #filePath, line: UInt = #line) throws -> [URL] {
        let folder = Self.corpus.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertFalse(files.isEmpty, "no seeds in \(folder.path)", file: file, line: line)
        return files
    }

    /// Runs `body`; a thrown error must be one of `expected` (the parser's error types).
    private func replay(_ seed: URL, expecting expected: [Error.Type], _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            XCTAssertTrue(expected.contains { type(of: error) == $0 },
                          "\(seed.lastPathComponent): threw \(type(of: error)) (\(error)), expected one of \(expected)")
            XCTAssertFalse("\(error)".isEmpty, seed.lastPathComponent)
        }
    }

    func testEveryTargetHasACorpus() throws {
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        XCTAssertEqual(targets, ["architecture", "config", "glue", "safetensors", "space", "study", "vocab"])
    }

    func testSafeTensorsSeeds() throws {
        var loaded = 0
        for seed in try seeds("safetensors") {
            replay(seed, expecting: [MemoryBudget.Exceeded.self, SafeTensorsError.self]) {
                let file = try SafeTensorsFile(contentsOf: seed)
                for name in file.names { _ = try file.tensor(name) }
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid safetensors seed")
    }

    func testConfigSeeds() throws {
        var loaded = 0
        for seed in try seeds("config") {
            replay(seed, expecting: [MemoryBudget.Exceeded.self, ModelConfigError.self, Checkpoint.Failure.self]) {
                let config = try ModelConfig(data: try Data(contentsOf: seed), path: seed.path)
                _ = config.json
                _ = try Checkpoint.architecture(of: config, path: seed.path)
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid config seed")
    }

    func testArchitectureSeeds() throws {
        var loaded = 0
        for seed in try seeds("architecture") {
            replay(seed, expecting: [MemoryBudget.Exceeded.self, ArchitectureFileError.self]) {
                let arch = try Architecture.load(from: seed)
                _ = try JSONValue(encoding: arch).serialized()
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid architecture seed")
    }

    func testSearchSpaceSeeds() throws {
        var loaded = 0
        for seed in try seeds("space") {
            replay(seed, expecting: [MemoryBudget.Exceeded.self, SearchSpaceError.self]) {
                let space = try SearchSpace.load(from: seed)
                var rng = RandomGenerator(seed: 0)
                XCTAssertNoThrow(try space.decode(space.sample(using: &rng)).validate(), seed.lastPathComponent)
                _ = space.json
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid space seed")
    }

    func testVocabularySeeds() throws {
        var loaded = 0
        for seed in try seeds("vocab") {
            replay(seed, expecting: [MemoryBudget.Exceeded.self, TokenizerError.self]) {
                let tokenizer = try WordPieceTokenizer(vocabularyURL: seed)
                let text = "Hello, World! The unaffable naïve café – 3.14 [MASK] ##ing 東京 \u{0301}x"
                _ = tokenizer.tokenize(text)
                _ = tokenizer.decode(tokenizer.encode(text))
                XCTAssertLessThanOrEqual(tokenizer.encode(text, "a second sentence", maxLength: 16, padTo: 16).ids.count, 16)
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid vocabulary seed")
    }

    /// A GLUE seed's first byte picks the task (index into `GLUETask.allCases`), the rest is the TSV file.
    func testGLUESeeds() throws {
        let tokenizer = try WordPieceTokenizer(tokens: WordPieceTokenizer.requiredSpecialTokens
            + ["the", "a", "movie", "is", "good", "bad", "##s", "##ing", ".", ",", "!", "?", "not"])
        var loaded = 0
        for seed in try seeds("glue") {
            let bytes = try Data(contentsOf: seed)
            guard let first = bytes.first else { continue }
            let task = GLUETask.allCases[Int(first) % GLUETask.allCases.count]
            let folder = scratch.appendingPathComponent(task.rawValue)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try bytes.dropFirst().write(to: folder.appendingPathComponent("train.tsv"))
            replay(seed, expecting: [MemoryBudget.Exceeded.self, GLUEDataError.self]) {
                let data = try GLUEDataset.load(task: task, directory: folder, split: "train")
                _ = try data.encodings(tokenizer: tokenizer, maxLength: 32)
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid GLUE seed")
    }

    func testStudySeeds() throws {
        var loaded = 0
        for seed in try seeds("study") {
            // A copy: SQLite must not touch the committed file (read-only opens do not, but be safe).
            let copy = scratch.appendingPathComponent(seed.lastPathComponent)
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(at: seed, to: copy)
            replay(seed, expecting: [MemoryBudget.Exceeded.self, StudyError.self]) {
                let study = try SQLiteStudyStorage.open(at: copy, readOnly: true)
                defer { study.close() }
                _ = try study.nextTrialNumber()
                _ = try study.trials()
                _ = try study.latencySamples()
                loaded += 1
            }
        }
        XCTAssertGreaterThan(loaded, 0, "no valid study seed")
    }
}
