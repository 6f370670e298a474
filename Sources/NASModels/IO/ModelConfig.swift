import Foundation
import NASTensor

// Hugging Face-style `config.json`: one JSON object whose `model_type` names the family and whose
// other keys are that family's hyper-parameters, spelled as in `transformers`:
//
//   bert: vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size (required);
//         hidden_act, max_position_embeddings, type_vocab_size, layer_norm_eps, hidden_dropout_prob,
//         attention_probs_dropout_prob, initializer_range, pad_token_id, architectures (optional,
//         `transformers` defaults).
//   gpt2: vocab_size, n_positions, n_embd, n_layer, n_head (required); n_inner (null → 4·n_embd),
//         activation_function, layer_norm_epsilon, resid_pdrop, embd_pdrop, attn_pdrop,
//         initializer_range, architectures (optional).
//
// Unknown keys are ignored on read. `swiftnas_architecture` (optional, any JSON) is SwiftNAS's own
// extension key, kept verbatim, for a heterogeneous architecture the HF keys cannot express.

/// Why a `config.json` cannot be read or written. Messages name the file and the key.
public enum ModelConfigError: Error, Equatable, LocalizedError, CustomStringConvertible {
    case cannotRead(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case notAnObject(path: String, found: String)
    case missingKey(path: String, key: String)
    case wrongType(path: String, key: String, expected: String, found: String)
    case invalidValue(path: String, key: String, reason: String)
    case unsupportedModelType(path: String, modelType: String)
    case writeFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case .cannotRead(let p, _), .invalidJSON(let p, _), .notAnObject(let p, _), .missingKey(let p, _),
             .wrongType(let p, _, _, _), .invalidValue(let p, _, _), .unsupportedModelType(let p, _),
             .writeFailed(let p, _):
            return p
        }
    }

    /// The key concerned, when the failure is about one.
    public var key: String? {
        switch self {
        case .missingKey(_, let k), .wrongType(_, let k, _, _), .invalidValue(_, let k, _): return k
        case .unsupportedModelType: return "model_type"
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .cannotRead(p, reason):
            return "config \(p): cannot read: \(reason)"
        case let .invalidJSON(p, reason):
            return "config \(p): not valid JSON (\(reason)), expected a JSON object"
        case let .notAnObject(p, found):
            return "config \(p): top level is a JSON \(found), expected a JSON object"
        case let .missingKey(p, key):
            return "config \(p): missing required key \"\(key)\""
        case let .wrongType(p, key, expected, found):
            return "config \(p): key \"\(key)\" is a JSON \(found), expected \(expected)"
        case let .invalidValue(p, key, reason):
            return "config \(p): key \"\(key)\": \(reason)"
        case let .unsupportedModelType(p, type):
            return "config \(p): key \"model_type\" is \"\(type)\", which is not supported, expected one of "
                + ModelConfig.Family.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        case let .writeFailed(p, reason):
            return "config \(p): write failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// A BERT-style encoder's `config.json` (`model_type: "bert"`).
public struct BertConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var initializerRange: Double
    public var padTokenId: Int?
    public var architectures: [String]?
    /// The `swiftnas_architecture` extension value, verbatim.
    public var swiftnasArchitecture: JSONValue?

    public init(vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                intermediateSize: Int, hiddenAct: String = "gelu", maxPositionEmbeddings: Int = 512,
                typeVocabSize: Int = 2, layerNormEps: Double = 1e-12, hiddenDropoutProb: Double = 0.1,
                attentionProbsDropoutProb: Double = 0.1, initializerRange: Double = 0.02,
                padTokenId: Int? = 0, architectures: [String]? = nil, swiftnasArchitecture: JSONValue? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.initializerRange = initializerRange
        self.padTokenId = padTokenId
        self.architectures = architectures
        self.swiftnasArchitecture = swiftnasArchitecture
    }
}

/// A GPT-2-style decoder's `config.json` (`model_type: "gpt2"`).
public struct GPT2Config: Equatable, Sendable {
    public var vocabSize: Int
    public var nPositions: Int
    public var nEmbd: Int
    public var nLayer: Int
    public var nHead: Int
    /// The FFN width; nil (JSON null) means 4·n_embd.
    public var nInner: Int?
    public var activationFunction: String
    public var layerNormEpsilon: Double
    public var residPdrop: Double
    public var embdPdrop: Double
    public var attnPdrop: Double
    public var initializerRange: Double
    public var architectures: [String]?
    /// The `swiftnas_architecture` extension value, verbatim.
    public var swiftnasArchitecture: JSONValue?

    public init(vocabSize: Int, nPositions: Int, nEmbd: Int, nLayer: Int, nHead: Int, nInner: Int? = nil,
                activationFunction: String = "gelu_new", layerNormEpsilon: Double = 1e-5,
                residPdrop: Double = 0.1, embdPdrop: Double = 0.1, attnPdrop: Double = 0.1,
                initializerRange: Double = 0.02, architectures: [String]? = nil,
                swiftnasArchitecture: JSONValue? = nil) {
        self.vocabSize = vocabSize
        self.nPositions = nPositions
        self.nEmbd = nEmbd
        self.nLayer = nLayer
        self.nHead = nHead
        self.nInner = nInner
        self.activationFunction = activationFunction
        self.layerNormEpsilon = layerNormEpsilon
        self.residPdrop = residPdrop
        self.embdPdrop = embdPdrop
        self.attnPdrop = attnPdrop
        self.initializerRange = initializerRange
        self.architectures = architectures
        self.swiftnasArchitecture = swiftnasArchitecture
    }

    /// The FFN width actually used: `n_inner`, or 4·n_embd when it is null.
    public var innerSize: Int { nInner ?? 4 * nEmbd }
}

/// A model's `config.json`, by family. Read with `init(contentsOf:)`, write with `write(to:)`
/// (atomically: temporary file + rename; keys sorted, two-space indent).
public enum ModelConfig: Equatable, Sendable {
    case bert(BertConfig)
    case gpt2(GPT2Config)

    /// The `model_type` values understood.
    public enum Family: String, CaseIterable, Sendable {
        case bert, gpt2
    }

    /// The SwiftNAS extension key.
    public static let architectureKey = "swiftnas_architecture"

    public var family: Family {
        switch self {
        case .bert: return .bert
        case .gpt2: return .gpt2
        }
    }

    // MARK: - Family-independent view

    public var vocabSize: Int {
        switch self { case .bert(let c): return c.vocabSize; case .gpt2(let c): return c.vocabSize }
    }
    public var hiddenSize: Int {
        switch self { case .bert(let c): return c.hiddenSize; case .gpt2(let c): return c.nEmbd }
    }
    public var numLayers: Int {
        switch self { case .bert(let c): return c.numHiddenLayers; case .gpt2(let c): return c.nLayer }
    }
    public var numHeads: Int {
        switch self { case .bert(let c): return c.numAttentionHeads; case .gpt2(let c): return c.nHead }
    }
    /// The FFN width.
    public var intermediateSize: Int {
        switch self { case .bert(let c): return c.intermediateSize; case .gpt2(let c): return c.innerSize }
    }
    public var maxPositions: Int {
        switch self { case .bert(let c): return c.maxPositionEmbeddings; case .gpt2(let c): return c.nPositions }
    }
    public var layerNormEps: Double {
        switch self { case .bert(let c): return c.layerNormEps; case .gpt2(let c): return c.layerNormEpsilon }
    }
    /// The HF activation name (`hidden_act` / `activation_function`).
    public var activation: String {
        switch self { case .bert(let c): return c.hiddenAct; case .gpt2(let c): return c.activationFunction }
    }
    public var swiftnasArchitecture: JSONValue? {
        get {
            switch self {
            case .bert(let c): return c.swiftnasArchitecture
            case .gpt2(let c): return c.swiftnasArchitecture
            }
        }
        set {
            switch self {
            case .bert(var c): c.swiftnasArchitecture = newValue; self = .bert(c)
            case .gpt2(var c): c.swiftnasArchitecture = newValue; self = .gpt2(c)
            }
        }
    }

    // MARK: - Reading

    /// Reads and validates `config.json` at `url`.
    public init(contentsOf url: URL) throws {
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelConfigError.cannotRead(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: url.path)
    }

    /// Parses a config from JSON bytes; `path` is only used in error messages.
    public init(data: Data, path: String = "<memory>") throws {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch {
            throw ModelConfigError.invalidJSON(path: path, reason: "\(error)")
        }
        try self.init(json: json, path: path)
    }

    /// Reads a config from a parsed JSON value; `path` is only used in error messages.
    public init(json: JSONValue, path: String = "<memory>") throws {
        guard case .object(let object) = json else {
            throw ModelConfigError.notAnObject(path: path, found: json.typeName)
        }
        let r = KeyReader(path: path, object: object)
        let modelType = try r.string("model_type")
        guard let family = Family(rawValue: modelType) else {
            throw ModelConfigError.unsupportedModelType(path: path, modelType: modelType)
        }
        let extensionValue = object[ModelConfig.architectureKey]
        switch family {
        case .bert:
            self = .bert(BertConfig(
                vocabSize: try r.int("vocab_size"),
                hiddenSize: try r.int("hidden_size"),
                numHiddenLayers: try r.int("num_hidden_layers"),
                numAttentionHeads: try r.int("num_attention_heads"),
                intermediateSize: try r.int("intermediate_size"),
                hiddenAct: try r.string("hidden_act", default: "gelu"),
                maxPositionEmbeddings: try r.int("max_position_embeddings", default: 512),
                typeVocabSize: try r.int("type_vocab_size", default: 2),
                layerNormEps: try r.double("layer_norm_eps", default: 1e-12),
                hiddenDropoutProb: try r.double("hidden_dropout_prob", default: 0.1),
                attentionProbsDropoutProb: try r.double("attention_probs_dropout_prob", default: 0.1),
                initializerRange: try r.double("initializer_range", default: 0.02),
                padTokenId: try r.nullableInt("pad_token_id", default: 0),
                architectures: try r.stringArray("architectures"),
                swiftnasArchitecture: extensionValue))
        case .gpt2:
            self = .gpt2(GPT2Config(
                vocabSize: try r.int("vocab_size"),
                nPositions: try r.int("n_positions"),
                nEmbd: try r.int("n_embd"),
                nLayer: try r.int("n_layer"),
                nHead: try r.int("n_head"),
                nInner: try r.nullableInt("n_inner", default: nil),
                activationFunction: try r.string("activation_function", default: "gelu_new"),
                layerNormEpsilon: try r.double("layer_norm_epsilon", default: 1e-5),
                residPdrop: try r.double("resid_pdrop", default: 0.1),
                embdPdrop: try r.double("embd_pdrop", default: 0.1),
                attnPdrop: try r.double("attn_pdrop", default: 0.1),
                initializerRange: try r.double("initializer_range", default: 0.02),
                architectures: try r.stringArray("architectures"),
                swiftnasArchitecture: extensionValue))
        }
        try validate(path: path)
    }

    /// Checks that the values can describe a network (sizes positive, probabilities in [0, 1], …).
    public func validate(path: String = "<memory>") throws {
        func positive(_ key: String, _ v: Int) throws {
            guard v > 0 else { throw ModelConfigError.invalidValue(path: path, key: key, reason: "is \(v), expected > 0") }
        }
        func nonNegative(_ key: String, _ v: Int) throws {
            guard v >= 0 else { throw ModelConfigError.invalidValue(path: path, key: key, reason: "is \(v), expected >= 0") }
        }
        func probability(_ key: String, _ v: Double) throws {
            guard v >= 0, v <= 1 else {
                throw ModelConfigError.invalidValue(path: path, key: key, reason: "is \(v), expected a probability in [0, 1]")
            }
        }
        func positiveReal(_ key: String, _ v: Double) throws {
            guard v > 0, v.isFinite else {
                throw ModelConfigError.invalidValue(path: path, key: key, reason: "is \(v), expected a finite number > 0")
            }
        }
        func nonNegativeReal(_ key: String, _ v: Double) throws {
            guard v >= 0, v.isFinite else {
                throw ModelConfigError.invalidValue(path: path, key: key, reason: "is \(v), expected a finite number >= 0")
            }
        }
        switch self {
        case .bert(let c):
            try positive("vocab_size", c.vocabSize)
            try positive("hidden_size", c.hiddenSize)
            try positive("num_hidden_layers", c.numHiddenLayers)
            try positive("num_attention_heads", c.numAttentionHeads)
            try positive("intermediate_size", c.intermediateSize)
            try positive("max_position_embeddings", c.maxPositionEmbeddings)
            try nonNegative("type_vocab_size", c.typeVocabSize)
            try positiveReal("layer_norm_eps", c.layerNormEps)
            try probability("hidden_dropout_prob", c.hiddenDropoutProb)
            try probability("attention_probs_dropout_prob", c.attentionProbsDropoutProb)
            try nonNegativeReal("initializer_range", c.initializerRange)
        case .gpt2(let c):
            try positive("vocab_size", c.vocabSize)
            try positive("n_positions", c.nPositions)
            try positive("n_embd", c.nEmbd)
            try positive("n_layer", c.nLayer)
            try positive("n_head", c.nHead)
            if let inner = c.nInner { try positive("n_inner", inner) }
            try positiveReal("layer_norm_epsilon", c.layerNormEpsilon)
            try probability("resid_pdrop", c.residPdrop)
            try probability("embd_pdrop", c.embdPdrop)
            try probability("attn_pdrop", c.attnPdrop)
            try nonNegativeReal("initializer_range", c.initializerRange)
        }
    }

    // MARK: - Writing

    /// The config as a JSON object with HF key names (`n_inner`/`pad_token_id` nil are written as null,
    /// `architectures`/`swiftnas_architecture` only when set).
    public var json: JSONValue {
        var o: [String: JSONValue] = ["model_type": .string(family.rawValue)]
        switch self {
        case .bert(let c):
            o["vocab_size"] = .int(c.vocabSize)
            o["hidden_size"] = .int(c.hiddenSize)
            o["num_hidden_layers"] = .int(c.numHiddenLayers)
            o["num_attention_heads"] = .int(c.numAttentionHeads)
            o["intermediate_size"] = .int(c.intermediateSize)
            o["hidden_act"] = .string(c.hiddenAct)
            o["max_position_embeddings"] = .int(c.maxPositionEmbeddings)
            o["type_vocab_size"] = .int(c.typeVocabSize)
            o["layer_norm_eps"] = .double(c.layerNormEps)
            o["hidden_dropout_prob"] = .double(c.hiddenDropoutProb)
            o["attention_probs_dropout_prob"] = .double(c.attentionProbsDropoutProb)
            o["initializer_range"] = .double(c.initializerRange)
            o["pad_token_id"] = c.padTokenId.map { .int($0) } ?? .null
            if let a = c.architectures { o["architectures"] = .array(a.map { .string($0) }) }
            if let x = c.swiftnasArchitecture { o[ModelConfig.architectureKey] = x }
        case .gpt2(let c):
            o["vocab_size"] = .int(c.vocabSize)
            o["n_positions"] = .int(c.nPositions)
            o["n_embd"] = .int(c.nEmbd)
            o["n_layer"] = .int(c.nLayer)
            o["n_head"] = .int(c.nHead)
            o["n_inner"] = c.nInner.map { .int($0) } ?? .null
            o["activation_function"] = .string(c.activationFunction)
            o["layer_norm_epsilon"] = .double(c.layerNormEpsilon)
            o["resid_pdrop"] = .double(c.residPdrop)
            o["embd_pdrop"] = .double(c.embdPdrop)
            o["attn_pdrop"] = .double(c.attnPdrop)
            o["initializer_range"] = .double(c.initializerRange)
            if let a = c.architectures { o["architectures"] = .array(a.map { .string($0) }) }
            if let x = c.swiftnasArchitecture { o[ModelConfig.architectureKey] = x }
        }
        return .object(o)
    }

    /// Validates, then writes the config atomically (temporary file in the same folder + rename).
    public func write(to url: URL) throws {
        let path = url.path
        try validate(path: path)
        let text: String
        do {
            text = try json.serialized(pretty: true) + "\n"
        } catch {
            throw ModelConfigError.invalidValue(path: path, key: ModelConfig.architectureKey, reason: "\(error)")
        }
        do {
            try AtomicFile.write(to: url) { out in try out.write(Array(text.utf8)) }
        } catch let failure as AtomicFile.Failure {
            throw ModelConfigError.writeFailed(path: path, reason: failure.reason)
        }
    }
}

/// Typed access to a config object's keys, each failure a `ModelConfigError` naming the key.
private struct KeyReader {
    let path: String
    let object: [String: JSONValue]

    private func value(_ key: String) throws -> JSONValue {
        guard let v = object[key] else { throw ModelConfigError.missingKey(path: path, key: key) }
        return v
    }

    private func wrong(_ key: String, _ expected: String, _ v: JSONValue) -> ModelConfigError {
        .wrongType(path: path, key: key, expected: expected, found: v.typeName)
    }

    private func asInt(_ key: String, _ v: JSONValue) throws -> Int {
        guard case .int(let i) = v else { throw wrong(key, "an integer", v) }
        return i
    }

    private func asDouble(_ key: String, _ v: JSONValue) throws -> Double {
        switch v {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: throw wrong(key, "a number", v)
        }
    }

    private func asString(_ key: String, _ v: JSONValue) throws -> String {
        guard case .string(let s) = v else { throw wrong(key, "a string", v) }
        return s
    }

    func int(_ key: String) throws -> Int { try asInt(key, value(key)) }
    func string(_ key: String) throws -> String { try asString(key, value(key)) }

    func int(_ key: String, default d: Int) throws -> Int {
        guard let v = object[key] else { return d }
        return try asInt(key, v)
    }

    func double(_ key: String, default d: Double) throws -> Double {
        guard let v = object[key] else { return d }
        return try asDouble(key, v)
    }

    func string(_ key: String, default d: String) throws -> String {
        guard let v = object[key] else { return d }
        return try asString(key, v)
    }

    /// An integer that may be JSON null (→ nil); an absent key gives `d`.
    func nullableInt(_ key: String, default d: Int?) throws -> Int? {
        guard let v = object[key] else { return d }
        if v == .null { return nil }
        guard case .int(let i) = v else { throw wrong(key, "an integer or null", v) }
        return i
    }

    /// An array of strings, or nil when absent or null.
    func stringArray(_ key: String) throws -> [String]? {
        guard let v = object[key], v != .null else { return nil }
        guard case .array(let items) = v else { throw wrong(key, "an array of strings", v) }
        return try items.map { item in
            guard case .string(let s) = item else { throw wrong(key, "an array of strings", item) }
            return s
        }
    }
}
