import Foundation
import NASModels
import NASTensor

/// One labelled GLUE example: a sentence, or a pair of sentences, and its label.
public struct GLUEExample: Equatable, Sendable {
    /// The (first) sentence, exactly as in the file.
    public var textA: String
    /// The second sentence of a pair task (MRPC, RTE, STS-B); nil for single-sentence tasks.
    public var textB: String?
    /// The class id (see `GLUETask.labelNames`) or, for STS-B, the similarity score in [0, 5].
    public var label: Float

    public init(textA: String, textB: String? = nil, label: Float) {
        self.textA = textA
        self.textB = textB
        self.label = label
    }
}

/// A batch of GLUE examples ready for a model: tokens padded to the batch's longest row, and the
/// rows' labels.
public struct GLUEBatch: Sendable {
    /// `[batchSize, length]` token ids, token types (0 for `[CLS] a [SEP]`, 1 for `b [SEP]`) and
    /// attention mask (1 for a token, 0 for padding).
    public var tokens: TokenBatch
    /// The label of each row, in row order.
    public var labels: [Float]
    /// The index in `GLUEDataset.examples` of each row, in row order.
    public var exampleIndices: [Int]

    public init(tokens: TokenBatch, labels: [Float], exampleIndices: [Int]) {
        precondition(labels.count == tokens.batchSize && exampleIndices.count == tokens.batchSize,
                     "GLUEBatch: \(labels.count) labels and \(exampleIndices.count) indices for \(tokens.batchSize) rows")
        self.tokens = tokens
        self.labels = labels
        self.exampleIndices = exampleIndices
    }
}

/// What went wrong reading a GLUE file, or preparing its batches; names the file and, where there
/// is one, the 1-based line.
public struct GLUEDataError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// The file does not exist (or is a directory).
        case missingFile
        /// The file exists but cannot be read.
        case unreadableFile
        /// The file holds no example (it may hold a header).
        case emptyFile
        /// A line is not valid UTF-8.
        case invalidText
        /// The task's files start with a header row, but the first row is an example.
        case missingHeader
        /// A row has the wrong number of tab-separated columns.
        case columnCount
        /// A label is not one the task allows.
        case badLabel
        /// A sentence is empty or only white space.
        case emptySentence
        /// A batching setting (batch size, maximum length, encodings) does not fit the dataset.
        case invalidSetting
    }

    public let kind: Kind
    /// The file as errors name it: task folder and file name, e.g. `SST-2/train.tsv`.
    public let file: String
    /// The full path of the file.
    public let path: String
    /// The 1-based line, when the problem is on one line.
    public let line: Int?
    /// What is wrong, without the file and line.
    public let message: String

    public init(_ kind: Kind, file: String, path: String, line: Int? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file) line \(line): \(message)" }
        return "\(file): \(message)"
    }

    public var errorDescription: String? { description }
}

/// The examples of one split of a GLUE task, read from a task folder in GLUE's TSV layout.
///
/// Reading follows GLUE's files exactly: lines split on `\n` (a trailing `\r` is dropped), fields
/// on `\t` with no quote handling (fields may hold unbalanced `"`), a UTF-8 byte-order mark at the
/// start of the file skipped, and a header row skipped for every task but CoLA. Blank lines are
/// skipped; a missing final newline is fine. Every other deviation is a `GLUEDataError` naming
/// the file and line: the reader never traps on bad input.
public struct GLUEDataset: Sendable {
    public let task: GLUETask
    /// The file the examples were read from (or a description, for an in-memory dataset).
    public let path: String
    public let examples: [GLUEExample]

    /// A dataset of examples already in memory; `path` names it in errors.
    public init(task: GLUETask, path: String, examples: [GLUEExample]) {
        self.task = task
        self.path = path
        self.examples = examples
    }

    public var count: Int { examples.count }

    /// The labels of all examples, in order.
    public var labels: [Float] { examples.map(\.label) }

    /// The file name errors use for this dataset: its folder and name (`SST-2/dev.tsv`).
    var displayName: String { Self.displayName(of: URL(fileURLWithPath: path)) }

    // MARK: Loading

    /// Reads `directory/split.tsv`, where `directory` is a task folder in GLUE's layout (for
    /// example `glue/SST-2`, or any folder holding files of that format) and `split` is `train` or
    /// `dev` (or any other file stem).
    public static func load(task: GLUETask, directory: URL, split: String) throws -> GLUEDataset {
        let url = directory.appendingPathComponent(split + ".tsv")
        let path = url.path
        let file = displayName(of: url)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw GLUEDataError(.missingFile, file: file, path: path,
                                message: "no such file (looked for \(path))")
        }
        // The bytes, the example strings and their token ids: at most about 6 bytes of memory per byte of TSV.
        try MemoryBudget.requireFile(url, expansion: 6, what: "the TSV file")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw GLUEDataError(.unreadableFile, file: file, path: path,
                                message: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(data, task: task, path: path)
    }

    /// Parses the bytes of one TSV file of `task`; `path` names it in errors.
    static func parse(_ data: Data, task: GLUETask, path: String) throws -> GLUEDataset {
        let layout = TSVLayout(task)
        let file = displayName(of: URL(fileURLWithPath: path))
        func failure(_ kind: GLUEDataError.Kind, _ line: Int, _ message: String) -> GLUEDataError {
            GLUEDataError(kind, file: file, path: path, line: line, message: message)
        }

        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var expectingHeader = layout.hasHeader
        var examples: [GLUEExample] = []
        for (index, rawLine) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { continue }

            var fields: [String] = []
            for rawField in line.split(separator: 0x09, omittingEmptySubsequences: false) {
                guard let field = String(validating: rawField, as: UTF8.self) else {
                    throw failure(.invalidText, lineNumber, "the line is not valid UTF-8")
                }
                fields.append(field)
            }
            guard fields.count == layout.columns.count else {
                throw failure(.columnCount, lineNumber,
                              "expected \(layout.columns.count) tab-separated columns "
                              + "(\(layout.columns.joined(separator: ", "))), got \(fields.count)")
            }
            let labelField = fields[layout.label].trimmingCharacters(in: .whitespaces)
            if expectingHeader {
                expectingHeader = false
                if layout.parseLabel(labelField) != nil {
                    throw failure(.missingHeader, lineNumber,
                                  "expected the header row (\(layout.columns.joined(separator: ", "))) "
                                  + "before the examples, found an example")
                }
                continue
            }
            guard let label = layout.parseLabel(labelField) else {
                throw failure(.badLabel, lineNumber, "label '\(labelField)' \(layout.labelRule)")
            }
            for column in [layout.textA] + (layout.textB.map { [$0] } ?? [])
            where fields[column].allSatisfy(\.isWhitespace) {
                throw failure(.emptySentence, lineNumber,
                              "column \(column + 1) (\(layout.columns[column])) is empty")
            }
            examples.append(GLUEExample(textA: fields[layout.textA], textB: layout.textB.map { fields[$0] },
                                        label: label))
        }
        guard !examples.isEmpty else {
            throw GLUEDataError(.emptyFile, file: file, path: path,
                                message: layout.hasHeader && !expectingHeader
                                    ? "the file has a header row but no examples" : "the file has no examples")
        }
        return GLUEDataset(task: task, path: path, examples: examples)
    }

    private static func displayName(of url: URL) -> String {
        let folder = url.deletingLastPathComponent().lastPathComponent
        return folder.isEmpty || folder == "/" ? url.lastPathComponent : "\(folder)/\(url.lastPathComponent)"
    }

    // MARK: Batching

    /// Encodes every example as `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, truncated to at most
    /// `maxLength` tokens (longest segment first), without padding. Encode once per run and pass the
    /// result to `batches(encodings:padId:batchSize:shuffleSeed:)` for each epoch.
    ///
    /// `maxLength` must hold the special tokens and at least one token of text: 3 or more, and 4 or
    /// more when an example is a pair.
    public func encodings(tokenizer: WordPieceTokenizer, maxLength: Int) throws -> [Encoding] {
        let hasPairs = examples.contains { $0.textB != nil }
        let minimum = hasPairs ? 4 : 3
        guard maxLength >= minimum else {
            throw settingError("maxLength \(maxLength) is too short: \(hasPairs ? "pairs" : "single sentences") "
                               + "need at least \(minimum) tokens ([CLS], [SEP]\(hasPairs ? ", [SEP]" : "") and one token of text)")
        }
        return examples.map { tokenizer.encode($0.textA, $0.textB, maxLength: maxLength) }
    }

    /// The examples in batches of `batchSize` (the last batch may be smaller), each padded to its
    /// own longest row (not to `maxLength`), pairs and long sentences truncated to `maxLength`.
    /// With `shuffleSeed`, the examples are taken in a seeded random order (the same for the same
    /// seed); with nil, in file order.
    public func batches(tokenizer: WordPieceTokenizer, maxLength: Int, batchSize: Int,
                        shuffleSeed: UInt64?) throws -> [GLUEBatch] {
        try batches(encodings: encodings(tokenizer: tokenizer, maxLength: maxLength),
                    padId: tokenizer.padId, batchSize: batchSize, shuffleSeed: shuffleSeed)
    }

    /// Batches of already encoded examples (`encodings[i]` is `examples[i]`, as returned by
    /// `encodings(tokenizer:maxLength:)`), padded with `padId` to each batch's longest row.
    public func batches(encodings: [Encoding], padId: Int32, batchSize: Int,
                        shuffleSeed: UInt64?) throws -> [GLUEBatch] {
        guard batchSize >= 1 else { throw settingError("batch size \(batchSize) must be at least 1") }
        guard encodings.count == examples.count else {
            throw settingError("\(encodings.count) encodings for \(examples.count) examples")
        }
        let order = shuffleSeed.map { Self.permutation(count: examples.count, seed: $0) } ?? Array(examples.indices)
        return try stride(from: 0, to: order.count, by: batchSize).map { start in
            let rows = Array(order[start..<min(start + batchSize, order.count)])
            let padded = try EncodedBatch(padding: rows.map { encodings[$0] }, padId: padId)
            let tokens = TokenBatch(ids: padded.ids, typeIds: padded.tokenTypeIds,
                                    attentionMask: padded.attentionMask.map { Float($0) },
                                    batchSize: padded.batchSize, length: padded.sequenceLength)
            return GLUEBatch(tokens: tokens, labels: rows.map { examples[$0].label }, exampleIndices: rows)
        }
    }

    /// A uniformly random permutation of `0..<count` for `seed`: Fisher–Yates, drawing from
    /// `RandomGenerator` with rejection so that every permutation is equally likely.
    static func permutation(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var generator = RandomGenerator(seed: seed)
        var i = count - 1
        while i > 0 {
            order.swapAt(i, Int(uniformBelow(UInt64(i + 1), using: &generator)))
            i -= 1
        }
        return order
    }

    /// Uniform in `0..<bound` (bound > 0): draws below the largest multiple of `bound` that fits in
    /// 2⁶⁴ are kept and reduced modulo `bound`, the others redrawn.
    private static func uniformBelow(_ bound: UInt64, using generator: inout RandomGenerator) -> UInt64 {
        let rejectBelow = (0 &- bound) % bound  // 2⁶⁴ mod bound
        while true {
            let draw = generator.next()
            if draw >= rejectBelow { return draw % bound }
        }
    }

    private func settingError(_ message: String) -> GLUEDataError {
        GLUEDataError(.invalidSetting, file: displayName, path: path, message: message)
    }
}

/// Where a task's TSV files keep the sentences and the label, and which labels they allow.
private struct TSVLayout {
    /// Column names, in file order (GLUE's header names; CoLA, which has no header, by meaning).
    let columns: [String]
    let hasHeader: Bool
    let textA: Int
    let textB: Int?
    let label: Int
    let task: GLUETask

    init(_ task: GLUETask) {
        self.task = task
        switch task {
        case .sst2:
            columns = ["sentence", "label"]
            hasHeader = true; textA = 0; textB = nil; label = 1
        case .cola:
            columns = ["source", "label", "author's mark", "sentence"]
            hasHeader = false; textA = 3; textB = nil; label = 1
        case .mrpc:
            columns = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
            hasHeader = true; textA = 3; textB = 4; label = 0
        case .rte:
            columns = ["index", "sentence1", "sentence2", "label"]
            hasHeader = true; textA = 1; textB = 2; label = 3
        case .stsb:
            columns = ["index", "genre", "filename", "year", "old_index", "source1", "source2",
                       "sentence1", "sentence2", "score"]
            hasHeader = true; textA = 7; textB = 8; label = 9
        }
    }

    /// The label a field stands for, or nil when the task does not allow it: "0"/"1" for SST-2,
    /// CoLA and MRPC; `entailment` (0) / `not_entailment` (1) for RTE; a decimal score in [0, 5]
    /// for STS-B.
    func parseLabel(_ field: String) -> Float? {
        switch task {
        case .sst2, .cola, .mrpc:
            switch field {
            case "0": return 0
            case "1": return 1
            default: return nil
            }
        case .rte:
            return task.labelNames.firstIndex(of: field).map { Float($0) }
        case .stsb:
            // Plain decimals only: Float(_:) would also take "nan", "inf" and hexadecimal.
            guard !field.isEmpty, field.allSatisfy({ "0123456789.eE+-".contains($0) }),
                  let score = Float(field), score >= 0, score <= 5 else { return nil }
            return score
        }
    }

    /// The end of the bad-label message: what the label should have been.
    var labelRule: String {
        switch task {
        case .sst2, .cola, .mrpc: return "is not one of 0, 1"
        case .rte: return "is not one of \(task.labelNames.joined(separator: ", "))"
        case .stsb: return "is not a number in [0, 5]"
        }
    }
}
