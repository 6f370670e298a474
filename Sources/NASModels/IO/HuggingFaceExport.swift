import Foundation
import NASTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a SwiftNAS model folder (what `Checkpoint.save` writes, plus the trainer's optional
/// `swiftnas_task` key in `config.json`) into a folder that Hugging Face `transformers` loads with
/// `from_pretrained` as `BertModel` or `BertForSequenceClassification`:
///
/// - `config.json`: a plain `BertConfig` (`model_type` bert, `architectures`, the sizes, `hidden_act`,
///   `layer_norm_eps`, …; for a classifier `id2label`/`label2id` and `problem_type`), without SwiftNAS's
///   `swiftnas_architecture`/`swiftnas_task` keys, and with the marker `swiftnas_export` (`{"version": 1}`)
///   by which a later export recognises a folder it may replace.
/// - `model.safetensors`: F32 tensors under `transformers`' names. `BertModel`: the backbone unprefixed
///   (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, …), plus
///   `pooler.dense.*` only when the checkpoint has a pooler; without one `transformers` initialises its
///   pooler randomly and lists `pooler.dense.*` as missing keys, and `last_hidden_state` is exact all the
///   same (only `pooler_output` is then meaningless). `BertForSequenceClassification`: the backbone under
///   `bert.`, `bert.pooler.dense.*` and `classifier.*`.
/// - `vocab.txt`: the checkpoint's vocabulary, copied (required: it is what `BertTokenizer` reads).
///
/// The task comes from `swiftnas_task` (`{"kind": "classification" | "regression" | "mlm" | "causal",
/// "numLabels": N, "pooling": "cls" | "mean"}`; absent = a bare backbone): classification and regression
/// give `BertForSequenceClassification` (`problem_type` "regression" when numLabels = 1, else
/// "single_label_classification"); a bare backbone and an MLM model give `BertModel` (the MLM head's
/// `cls.predictions.*` tensors are left out and listed in `Report.droppedTensors`).
///
/// Refused, with every reason listed: what `BertConfig` cannot express (decoders, qkv ≠ hidden, layers
/// that differ, non-SDP token mixers, FFN stacks, per-layer widths, bottlenecks, factorised embeddings)
/// and mean pooling (`BertForSequenceClassification` classifies the `[CLS]` pooler's output).
/// A model without token types (`typeVocabSize` 0) is written with one all-zero token-type row
/// (`type_vocab_size` 1), which adds nothing to the embeddings: the outputs are unchanged.
///
/// Writing is all-or-nothing: the folder is assembled under a temporary name beside `out` and renamed
/// into place. An existing `out` is replaced only when it is empty or a previous export (its
/// `config.json` carries `swiftnas_export` and it holds nothing but the three files above); any other
/// existing folder is refused, untouched.
public enum HuggingFaceExport {
    /// The trainer's description of a checkpoint's head: `config.json`'s `swiftnas_task` key.
    public struct CheckpointTask: Equatable, Sendable {
        public enum Kind: String, CaseIterable, Sendable {
            case classification, regression, mlm, causal
        }

        public var kind: Kind
        /// Number of outputs of a classification or regression head (regression: 1); nil for the others.
        public var numLabels: Int?
        /// The sentence pooling of a classification or regression head; nil for the others.
        public var pooling: SequenceClassificationHead.Pooling?

        public init(kind: Kind, numLabels: Int? = nil, pooling: SequenceClassificationHead.Pooling? = nil) {
            self.kind = kind
            self.numLabels = numLabels
            self.pooling = pooling
        }

        /// The config key.
        public static let key = "swiftnas_task"

        /// The key's value as JSON (what a trainer writes into `config.json`).
        public var json: JSONValue {
            var o: [String: JSONValue] = ["kind": .string(kind.rawValue)]
            if let numLabels { o["numLabels"] = .int(numLabels) }
            if let pooling { o["pooling"] = .string(pooling.rawValue) }
            return .object(o)
        }

        /// Reads `swiftnas_task` from a parsed `config.json` (nil when absent or null: a bare backbone).
        /// `numLabels` defaults to 1 for regression and must then be 1; `pooling` defaults to "cls".
        public static func read(from config: JSONValue, path: String) throws -> CheckpointTask? {
            guard case .object(let top) = config, let value = top[key], value != .null else { return nil }
            guard case .object(let o) = value else {
                throw Failure.invalidTask(file: path, field: key, reason: "is a JSON \(value.typeName), expected an object "
                    + "{\"kind\": …, \"numLabels\": …, \"pooling\": …}")
            }
            let kinds = Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            guard let kindValue = o["kind"] else {
                throw Failure.invalidTask(file: path, field: key + ".kind", reason: "is missing, expected one of \(kinds)")
            }
            guard case .string(let kindText) = kindValue, let kind = Kind(rawValue: kindText) else {
                throw Failure.invalidTask(file: path, field: key + ".kind",
                                          reason: "is \(describe(kindValue)), expected one of \(kinds)")
            }
            var task = CheckpointTask(kind: kind)
            guard kind == .classification || kind == .regression else { return task }

            switch o["numLabels"] {
            case nil, .null?:
                task.numLabels = kind == .regression ? 1 : nil
            case .int(let n)?:
                guard n >= 1 else {
                    throw Failure.invalidTask(file: path, field: key + ".numLabels", reason: "is \(n), expected ≥ 1")
                }
                if kind == .regression && n != 1 {
                    throw Failure.invalidTask(file: path, field: key + ".numLabels",
                                              reason: "is \(n) for a regression head, expected 1")
                }
                task.numLabels = n
            case let other?:
                throw Failure.invalidTask(file: path, field: key + ".numLabels",
                                          reason: "is \(describe(other)), expected an integer ≥ 1")
            }
            switch o["pooling"] {
            case nil, .null?:
                task.pooling = .cls
            case .string(let p)? where SequenceClassificationHead.Pooling(rawValue: p) != nil:
                task.pooling = SequenceClassificationHead.Pooling(rawValue: p)
            case let other?:
                throw Failure.invalidTask(file: path, field: key + ".pooling",
                                          reason: "is \(describe(other)), expected \"cls\" or \"mean\"")
            }
            return task
        }

        private static func describe(_ v: JSONValue) -> String {
            if case .string(let s) = v { return "\"\(s)\"" }
            return "a JSON \(v.typeName)"
        }
    }

    /// What an export wrote.
    public struct Report: Equatable, Sendable {
        /// The export folder.
        public var output: URL
        /// The `transformers` class to load it with: "BertModel" or "BertForSequenceClassification".
        public var transformersClass: String
        /// The checkpoint's task (nil: a bare backbone).
        public var task: CheckpointTask?
        /// The files written, in order: config.json, model.safetensors, vocab.txt.
        public var files: [String]
        /// Tensors written to `model.safetensors`, and their total element count.
        public var tensorCount: Int
        public var parameterCount: Int
        /// Vocabulary entries (lines of vocab.txt).
        public var vocabularySize: Int
        /// Whether the pooler was written (else `transformers` initialises it).
        public var hasPooler: Bool
        /// Checkpoint tensors that are not part of the exported model (e.g. an MLM head), sorted.
        public var droppedTensors: [String]
        /// Whether `output` held a previous export, now replaced.
        public var replacedPreviousExport: Bool
        /// What the user should know (pooler left to `transformers`, synthesised token types, …).
        public var notes: [String]
    }

    /// Why an export failed. Every message names the file (and the field or tensor) concerned.
    public enum Failure: Error, Equatable, CustomStringConvertible, LocalizedError {
        case missingFile(path: String, expected: String)
        case invalidTask(file: String, field: String, reason: String)
        /// Everything `transformers` cannot express, each reason naming its config field.
        case unsupported(file: String, reasons: [String])
        case missingTensor(file: String, tensor: String, reason: String)
        case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
        case invalidVocabulary(file: String, reason: String)
        case outputExists(path: String, reason: String)
        case cannotWrite(path: String, reason: String)

        public var description: String {
            switch self {
            case let .missingFile(p, expected):
                return "\(p): file not found, expected \(expected)"
            case let .invalidTask(f, field, reason):
                return "\(f): field '\(field)' \(reason)"
            case let .unsupported(f, reasons):
                return "\(f): Hugging Face transformers cannot express this model (\(reasons.count) "
                    + "reason\(reasons.count == 1 ? "" : "s")):\n" + reasons.map { "  - " + $0 }.joined(separator: "\n")
            case let .missingTensor(f, t, reason):
                return "\(f): tensor '\(t)' is missing, \(reason)"
            case let .shapeMismatch(f, t, e, s):
                return "\(f): tensor '\(t)' has shape \(s), expected \(e)"
            case let .invalidVocabulary(f, reason):
                return "\(f): \(reason)"
            case let .outputExists(p, reason):
                return "\(p): \(reason)"
            case let .cannotWrite(p, reason):
                return "\(p): cannot write the export: \(reason)"
            }
        }

        public var errorDescription: String? { description }
    }

    /// The files of an export, in the order they are written.
    public static let files = ["config.json", "model.safetensors", "vocab.txt"]
    /// The config key marking a folder as a SwiftNAS export.
    public static let markerKey = "swiftnas_export"

    // MARK: - Export

    /// Exports the model folder `checkpoint` to `out` (see the type's documentation).
    @discardableResult
    public static func export(checkpoint: URL, to out: URL) throws -> Report {
        let fm = FileManager.default
        let source = checkpoint.standardizedFileURL
        let target = out.standardizedFileURL
        let configURL = source.appendingPathComponent("config.json")
        let weightsURL = source.appendingPathComponent("model.safetensors")
        let vocabURL = source.appendingPathComponent("vocab.txt")
        let configPath = configURL.path

        // 1. Read and check everything before writing a byte.
        guard fm.fileExists(atPath: configURL.path) else {
            throw Failure.missingFile(path: configURL.path, expected: "the checkpoint's config (config.json)")
        }
        guard fm.fileExists(atPath: weightsURL.path) else {
            throw Failure.missingFile(path: weightsURL.path, expected: "the checkpoint's weights (model.safetensors)")
        }
        let rawConfig: JSONValue
        do {
            rawConfig = try JSONValue(parsing: Data(contentsOf: configURL))
        } catch let error as JSONValue.ParseError {
            throw ModelConfigError.invalidJSON(path: configPath, reason: error.description)
        } catch {
            throw ModelConfigError.cannotRead(path: configPath, reason: error.localizedDescription)
        }
        let config = try ModelConfig(json: rawConfig, path: configPath)
        let arch = try Checkpoint.architecture(of: config, path: configPath)
        let task = try CheckpointTask.read(from: rawConfig, path: configPath)

        var reasons = limitations(of: arch, exactArchitecture: config.swiftnasArchitecture != nil)
        if let task {
            switch task.kind {
            case .causal where arch.family == .encoder:
                reasons.append("\(CheckpointTask.key).kind is \"causal\": a causal LM is a decoder, "
                    + "this export writes BERT encoders only")
            case .classification, .regression:
                if task.pooling == .mean {
                    reasons.append("\(CheckpointTask.key).pooling is \"mean\": BertForSequenceClassification classifies "
                        + "the [CLS] pooler's output (tanh(dense(h_CLS))), it has no mean pooling; train the head with "
                        + "pooling \"cls\" to export it")
                }
            default:
                break
            }
        }
        guard reasons.isEmpty else { throw Failure.unsupported(file: configPath, reasons: reasons) }

        guard fm.fileExists(atPath: vocabURL.path) else {
            let char = fm.fileExists(atPath: source.appendingPathComponent("char-tokenizer.json").path)
            throw Failure.missingFile(path: vocabURL.path, expected: "the checkpoint's WordPiece vocabulary (vocab.txt), "
                + "which BertTokenizer reads" + (char ? "; the checkpoint has a character tokenizer (char-tokenizer.json), "
                + "which transformers' BertTokenizer cannot replace" : ""))
        }
        let vocabulary: Data
        do {
            vocabulary = try Data(contentsOf: vocabURL)
        } catch {
            throw Failure.invalidVocabulary(file: vocabURL.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let vocabularySize = lineCount(vocabulary)
        guard vocabularySize > 0, vocabularySize <= arch.vocabSize else {
            throw Failure.invalidVocabulary(file: vocabURL.path, reason: "\(vocabularySize) tokens, but config.json "
                + "vocab_size is \(arch.vocabSize), expected between 1 and \(arch.vocabSize) (every token id needs an embedding row)")
        }

        let classifier = task.map { $0.kind == .classification || $0.kind == .regression } ?? false
        let transformersClass = classifier ? "BertForSequenceClassification" : "BertModel"
        let weights = try SafeTensorsFile(contentsOf: weightsURL)
        if let q = weights.names.first(where: { weights.info($0)?.dtype == .i8 }) {
            throw Failure.unsupported(file: weightsURL.path, reasons: ["tensor '\(q)' is stored as int8 (a `quantize apply` "
                + "checkpoint, which transformers' BertModel cannot load); export its fp32 source instead"])
        }
        let picked = try tensors(for: arch, task: classifier ? task : nil, from: weights, configPath: configPath)
        var notes = picked.notes
        if vocabularySize < arch.vocabSize {
            notes.append("vocab.txt has \(vocabularySize) tokens for \(arch.vocabSize) embedding rows; "
                + "the last \(arch.vocabSize - vocabularySize) rows are never produced by the tokenizer")
        }
        if task?.kind == .mlm {
            notes.append("the masked-LM head (cls.predictions.*) is not exported: BertModel is the backbone only")
        }
        let json = try hfConfig(for: arch, transformersClass: transformersClass,
                                numLabels: classifier ? picked.numLabels : nil)
        let configText: String
        do {
            configText = try json.serialized(pretty: true) + "\n"
        } catch {
            throw Failure.cannotWrite(path: target.appendingPathComponent("config.json").path, reason: "\(error)")
        }

        // 2. Where to write: refuse what must not be replaced.
        guard source.resolvingSymlinksInPath().path != target.resolvingSymlinksInPath().path else {
            throw Failure.outputExists(path: target.path, reason: "is the checkpoint folder itself, expected another folder")
        }
        let replacing = try existingOutput(target)

        // 3. Assemble in a staging folder beside `out`, then rename it into place.
        let parent = target.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).export-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw Failure.cannotWrite(path: target.path, reason: "cannot create \(staging.path): \(error.localizedDescription)")
        }
        var placed = false
        defer { if !placed { try? fm.removeItem(at: staging) } }

        for (name, bytes) in [("config.json", Data(configText.utf8)), ("vocab.txt", vocabulary)] {
            let url = staging.appendingPathComponent(name)
            do {
                try AtomicFile.write(bytes, to: url)
            } catch let failure as AtomicFile.Failure {
                throw Failure.cannotWrite(path: url.path, reason: failure.reason)
            }
        }
        try SafeTensorsFile.write(picked.tensors, metadata: ["format": "pt"],
                                  to: staging.appendingPathComponent("model.safetensors"))

        try place(staging, at: target, replacing: replacing)
        placed = true

        return Report(output: target, transformersClass: transformersClass, task: task, files: files,
                      tensorCount: picked.tensors.count, parameterCount: picked.tensors.reduce(0) { $0 + $1.tensor.count },
                      vocabularySize: vocabularySize, hasPooler: picked.hasPooler,
                      droppedTensors: weights.names.filter { !picked.used.contains($0) }.sorted(),
                      replacedPreviousExport: replacing == .previousExport, notes: notes)
    }

    // MARK: - What BertConfig can express

    /// Why `transformers`' `BertModel` cannot run `arch` exactly (empty when it can). Each reason names the
    /// config field concerned (`swiftnas_architecture.…` when the checkpoint has its exact architecture).
    public static func limitations(of arch: Architecture, exactArchitecture: Bool = true) -> [String] {
        let field = exactArchitecture ? ModelConfig.architectureKey + "." : ""
        var reasons: [String] = []
        if arch.family == .decoder {
            reasons.append("\(field.isEmpty ? "model_type is \"gpt2\"" : field + "family is \"decoder\""): a decoder "
                + "(GPT-style, pre-LN, causal); this export writes BERT encoders only")
        }
        if let e = arch.embeddingSize, e != arch.hidden {
            reasons.append("\(field)embeddingSize is \(e) but hidden is \(arch.hidden): factorised embeddings; "
                + "BERT's embeddings are hidden wide")
        }
        /// "layers[0, 2].qkv is 16, 24" for the layers where `value` is non-nil.
        func perLayer(_ what: String, _ value: (Architecture.Layer) -> String?) -> String? {
            let hits = arch.layers.enumerated().compactMap { i, l in value(l).map { (i, $0) } }
            guard !hits.isEmpty else { return nil }
            let indices = hits.map { String($0.0) }.joined(separator: ", ")
            let values = hits.map(\.1)
            let shown = Set(values).count == 1 ? values[0] : values.joined(separator: ", ")
            return "\(field)layers[\(indices)].\(what) is \(shown)"
        }
        if let first = arch.layers.first, let i = arch.layers.firstIndex(where: { $0 != first }) {
            reasons.append("\(field)layers differ (layer 0: \(summary(first)); layer \(i): \(summary(arch.layers[i]))): "
                + "BertConfig has one num_attention_heads and one intermediate_size for all layers")
        }
        if let r = perLayer("qkv", { $0.qkv != arch.hidden ? "\($0.qkv)" : nil }) {
            reasons.append(r + " but hidden is \(arch.hidden): BERT's query/key/value are hidden wide")
        }
        if let r = perLayer("operation", { $0.operation != .sdp ? "\"\($0.operation)\"" : nil }) {
            reasons.append(r + ": BERT's token mixer is scaled dot-product attention (\"sdp\") only")
        }
        if let r = perLayer("ffnStack", { $0.ffnStack.isEmpty ? nil : "\($0.ffnStack)" }) {
            reasons.append(r + ": BERT's FFN has one intermediate layer")
        }
        if let r = perLayer("hidden", { l in l.hidden.flatMap { $0 != arch.hidden ? "\($0)" : nil } }) {
            reasons.append(r + " but hidden is \(arch.hidden): BERT has one hidden size for all layers")
        }
        if let r = perLayer("bottleneck", { $0.bottleneck.map(String.init) }) {
            reasons.append(r + ": bottleneck blocks are MobileBERT's, BERT has none")
        }
        if reasons.isEmpty, let heads = arch.layers.first?.heads, arch.hidden % heads != 0 {
            reasons.append("\(field)layers[*].heads is \(heads), which does not divide hidden \(arch.hidden)")
        }
        return reasons
    }

    private static func summary(_ l: Architecture.Layer) -> String {
        "heads \(l.heads), qkv \(l.qkv), ffn \(l.ffn)"
    }

    /// The `config.json` object `transformers` reads for `arch` (which has passed `limitations(of:)`).
    static func hfConfig(for arch: Architecture, transformersClass: String, numLabels: Int?) throws -> JSONValue {
        guard case .object(var o) = try Checkpoint.config(for: arch, architectures: [transformersClass]).json else {
            preconditionFailure("ModelConfig.json is always an object")
        }
        o[ModelConfig.architectureKey] = nil
        o["type_vocab_size"] = .int(max(arch.typeVocabSize, 1))
        o["position_embedding_type"] = .string("absolute")
        o["classifier_dropout"] = .null
        if let n = numLabels {
            o["id2label"] = .object(Dictionary(uniqueKeysWithValues: (0..<n).map { ("\($0)", JSONValue.string("LABEL_\($0)")) }))
            o["label2id"] = .object(Dictionary(uniqueKeysWithValues: (0..<n).map { ("LABEL_\($0)", JSONValue.int($0)) }))
            o["problem_type"] = .string(n == 1 ? "regression" : "single_label_classification")
        }
        o[markerKey] = .object(["version": .int(1)])
        return .object(o)
    }

    // MARK: - Tensors

    /// The tensors `transformers` expects, in order (HF name, shape), each taken from the checkpoint under
    /// SwiftNAS's name or with the `bert.` prefix.
    private static func tensors(for arch: Architecture, task: CheckpointTask?, from file: SafeTensorsFile,
                                configPath: String) throws
        -> (tensors: [(name: String, tensor: Tensor)], used: Set<String>, hasPooler: Bool, numLabels: Int?, notes: [String]) {
        let h = arch.hidden, ffn = arch.layers[0].ffn
        let path = file.url.path
        let prefix = task == nil ? "" : "bert."
        var out: [(name: String, tensor: Tensor)] = []
        var used = Set<String>()
        var notes: [String] = []

        /// The checkpoint's name for a SwiftNAS parameter: as is, or with `bert.` (nil when absent).
        func stored(_ name: String) -> String? {
            [name, "bert." + name].first(where: file.contains)
        }
        func take(_ name: String, _ shape: [Int], as exported: String, why: String) throws {
            guard let s = stored(name) else { throw Failure.missingTensor(file: path, tensor: name, reason: why) }
            let found = file.info(s)!.shape
            guard found == shape else { throw Failure.shapeMismatch(file: path, tensor: s, expected: shape, found: found) }
            out.append((exported, try Checkpoint.finiteTensor(s, in: file)))
            used.insert(s)
        }
        func backbone(_ name: String, _ shape: [Int]) throws {
            try take(name, shape, as: prefix + name, why: "expected every parameter of the backbone that config.json describes")
        }

        try backbone("embeddings.word_embeddings.weight", [arch.vocabSize, h])
        try backbone("embeddings.position_embeddings.weight", [arch.maxPositions, h])
        if arch.typeVocabSize > 0 {
            try backbone("embeddings.token_type_embeddings.weight", [arch.typeVocabSize, h])
        } else {
            out.append((prefix + "embeddings.token_type_embeddings.weight", Tensor(zeros: [1, h])))
            notes.append("the model has no token types: token_type_embeddings is one row of zeros (type_vocab_size 1), "
                + "so token_type_ids must be 0 (the default)")
        }
        try backbone("embeddings.LayerNorm.weight", [h])
        try backbone("embeddings.LayerNorm.bias", [h])
        for i in 0..<arch.depth {
            let p = "encoder.layer.\(i)."
            for (module, shape) in [("attention.self.query", [h, h]), ("attention.self.key", [h, h]),
                                    ("attention.self.value", [h, h]), ("attention.output.dense", [h, h]),
                                    ("attention.output.LayerNorm", [h]), ("intermediate.dense", [ffn, h]),
                                    ("output.dense", [h, ffn]), ("output.LayerNorm", [h])] {
                try backbone(p + module + ".weight", shape)
                try backbone(p + module + ".bias", module.hasSuffix("LayerNorm") ? [h] : [shape[0]])
            }
        }

        // The pooler: required by a classifier, optional (written when present) for BertModel.
        var hasPooler = false
        if let task {
            let why = "expected the [CLS] pooler of the \(task.kind.rawValue) head (\(CheckpointTask.key).pooling \"cls\")"
            try take("pooler.dense.weight", [h, h], as: "bert.pooler.dense.weight", why: why)
            try take("pooler.dense.bias", [h], as: "bert.pooler.dense.bias", why: why)
            hasPooler = true
        } else if stored("pooler.dense.weight") != nil || stored("pooler.dense.bias") != nil {
            let why = "expected both pooler.dense.weight and pooler.dense.bias when either is present"
            try take("pooler.dense.weight", [h, h], as: "pooler.dense.weight", why: why)
            try take("pooler.dense.bias", [h], as: "pooler.dense.bias", why: why)
            hasPooler = true
        } else {
            notes.append("the checkpoint has no pooler: transformers initialises pooler.dense randomly (reported as "
                + "missing keys); last_hidden_state is exact, pooler_output is not meaningful")
        }

        // The classifier: its rows are the labels.
        var numLabels: Int?
        if let task {
            let why = "expected the \(task.kind.rawValue) head's output layer"
            guard file.contains("classifier.weight") else {
                throw Failure.missingTensor(file: path, tensor: "classifier.weight", reason: why)
            }
            let rows = file.info("classifier.weight")!.shape.first ?? 0
            if let n = task.numLabels, n != rows {
                throw Failure.invalidTask(file: configPath, field: CheckpointTask.key + ".numLabels", reason: "is \(n) but "
                    + "classifier.weight in \(path) has \(rows) rows (one per label), expected them to agree")
            }
            let n = task.numLabels ?? rows
            try take("classifier.weight", [n, h], as: "classifier.weight", why: why)
            try take("classifier.bias", [n], as: "classifier.bias", why: why)
            numLabels = n
        }
        return (out, used, hasPooler, numLabels, notes)
    }

    // MARK: - Files

    /// Lines of a text file as `BertTokenizer` counts them (a final line without a newline counts).
    static func lineCount(_ data: Data) -> Int {
        var n = data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        if let last = data.last, last != 0x0A { n += 1 }
        return n
    }

    /// What is at the output path now.
    enum ExistingOutput: Equatable { case nothing, emptyFolder, previousExport }

    /// Classifies `target`, refusing a file or a folder that is neither empty nor a previous export.
    static func existingOutput(_ target: URL) throws -> ExistingOutput {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: target.path, isDirectory: &isDirectory) else { return .nothing }
        guard isDirectory.boolValue else {
            throw Failure.outputExists(path: target.path, reason: "a file is in the way, expected a folder (new, empty "
                + "or a previous export)")
        }
        let entries: [String]
        do {
            entries = try fm.contentsOfDirectory(atPath: target.path).sorted()
        } catch {
            throw Failure.outputExists(path: target.path, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        if entries.isEmpty { return .emptyFolder }
        let refuse = "is not empty and not a previous SwiftNAS export; remove it or choose another folder (nothing was written)"
        let foreign = entries.filter { !files.contains($0) }
        guard foreign.isEmpty else {
            throw Failure.outputExists(path: target.path, reason: refuse + "; it holds " + foreign.prefix(5).joined(separator: ", ")
                + (foreign.count > 5 ? ", …" : ""))
        }
        guard let data = try? Data(contentsOf: target.appendingPathComponent("config.json")),
              case .object(let o)? = try? JSONValue(parsing: data), o[markerKey] != nil else {
            throw Failure.outputExists(path: target.path, reason: refuse + "; its config.json has no \"\(markerKey)\" key")
        }
        return .previousExport
    }

    /// Renames the finished `staging` folder to `target`. An empty folder is replaced by one rename; a
    /// previous export is first moved aside, then removed once the new one is in place (restored when
    /// the second rename fails).
    private static func place(_ staging: URL, at target: URL, replacing: ExistingOutput) throws {
        let fm = FileManager.default
        var aside: URL?
        if replacing == .previousExport {
            let a = target.deletingLastPathComponent()
                .appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            guard rename(target.path, a.path) == 0 else {
                throw Failure.cannotWrite(path: target.path, reason: "cannot move the previous export aside: \(AtomicFile.errnoText())")
            }
            aside = a
        }
        guard rename(staging.path, target.path) == 0 else {
            let reason = AtomicFile.errnoText()
            if let aside { _ = rename(aside.path, target.path) }
            throw Failure.cannotWrite(path: target.path, reason: "cannot rename \(staging.path) into place: \(reason)")
        }
        let dfd = open(target.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        if let aside { try? fm.removeItem(at: aside) }
    }
}
