import Foundation
import NASModels
import XCTest
@testable import NASText

final class GLUETests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("glue-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The real GLUE files: `../shared/data/glue` beside the package (Tests/NASTextTests → ../../../shared).
    private func realDataDirectory() throws -> URL {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data/glue", isDirectory: true)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("SST-2/dev.tsv").path) else {
            throw XCTSkip("GLUE data not found at \(url.path)")
        }
        return url
    }

    private func loadReal(_ task: GLUETask, _ split: String) throws -> GLUEDataset {
        try GLUEDataset.load(task: task, directory: realDataDirectory().appendingPathComponent(task.rawValue),
                             split: split)
    }

    /// Writes `bytes` to `<temp>/<folder>/<split>.tsv` and returns the folder.
    @discardableResult
    private func write(_ bytes: [UInt8], folder: String, split: String = "train") throws -> URL {
        let folderURL = directory.appendingPathComponent(folder, isDirectory: true)
        try FileManager.default.createDirectory(at: folderURL, withIntermediateDirectories: true)
        try Data(bytes).write(to: folderURL.appendingPathComponent(split + ".tsv"))
        return folderURL
    }

    @discardableResult
    private func write(_ text: String, folder: String, split: String = "train") throws -> URL {
        try write(Array(text.utf8), folder: folder, split: split)
    }

    /// The error loading `folder/split.tsv` for `task` throws (fails the test if none).
    private func loadError(_ task: GLUETask, folder: String, split: String = "train",
                           file: StaticString = #filePath, line: UInt = #line) -> GLUEDataError? {
        do {
            let dataset = try GLUEDataset.load(task: task, directory: directory.appendingPathComponent(folder),
                                               split: split)
            XCTFail("expected an error, loaded \(dataset.count) examples", file: file, line: line)
        } catch let error as GLUEDataError {
            return error
        } catch {
            XCTFail("expected a GLUEDataError, got \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: Tasks

    func testTaskNames() {
        XCTAssertEqual(GLUETask(name: "sst-2"), .sst2)
        XCTAssertEqual(GLUETask(name: "sst2"), .sst2)
        XCTAssertEqual(GLUETask(name: "SST-2"), .sst2)
        XCTAssertEqual(GLUETask(name: "cola"), .cola)
        XCTAssertEqual(GLUETask(name: "MRPC"), .mrpc)
        XCTAssertEqual(GLUETask(name: "Rte"), .rte)
        XCTAssertEqual(GLUETask(name: "sts-b"), .stsb)
        XCTAssertEqual(GLUETask(name: "stsb"), .stsb)
        XCTAssertEqual(GLUETask(name: "STS_B"), .stsb)
        XCTAssertNil(GLUETask(name: "mnli"))
        XCTAssertNil(GLUETask(name: ""))
        XCTAssertNil(GLUETask(name: "sst-3"))
        // Raw values are GLUE's folder names and round-trip through JSON.
        XCTAssertEqual(GLUETask.allCases.map(\.rawValue), ["SST-2", "CoLA", "MRPC", "RTE", "STS-B"])
        let json = try? JSONEncoder().encode([GLUETask.stsb])
        XCTAssertEqual(json.flatMap { String(data: $0, encoding: .utf8) }, #"["STS-B"]"#)
        XCTAssertEqual(json.flatMap { try? JSONDecoder().decode([GLUETask].self, from: $0) }, [.stsb])
    }

    func testTaskProperties() {
        XCTAssertEqual(GLUETask.allCases.filter(\.isRegression), [.stsb])
        XCTAssertEqual(GLUETask.allCases.filter(\.isPair), [.mrpc, .rte, .stsb])
        XCTAssertEqual(GLUETask.allCases.map(\.numLabels), [2, 2, 2, 2, 1])
        for task in GLUETask.allCases {
            XCTAssertEqual(task.labelNames.count, task.numLabels, "\(task)")
            XCTAssertEqual(task.primaryMetric, task.metricNames.first, "\(task)")
        }
        XCTAssertEqual(GLUETask.rte.labelNames, ["entailment", "not_entailment"])
        XCTAssertEqual(GLUETask.sst2.metricNames, ["accuracy"])
        XCTAssertEqual(GLUETask.rte.metricNames, ["accuracy"])
        XCTAssertEqual(GLUETask.cola.metricNames, ["mcc"])
        XCTAssertEqual(GLUETask.mrpc.metricNames, ["f1", "accuracy"])
        XCTAssertEqual(GLUETask.stsb.metricNames, ["pearson", "spearman"])
    }

    func testEvaluateUsesEachTasksMetrics() throws {
        // MRPC: predictions 1 0 1 1 0 / labels 1 1 1 0 0 → TP 2, FP 1, FN 1: F1 = 4/6, accuracy 3/5.
        let mrpc = GLUETask.mrpc.evaluate(predictions: [1, 0, 1, 1, 0], labels: [1, 1, 1, 0, 0])
        XCTAssertEqual(Set(mrpc.keys), ["f1", "accuracy"])
        XCTAssertEqual(try XCTUnwrap(mrpc["f1"]), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(mrpc["accuracy"]), 0.6, accuracy: 1e-12)

        // CoLA: TP 1, TN 1, FP 1, FN 1 → MCC = (1 − 1) / … = 0; perfect → 1.
        XCTAssertEqual(GLUETask.cola.evaluate(predictions: [1, 0, 1, 0], labels: [1, 0, 0, 1]), ["mcc": 0])
        XCTAssertEqual(GLUETask.cola.evaluate(predictions: [1, 0, 1, 0], labels: [1, 0, 1, 0]), ["mcc": 1])

        // SST-2: class ids as floats, rounded; a NaN prediction is wrong, never a crash.
        XCTAssertEqual(GLUETask.sst2.evaluate(predictions: [0.9999, 0, .nan, 1], labels: [1, 0, 1, 0]),
                       ["accuracy": 0.5])
        XCTAssertEqual(GLUETask.rte.evaluate(predictions: [.nan], labels: [.nan]), ["accuracy": 0])

        // STS-B: scores, not classes. y = 2x + 1 → Pearson 1; x 1 2 3 4 5, y 2 1 4 3 5 → Spearman 0.8.
        let stsb = GLUETask.stsb.evaluate(predictions: [1, 2, 3, 4, 5], labels: [2, 1, 4, 3, 5])
        XCTAssertEqual(Set(stsb.keys), ["pearson", "spearman"])
        XCTAssertEqual(try XCTUnwrap(stsb["spearman"]), 0.8, accuracy: 1e-12)
        // Pearson of that pair: x̄ = ȳ = 3, Σdx·dy = (−2)(−1) + (−1)(−2) + 0 + (1)(0) + (2)(2) = 8, Σdx² = Σdy² = 10 → 0.8.
        XCTAssertEqual(try XCTUnwrap(stsb["pearson"]), 0.8, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(GLUETask.stsb.evaluate(predictions: [0.5, 1.5, 2.5], labels: [2, 4, 6])["pearson"]),
                       1, accuracy: 1e-9)
    }

    // MARK: Real files

    func testRealDevSplitsHaveTheDocumentedRowsAndFirstExamples() throws {
        let sst2 = try loadReal(.sst2, "dev")
        XCTAssertEqual(sst2.count, 872)
        XCTAssertEqual(sst2.examples.first, GLUEExample(textA: "it 's a charming and often affecting journey . ", label: 1))
        XCTAssertEqual(sst2.examples.filter { $0.label == 1 }.count, 444)

        let cola = try loadReal(.cola, "dev")
        XCTAssertEqual(cola.count, 1043)  // no header: the first line is an example
        XCTAssertEqual(cola.examples.first, GLUEExample(textA: "The sailors rode the breeze clear of the rocks.", label: 1))
        // The last line has no final newline and still counts.
        XCTAssertEqual(cola.examples.last?.textA, "John talked to Bill about himself.")
        XCTAssertEqual(cola.examples.filter { $0.label == 1 }.count, 721)

        let mrpc = try loadReal(.mrpc, "dev")
        XCTAssertEqual(mrpc.count, 408)  // the BOM'd header is skipped
        XCTAssertEqual(mrpc.examples.first, GLUEExample(
            textA: "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .",
            textB: "\" The foodservice pie business does not fit our long-term growth strategy .", label: 1))
        XCTAssertEqual(mrpc.examples.filter { $0.label == 1 }.count, 279)

        let rte = try loadReal(.rte, "dev")
        XCTAssertEqual(rte.count, 277)
        XCTAssertEqual(rte.examples.first, GLUEExample(
            textA: "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, "
                + "according to the Christopher Reeve Foundation.",
            textB: "Christopher Reeve had an accident.", label: 1))  // not_entailment = 1
        XCTAssertEqual(rte.examples.filter { $0.label == 0 }.count, 146)  // entailment

        let stsb = try loadReal(.stsb, "dev")
        XCTAssertEqual(stsb.count, 1500)
        XCTAssertEqual(stsb.examples.first, GLUEExample(textA: "A man with a hard hat is dancing.",
                                                        textB: "A man wearing a hard hat is dancing.", label: 5))
        XCTAssertEqual(stsb.examples.last?.label, 0)
        let mean = stsb.labels.reduce(0.0) { $0 + Double($1) } / Double(stsb.count)
        XCTAssertEqual(mean, 2.364, accuracy: 0.0005)  // the README's dev mean score
        XCTAssertEqual(stsb.labels.min(), 0)
        XCTAssertEqual(stsb.labels.max(), 5)
        XCTAssertTrue(stsb.path.hasSuffix("STS-B/dev.tsv"))
        XCTAssertEqual(stsb.task, .stsb)
    }

    func testRealTrainSplitsHaveTheDocumentedRows() throws {
        let expected: [GLUETask: (rows: Int, first: String)] = [
            .sst2: (67349, "hide new secretions from the parental units "),
            .cola: (8551, "Our friends won't buy this analysis, let alone the next one we propose."),
            .mrpc: (3668, "Amrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence ."),
            .rte: (2490, "No Weapons of Mass Destruction Found in Iraq Yet."),
            .stsb: (5749, "A plane is taking off."),
        ]
        for (task, (rows, first)) in expected {
            let dataset = try loadReal(task, "train")
            XCTAssertEqual(dataset.count, rows, "\(task)")
            XCTAssertEqual(dataset.examples.first?.textA, first, "\(task)")
            XCTAssertEqual(dataset.examples.allSatisfy { ($0.textB != nil) == task.isPair }, true, "\(task)")
        }
    }

    // MARK: Parsing edge cases

    func testBOMCRLFBlankLinesQuotesAndNoFinalNewline() throws {
        // BOM before the header, CRLF endings, a blank line, an unbalanced quote, no final newline.
        let text = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
            + "1\t1\t2\t\" He said so .\tHe said \" so .\r\n"
            + "\r\n"
            + "0\t3\t4\tA b .\tC d ."
        let folder = try write([0xEF, 0xBB, 0xBF] + Array(text.utf8), folder: "MRPC")
        let dataset = try GLUEDataset.load(task: .mrpc, directory: folder, split: "train")
        XCTAssertEqual(dataset.examples, [
            GLUEExample(textA: "\" He said so .", textB: "He said \" so .", label: 1),
            GLUEExample(textA: "A b .", textB: "C d .", label: 0),
        ])
    }

    func testLabelsOfEachFormat() throws {
        try write("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tnot_entailment\n", folder: "RTE")
        XCTAssertEqual(try GLUEDataset.load(task: .rte, directory: directory.appendingPathComponent("RTE"),
                                            split: "train").labels, [0, 1])
        let header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        try write(header + "0\tg\tf\ty\t0\ts\ts\ta\tb\t3.800\n1\tg\tf\ty\t1\ts\ts\tc\td\t0\n2\tg\tf\ty\t2\ts\ts\te\tf\t5.000\n",
                  folder: "STS-B")
        XCTAssertEqual(try GLUEDataset.load(task: .stsb, directory: directory.appendingPathComponent("STS-B"),
                                            split: "train").labels, [3.8, 0, 5])
        // CoLA: no header, so the first line is an example; the mark column may be empty or "*".
        try write("gj04\t1\t\tGood one .\ngj04\t0\t*\tBad one .\n", folder: "CoLA", split: "dev")
        XCTAssertEqual(try GLUEDataset.load(task: .cola, directory: directory.appendingPathComponent("CoLA"),
                                            split: "dev").examples,
                       [GLUEExample(textA: "Good one .", label: 1), GLUEExample(textA: "Bad one .", label: 0)])
    }

    // MARK: Bad files

    func testWrongColumnCountNamesFileAndLine() throws {
        try write("sentence\tlabel\ngood\t1\nbad\t0\textra\n", folder: "SST-2")
        let error = try XCTUnwrap(loadError(.sst2, folder: "SST-2"))
        XCTAssertEqual(error.kind, .columnCount)
        XCTAssertEqual(error.line, 3)
        XCTAssertEqual(error.description,
                       "SST-2/train.tsv line 3: expected 2 tab-separated columns (sentence, label), got 3")

        // A pair task read as a single-sentence task is caught on its first line.
        try write("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n", folder: "RTE")
        let wrongTask = try XCTUnwrap(loadError(.sst2, folder: "RTE"))
        XCTAssertEqual(wrongTask.kind, .columnCount)
        XCTAssertEqual(wrongTask.line, 1)
        XCTAssertTrue(wrongTask.description.hasPrefix("RTE/train.tsv line 1: expected 2"), wrongTask.description)
    }

    func testBadLabelsNameFileAndLine() throws {
        try write("sentence\tlabel\na\t1\nb\t0\nc\t1\nd\t0\ne\t1\nf\tx\n", folder: "SST-2")
        let sst2 = try XCTUnwrap(loadError(.sst2, folder: "SST-2"))
        XCTAssertEqual(sst2.kind, .badLabel)
        XCTAssertEqual(sst2.description, "SST-2/train.tsv line 7: label 'x' is not one of 0, 1")

        try write("src\t2\t\tA sentence .\n", folder: "CoLA")
        XCTAssertEqual(loadError(.cola, folder: "CoLA")?.description, "CoLA/train.tsv line 1: label '2' is not one of 0, 1")

        try write("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n", folder: "RTE")
        XCTAssertEqual(loadError(.rte, folder: "RTE")?.description,
                       "RTE/train.tsv line 2: label 'maybe' is not one of entailment, not_entailment")

        let header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        for bad in ["5.5", "-0.1", "nan", "inf", "0x1p1", "high", ""] {
            try write(header + "0\tg\tf\ty\t0\ts\ts\ta\tb\t2.5\n1\tg\tf\ty\t1\ts\ts\tc\td\t\(bad)\n", folder: "STS-B")
            let error = try XCTUnwrap(loadError(.stsb, folder: "STS-B"), bad)
            XCTAssertEqual(error.kind, .badLabel, bad)
            XCTAssertEqual(error.description, "STS-B/train.tsv line 3: label '\(bad)' is not a number in [0, 5]")
        }
    }

    func testEmptySentenceNamesFileLineAndColumn() throws {
        try write("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA .\tB .\n0\t3\t4\tC .\t  \n", folder: "MRPC")
        let error = try XCTUnwrap(loadError(.mrpc, folder: "MRPC"))
        XCTAssertEqual(error.kind, .emptySentence)
        XCTAssertEqual(error.description, "MRPC/train.tsv line 3: column 5 (#2 String) is empty")
    }

    func testEmptyAndMissingFiles() throws {
        try write("", folder: "SST-2")
        let empty = try XCTUnwrap(loadError(.sst2, folder: "SST-2"))
        XCTAssertEqual(empty.kind, .emptyFile)
        XCTAssertEqual(empty.description, "SST-2/train.tsv: the file has no examples")

        try write("sentence\tlabel\n", folder: "SST-2", split: "dev")
        let headerOnly = try XCTUnwrap(loadError(.sst2, folder: "SST-2", split: "dev"))
        XCTAssertEqual(headerOnly.kind, .emptyFile)
        XCTAssertEqual(headerOnly.description, "SST-2/dev.tsv: the file has a header row but no examples")

        let missing = try XCTUnwrap(loadError(.rte, folder: "RTE", split: "dev"))
        XCTAssertEqual(missing.kind, .missingFile)
        XCTAssertEqual(missing.file, "RTE/dev.tsv")
        XCTAssertTrue(missing.description.hasPrefix("RTE/dev.tsv: no such file"), missing.description)
        XCTAssertTrue(missing.path.hasSuffix("RTE/dev.tsv"))
    }

    func testMissingHeaderAndInvalidUTF8() throws {
        // SST-2 files start with a header; an example in its place would silently be dropped.
        try write("good\t1\nbad\t0\n", folder: "SST-2")
        let header = try XCTUnwrap(loadError(.sst2, folder: "SST-2"))
        XCTAssertEqual(header.kind, .missingHeader)
        XCTAssertEqual(header.line, 1)

        try write(Array("sentence\tlabel\nok\t1\n".utf8) + [0x62, 0xFF, 0x09, 0x31, 0x0A], folder: "SST-2")
        let utf8 = try XCTUnwrap(loadError(.sst2, folder: "SST-2"))
        XCTAssertEqual(utf8.kind, .invalidText)
        XCTAssertEqual(utf8.description, "SST-2/train.tsv line 3: the line is not valid UTF-8")
    }

    // MARK: Batching

    private static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "cat", "sat", "on", "mat", "a", "dog", "ran", ".",
    ]

    private func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(tokens: Self.vocabulary)
    }

    private func ids(_ tokens: String, _ tokenizer: WordPieceTokenizer) -> [Int32] {
        tokens.split(separator: " ").map { tokenizer.id(for: String($0))! }
    }

    private let singles = GLUEDataset(task: .sst2, path: "memory/SST-2/train.tsv", examples: [
        GLUEExample(textA: "the cat sat", label: 1),               // 5 tokens with [CLS], [SEP]
        GLUEExample(textA: "a dog", label: 0),                     // 4
        GLUEExample(textA: "the cat sat on the mat .", label: 1),  // 9
        GLUEExample(textA: "a dog ran", label: 0),                 // 5
        GLUEExample(textA: "the mat", label: 1),                   // 4
    ])

    func testBatchesPadToTheLongestRowOfEachBatch() throws {
        let tokenizer = try tokenizer()
        let batches = try singles.batches(tokenizer: tokenizer, maxLength: 32, batchSize: 2, shuffleSeed: nil)
        XCTAssertEqual(batches.map(\.tokens.batchSize), [2, 2, 1])
        XCTAssertEqual(batches.map(\.tokens.length), [5, 9, 4])  // not 32
        XCTAssertEqual(batches.map(\.exampleIndices), [[0, 1], [2, 3], [4]])
        XCTAssertEqual(batches.map(\.labels), [[1, 0], [1, 0], [1]])

        let first = batches[0].tokens
        XCTAssertEqual(first.ids, ids("[CLS] the cat sat [SEP]", tokenizer) + ids("[CLS] a dog [SEP] [PAD]", tokenizer))
        XCTAssertEqual(first.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
        XCTAssertEqual(first.typeIds, [Int32](repeating: 0, count: 10))

        let second = batches[1].tokens
        XCTAssertEqual(second.ids, ids("[CLS] the cat sat on the mat . [SEP]", tokenizer)
                       + ids("[CLS] a dog ran [SEP] [PAD] [PAD] [PAD] [PAD]", tokenizer))
        XCTAssertEqual(second.attentionMask, [Float](repeating: 1, count: 9) + [1, 1, 1, 1, 1, 0, 0, 0, 0])
    }

    func testPairsGetTokenTypesAndAreTruncatedToMaxLength() throws {
        let tokenizer = try tokenizer()
        let pairs = GLUEDataset(task: .rte, path: "memory/RTE/dev.tsv", examples: [
            GLUEExample(textA: "the cat sat", textB: "a dog ran", label: 0),
            GLUEExample(textA: "the cat", textB: "the cat sat on the mat .", label: 1),
        ])
        let full = try pairs.batches(tokenizer: tokenizer, maxLength: 64, batchSize: 2, shuffleSeed: nil)
        XCTAssertEqual(full.count, 1)
        // Row 0: [CLS] the cat sat [SEP] | a dog ran [SEP] (9); row 1: [CLS] the cat [SEP] | 7 + [SEP] (12).
        XCTAssertEqual(full[0].tokens.length, 12)
        XCTAssertEqual(Array(full[0].tokens.typeIds![0..<12]), [0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
        XCTAssertEqual(Array(full[0].tokens.typeIds![12..<24]), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(Array(full[0].tokens.attentionMask![0..<12]), [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])

        // maxLength 8 leaves 5 text tokens. Row 0 (3 + 3): the longer-or-second segment loses one →
        // the cat sat | a dog. Row 1 (2 + 7): the longer loses 4 → the cat | the cat sat.
        let cut = try pairs.batches(tokenizer: tokenizer, maxLength: 8, batchSize: 2, shuffleSeed: nil)
        XCTAssertEqual(cut[0].tokens.length, 8)
        XCTAssertEqual(cut[0].tokens.ids, ids("[CLS] the cat sat [SEP] a dog [SEP]", tokenizer)
                       + ids("[CLS] the cat [SEP] the cat sat [SEP]", tokenizer))
        XCTAssertEqual(cut[0].tokens.typeIds!, [0, 0, 0, 0, 0, 1, 1, 1] + [0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(cut[0].tokens.attentionMask!, [Float](repeating: 1, count: 16))

        // Single sentences are cut too: 7 text tokens into maxLength 6 → 4 kept.
        let single = try singles.batches(tokenizer: tokenizer, maxLength: 6, batchSize: 5, shuffleSeed: nil)
        XCTAssertEqual(single[0].tokens.length, 6)
        XCTAssertEqual(single[0].tokens.row(2), ids("[CLS] the cat sat on [SEP]", tokenizer))
    }

    func testShuffleIsDeterministicPerSeedAndKeepsLabelsAligned() throws {
        let tokenizer = try tokenizer()
        // 20 examples with distinct lengths and labels tied to them, so misalignment shows.
        let words = ["the", "cat", "sat", "on", "mat"]
        let examples = (0..<20).map { i in
            GLUEExample(textA: (0...(i % 7)).map { words[$0 % words.count] }.joined(separator: " "),
                        label: Float(i))
        }
        let dataset = GLUEDataset(task: .stsb, path: "memory/x.tsv", examples: examples)
        let encodings = try dataset.encodings(tokenizer: tokenizer, maxLength: 16)

        let a = try dataset.batches(tokenizer: tokenizer, maxLength: 16, batchSize: 6, shuffleSeed: 7)
        let b = try dataset.batches(encodings: encodings, padId: tokenizer.padId, batchSize: 6, shuffleSeed: 7)
        let c = try dataset.batches(tokenizer: tokenizer, maxLength: 16, batchSize: 6, shuffleSeed: 8)
        let order = a.flatMap(\.exampleIndices)
        XCTAssertEqual(order, b.flatMap(\.exampleIndices))
        XCTAssertEqual(a.map(\.tokens.ids), b.map(\.tokens.ids))
        XCTAssertNotEqual(order, c.flatMap(\.exampleIndices))
        XCTAssertNotEqual(order, Array(0..<20))
        XCTAssertEqual(order.sorted(), Array(0..<20))  // a permutation: every example once
        XCTAssertEqual(a.map(\.tokens.batchSize), [6, 6, 6, 2])

        for batch in a {
            XCTAssertEqual(batch.labels, batch.exampleIndices.map { Float($0) })
            for (row, index) in batch.exampleIndices.enumerated() {
                let encoding = encodings[index]
                let rowIds = batch.tokens.row(row)
                XCTAssertEqual(Array(rowIds[0..<encoding.count]), encoding.ids)
                XCTAssertTrue(rowIds[encoding.count...].allSatisfy { $0 == tokenizer.padId })
            }
        }
        // Without a seed, file order.
        let plain = try dataset.batches(tokenizer: tokenizer, maxLength: 16, batchSize: 6, shuffleSeed: nil)
        XCTAssertEqual(plain.flatMap(\.exampleIndices), Array(0..<20))
    }

    func testPermutationIsUniform() {
        // All 6 orders of 3 items over 60,000 seeds: each is expected 10,000 times (σ ≈ 91). The
        // classic biased shuffle (swap with any position, 3³ = 27 equally likely paths) would give
        // some orders 4/27 (≈ 8,889) and others 5/27 (≈ 11,111): far outside ±400.
        var counts: [[Int]: Int] = [:]
        for seed in 0..<60_000 { counts[GLUEDataset.permutation(count: 3, seed: UInt64(seed)), default: 0] += 1 }
        XCTAssertEqual(counts.count, 6)
        for (order, count) in counts { XCTAssertTrue((9600...10400).contains(count), "\(order): \(count)") }
        XCTAssertEqual(GLUEDataset.permutation(count: 0, seed: 1), [])
        XCTAssertEqual(GLUEDataset.permutation(count: 1, seed: 1), [0])
    }

    func testInvalidBatchSettingsThrow() throws {
        let tokenizer = try tokenizer()
        XCTAssertThrowsError(try singles.batches(tokenizer: tokenizer, maxLength: 16, batchSize: 0, shuffleSeed: nil)) {
            XCTAssertEqual(($0 as? GLUEDataError)?.kind, .invalidSetting)
            XCTAssertEqual(($0 as? GLUEDataError)?.description, "SST-2/train.tsv: batch size 0 must be at least 1")
        }
        XCTAssertThrowsError(try singles.batches(tokenizer: tokenizer, maxLength: 2, batchSize: 2, shuffleSeed: nil)) {
            XCTAssertEqual(($0 as? GLUEDataError)?.kind, .invalidSetting)
        }
        XCTAssertNoThrow(try singles.batches(tokenizer: tokenizer, maxLength: 3, batchSize: 2, shuffleSeed: nil))
        let pair = GLUEDataset(task: .mrpc, path: "p.tsv", examples: [GLUEExample(textA: "a", textB: "b", label: 1)])
        XCTAssertThrowsError(try pair.batches(tokenizer: tokenizer, maxLength: 3, batchSize: 1, shuffleSeed: nil))
        XCTAssertThrowsError(try singles.batches(encodings: [], padId: 0, batchSize: 2, shuffleSeed: nil)) {
            XCTAssertEqual(($0 as? GLUEDataError)?.kind, .invalidSetting)
        }
    }

    func testRealDevSplitBatches() throws {
        let tokenizer = try tokenizer()
        let dataset = try loadReal(.rte, "dev")
        let batches = try dataset.batches(tokenizer: tokenizer, maxLength: 48, batchSize: 32, shuffleSeed: 3)
        XCTAssertEqual(batches.count, 9)  // ⌈277 / 32⌉
        XCTAssertEqual(batches.map(\.tokens.batchSize).reduce(0, +), 277)
        XCTAssertEqual(batches.flatMap(\.exampleIndices).sorted(), Array(0..<277))
        for batch in batches {
            XCTAssertLessThanOrEqual(batch.tokens.length, 48)
            XCTAssertEqual(batch.labels, batch.exampleIndices.map { dataset.examples[$0].label })
            // Every row is a pair: two [SEP]s.
            for row in 0..<batch.tokens.batchSize {
                XCTAssertEqual(batch.tokens.row(row).filter { $0 == tokenizer.sepId }.count, 2)
            }
        }
    }
}

private extension TokenBatch {
    /// Row `index` of the ids.
    func row(_ index: Int) -> [Int32] { Array(ids[(index * length)..<((index + 1) * length)]) }
}
