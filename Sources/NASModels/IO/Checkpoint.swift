import Foundation
import NASTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model folder in the Hugging Face layout: `config.json` + `model.safetensors` (+ `vocab.txt`).
/// Parameter names are those of `Transformer` (BERT's own names for encoders); a `bert.` prefix in the
/// file is accepted. A config may carry the exact (heterogeneous) `Architecture` under
/// `swiftnas_architecture`; otherwise the architecture is the homogeneous one the config describes.
/// `save` writes such a folder and `loadTransformer` reads it back bit-identically.
public enum Checkpoint {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case missingFile(String)
        case missingTensor(file: String, tensor: String)
        case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
        case invalidArchitecture(file: String, reason: String)
        case cannotSave(path: String, reason: String)
        /// Weights holding NaN or ±inf: a model trained into a fault, or a damaged file.
        case nonFiniteTensor(file: String, tensor: String, count: Int)

        public var description: String {
            switch self {
            case .missingFile(let p): return "\(p): file not found"
            case .missingTensor(let f, let t): return "\(f): tensor '\(t)' is missing"
            case .shapeMismatch(let f, let t, let e, let s): return "\(f): tensor '\(t)' has shape \(s), expected \(e)"
            case .invalidArchitecture(let f, let r): return "\(f): \(r)"
            case .cannotSave(let p, let r): return "\(p): cannot save checkpoint: \(r)"
            case .nonFiniteTensor(let f, let t, let n):
                return "\(f): tensor '\(t)' holds \(n) non-finite value\(n == 1 ? "" : "s") (NaN/±inf); the checkpoint is damaged"
            }
        }
    }

    /// The architecture a config describes. With `swiftnas_architecture` present, that exact architecture,
    /// after checking that the HF keys agree with it on family, vocabulary, positions, hidden size and depth.
    public static func architecture(of config: ModelConfig, path: String) throws -> Architecture {
        if let json = config.swiftnasArchitecture {
            let arch: Architecture
            do {
                arch = try Architecture.decode(json, path: path, fieldPrefix: ModelConfig.architectureKey)
            } catch let error as ArchitectureFileError {
                throw Failure.invalidArchitecture(file: path, reason: error.detail)
            }
            let bert = config.family == .bert
            let checks: [(agrees: Bool, key: String, hf: String, field: String, exact: String)] = [
                ((arch.family == .encoder) == bert, "model_type", config.family.rawValue, "family", arch.family.rawValue),
                (config.vocabSize == arch.vocabSize, "vocab_size", "\(config.vocabSize)", "vocabSize", "\(arch.vocabSize)"),
                (config.maxPositions == arch.maxPositions, bert ? "max_position_embeddings" : "n_positions",
                 "\(config.maxPositions)", "maxPositions", "\(arch.maxPositions)"),
                (config.hiddenSize == arch.hidden, bert ? "hidden_size" : "n_embd", "\(config.hiddenSize)", "hidden", "\(arch.hidden)"),
                (config.numLayers == arch.depth, bert ? "num_hidden_layers" : "n_layer", "\(config.numLayers)",
                 "layers", "\(arch.depth) layers"),
            ]
            if let c = checks.first(where: { !$0.agrees }) {
                throw Failure.invalidArchitecture(file: path, reason: "key \"\(c.key)\" is \(c.hf) but "
                    + "\(ModelConfig.architectureKey).\(c.field) is \(c.exact), expected them to agree")
            }
            return arch
        }
        let activation: Architecture.Activation
        switch config.activation {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .geluTanh
        case "relu": activation = .relu
        default:
            throw Failure.invalidArchitecture(file: path, reason: "activation '\(config.activation)' is not supported (gelu, gelu_new, relu)")
        }
        let h = config.hiddenSize, heads = config.numHeads
        guard h % heads == 0 else {
            throw Failure.invalidArchitecture(file: path, reason: "hidden size \(h) is not divisible by \(heads) heads")
        }
        let typeVocab: Int
        if case .bert(let c) = config { typeVocab = c.typeVocabSize } else { typeVocab = 0 }
        let bert = config.family == .bert
        // The layer list is built from one number, so that number is sized before the list is allocated.
        try MemoryBudget.require(Size(config.numLayers) * Architecture.bytesPerLayerObjects,
                                 for: "\(path): key \"\(bert ? "num_hidden_layers" : "n_layer")\" = \(config.numLayers)")
        let arch = Architecture(family: bert ? .encoder : .decoder, vocabSize: config.vocabSize,
                                maxPositions: config.maxPositions, typeVocabSize: typeVocab, hidden: h,
                                layers: Array(repeating: .init(heads: heads, qkv: h, ffn: config.intermediateSize),
                                              count: config.numLayers),
                                activation: activation, layerNormEps: Float(config.layerNormEps))
        do {
            try arch.validate()
        } catch let invalid as Architecture.Invalid {
            // Named by the config's own keys.
            let field = invalid.field.replacingOccurrences(of: #"^layers\[\d+\]\."#, with: "", options: .regularExpression)
            let keys: [String: (bert: String, gpt: String)] = [
                "vocabSize": ("vocab_size", "vocab_size"), "maxPositions": ("max_position_embeddings", "n_positions"),
                "typeVocabSize": ("type_vocab_size", "type_vocab_size"), "hidden": ("hidden_size", "n_embd"),
                "layers": ("num_hidden_layers", "n_layer"), "heads": ("num_attention_heads", "n_head"),
                "qkv": ("hidden_size", "n_embd"), "ffn": ("intermediate_size", "n_inner"),
                "layerNormEps": ("layer_norm_eps", "layer_norm_epsilon"),
            ]
            let key = keys[field].map { bert ? $0.bert : $0.gpt } ?? field
            throw Failure.invalidArchitecture(file: path, reason: "key \"\(key)\": \(invalid.message)")
        }
        return arch
    }

    /// Reads tensor `name` of `file`, refusing one that holds NaN or ±inf (`Failure.nonFiniteTensor`):
    /// every command that loads weights goes through here, so a damaged checkpoint is named at once
    /// instead of giving NaN (or, worse, plausible) results downstream.
    public static func finiteTensor(_ name: String, in file: SafeTensorsFile) throws -> Tensor {
        let tensor = try file.tensor(name)
        let bad = tensor.scalars.reduce(into: 0) { n, v in if !v.isFinite { n += 1 } }
        guard bad == 0 else { throw Failure.nonFiniteTensor(file: file.url.path, tensor: name, count: bad) }
        return tensor
    }

    /// Loads every parameter of `module` by name from a safetensors file (shapes must match exactly;
    /// values must be finite). Returns the names in the file that the module did not use.
    @discardableResult
    public static func load(_ module: Module, from file: SafeTensorsFile) throws -> [String] {
        var used = Set<String>(), loaded = Set<ObjectIdentifier>(), lowPrecision = false
        // Linears whose weights are stored int8, b-bit packed or bf16 (a quantized checkpoint).
        for (_, linear) in module.linears() {
            guard let name = [linear.weight.name, "bert." + linear.weight.name].first(where: file.contains),
                  let names = try QuantizedCheckpoint.loadLinear(linear, from: file, name: name) else { continue }
            used.formUnion(names)
            loaded.insert(ObjectIdentifier(linear.weight))
            if case .bf16Weights = linear.arithmetic { lowPrecision = true }
            if case .int8 = linear.arithmetic { lowPrecision = true }
        }
        if lowPrecision { module.useBF16AttentionProducts() }   // as `quantize` runs the model
        for p in module.parameters where !loaded.contains(ObjectIdentifier(p)) {
            guard let name = [p.name, "bert." + p.name].first(where: file.contains) else {
                throw Failure.missingTensor(file: file.url.path, tensor: p.name)
            }
            if let names = try QuantizedCheckpoint.loadTable(p, from: file, name: name) {   // an int8 embedding table
                used.formUnion(names)
                continue
            }
            let info = file.info(name)!
            guard info.shape == p.shape else {
                throw Failure.shapeMismatch(file: file.url.path, tensor: name, expected: p.shape, found: info.shape)
            }
            p.value = try finiteTensor(name, in: file)
            used.insert(name)
        }
        return file.names.filter { !used.contains($0) }
    }

    /// Loads the backbone of a model folder (a supernet's with the operation `choices` its layers hold).
    public static func loadTransformer(from dir: URL, choices: OperationChoices? = nil, routing: ExpertRouting? = nil) throws
        -> (model: Transformer, config: ModelConfig, unused: [String]) {
        let configURL = dir.appendingPathComponent("config.json"), weightsURL = dir.appendingPathComponent("model.safetensors")
        for u in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: u.path) {
            throw Failure.missingFile(u.path)
        }
        let config = try ModelConfig(contentsOf: configURL)
        let arch = try architecture(of: config, path: configURL.path)
        // What `Transformer` refuses with a precondition is an error here.
        if arch.family == .decoder, let i = arch.layers.firstIndex(where: { !$0.operation.isAttention }) {
            throw Failure.invalidArchitecture(file: configURL.path, reason: "field '\(ModelConfig.architectureKey)"
                + ".layers[\(i)].operation': \(arch.layers[i].operation) mixes all positions, expected sdp or wma in a decoder")
        }
        if arch.family == .decoder, let op = choices?.operations.first(where: { !$0.isAttention }) {
            throw Failure.invalidArchitecture(file: configURL.path, reason: "operation choice \(op) mixes all positions, "
                + "expected sdp or wma in a decoder")
        }
        // Every parameter is read below (or loading fails), so the model is built without drawing its initial weights.
        let model = Init.$placeholders.withValue(true) { Transformer(arch, choices: choices, routing: routing, seed: 0) }
        let unused = try load(model, from: try SafeTensorsFile(contentsOf: weightsURL))
        // Run without its experts and routers, a Mixture-of-Supernets checkpoint would silently be expert 0 alone.
        if routing == nil, let routed = unused.first(where: { $0.contains(".experts.") || $0.contains(".router") }) {
            throw Failure.invalidArchitecture(file: weightsURL.path, reason: "tensor '\(routed)' belongs to a Mixture-of-Supernets "
                + "supernet (routed FFN experts), which runs as a supernet only; take a plain model of one member with "
                + "`swiftnas supernet extract`")
        }
        return (model, config, unused)
    }

    // MARK: - Saving

    /// The HF activation name of an activation (`gelu_new` is the tanh approximation in `transformers`).
    static func huggingFaceActivation(_ a: Architecture.Activation) -> String {
        switch a {
        case .gelu: return "gelu"
        case .geluTanh: return "gelu_new"
        case .relu: return "relu"
        }
    }

    /// Why the HF keys of `config(for:)` cannot describe `arch` exactly (empty when they can). Only
    /// SwiftNAS, reading `swiftnas_architecture`, then rebuilds the network; `transformers` cannot.
    public static func huggingFaceLimitations(of arch: Architecture) -> [String] {
        var reasons: [String] = []
        if let first = arch.layers.first, arch.layers.contains(where: { $0 != first }) {
            reasons.append("layers differ (HF keys give the largest heads/ffn)")
        }
        if arch.layers.contains(where: { $0.qkv != arch.hidden }) { reasons.append("qkv ≠ hidden") }
        if arch.layers.contains(where: { arch.hidden % $0.heads != 0 }) { reasons.append("hidden not divisible by heads") }
        if !arch.isPlain { reasons.append("FlexiBERT operations / FFN stacks / per-layer widths / bottleneck blocks / factorised embeddings") }
        if arch.family == .decoder {
            reasons.append("decoder weights use separate q/k/v projections in [out, in] layout, not GPT-2's fused Conv1D c_attn")
        }
        return reasons
    }

    /// An HF-style `config.json` for `arch`: `bert` for encoders, `gpt2` for decoders, with the exact
    /// architecture under `swiftnas_architecture`. The HF keys give the shared sizes and, per layer, the
    /// largest heads and FFN width. Heterogeneous layers, qkv ≠ hidden (and decoder weights, see
    /// `huggingFaceLimitations(of:)`) are beyond what `transformers` can express: such a config is still
    /// written and loads exactly in SwiftNAS, but not in `transformers`.
    public static func config(for arch: Architecture, architectures: [String]? = nil) throws -> ModelConfig {
        let heads = arch.layers.map(\.heads).max() ?? 1
        let ffn = arch.layers.map(\.ffn).max() ?? 1
        let eps = Double("\(arch.layerNormEps)") ?? Double(arch.layerNormEps)
        let act = huggingFaceActivation(arch.activation)
        let exact = try JSONValue(encoding: arch)
        switch arch.family {
        case .encoder:
            return .bert(BertConfig(vocabSize: arch.vocabSize, hiddenSize: arch.hidden, numHiddenLayers: arch.depth,
                                    numAttentionHeads: heads, intermediateSize: ffn, hiddenAct: act,
                                    maxPositionEmbeddings: arch.maxPositions, typeVocabSize: arch.typeVocabSize,
                                    layerNormEps: eps, architectures: architectures ?? ["BertModel"],
                                    swiftnasArchitecture: exact))
        case .decoder:
            return .gpt2(GPT2Config(vocabSize: arch.vocabSize, nPositions: arch.maxPositions, nEmbd: arch.hidden,
                                    nLayer: arch.depth, nHead: heads, nInner: ffn, activationFunction: act,
                                    layerNormEpsilon: eps, architectures: architectures ?? ["GPT2LMHeadModel"],
                                    swiftnasArchitecture: exact))
        }
    }

    /// Saves a model folder that `loadTransformer(from:)` reads back bit-identically:
    ///
    /// - `config.json`: `config(for: model.maxArchitecture)` — BertConfig (encoders) or GPT2Config
    ///   (decoders), the exact `Architecture` under `swiftnas_architecture`. HF keys describe the largest
    ///   per-layer values: architectures whose layers differ or whose qkv ≠ hidden are saved all the same,
    ///   but Hugging Face `transformers` cannot express (nor load) them; see `huggingFaceLimitations(of:)`.
    /// - `model.safetensors`: every parameter of `model` and of the `extra` modules (heads, …) by name, F32
    ///   (a Linear with stored int8 or bf16 weights in that form: `QuantizedCheckpoint`), with
    ///   `__metadata__` `{"format": "pt"}` as `transformers` expects. Load a head back with `load(_:from:)`.
    /// - `vocab.txt`: a copy of `vocabulary`, when given.
    ///
    /// Each file is written atomically (temporary file + rename). When `dir` does not exist yet, the
    /// folder is assembled under a temporary name beside it and renamed into place, so it appears whole
    /// or not at all; in an existing folder the weights (and vocabulary) are replaced before the config.
    /// Everything that can be checked (names, the vocabulary file, the config) is checked before the
    /// first byte is written.
    public static func save(_ model: Transformer, extra: [Module] = [], vocabulary: URL? = nil, to dir: URL) throws {
        let target = dir.standardizedFileURL
        let fm = FileManager.default

        // 1. Everything that can fail before writing.
        let arch = model.maxArchitecture
        do {
            try arch.validate()
        } catch {
            throw Failure.cannotSave(path: target.path, reason: "invalid architecture: \(error)")
        }
        var unique: [Parameter] = []
        var seen: [String: ObjectIdentifier] = [:]
        for p in model.parameters + extra.flatMap(\.parameters) {
            guard !p.name.isEmpty else {
                throw Failure.cannotSave(path: target.path, reason: "a parameter of shape \(p.shape) has no name")
            }
            if let other = seen[p.name] {
                if other == ObjectIdentifier(p) { continue }  // the same (shared) parameter twice
                throw Failure.cannotSave(path: target.path,
                                         reason: "two different parameters are named '\(p.name)', expected unique names")
            }
            seen[p.name] = ObjectIdentifier(p)
            unique.append(p)
        }
        var vocabularyData: Data?
        if let vocabulary {
            do {
                vocabularyData = try Data(contentsOf: vocabulary)
            } catch {
                throw Failure.cannotSave(path: vocabulary.path, reason: "cannot read the vocabulary: \(error.localizedDescription)")
            }
        }
        let isMaskedLM = extra.contains { $0 is MaskedLMHead }
        let config = try Checkpoint.config(for: arch,
                                           architectures: arch.family == .encoder && isMaskedLM ? ["BertForMaskedLM"] : nil)
        try config.validate(path: target.appendingPathComponent("config.json").path)

        // 2. Where to write: the folder itself, or a staging folder renamed into place.
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: target.path, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw Failure.cannotSave(path: target.path, reason: "a file is in the way, expected a directory")
        }
        var folder = target
        var staging: URL?
        if !exists {
            let parent = target.deletingLastPathComponent()
            do {
                try fm.createDirectory(at: parent, withIntermediateDirectories: true)
                let s = parent.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
                try fm.createDirectory(at: s, withIntermediateDirectories: false)
                staging = s
                folder = s
            } catch {
                throw Failure.cannotSave(path: target.path, reason: "cannot create the directory: \(error.localizedDescription)")
            }
        }
        var done = false
        defer { if !done, let staging { try? fm.removeItem(at: staging) } }

        // 3. Weights, vocabulary, then the config.
        let entries = QuantizedCheckpoint.entries(of: unique, linears: ([model] + extra).flatMap { $0.linears().map(\.linear) })
        try SafeTensorsFile.write(entries, metadata: ["format": "pt"], to: folder.appendingPathComponent("model.safetensors"))
        if let vocabularyData {
            let url = folder.appendingPathComponent("vocab.txt")
            do {
                try AtomicFile.write(to: url) { out in try out.write(vocabularyData) }
            } catch let failure as AtomicFile.Failure {
                throw Failure.cannotSave(path: url.path, reason: failure.reason)
            }
        }
        try config.write(to: folder.appendingPathComponent("config.json"))

        if let staging {
            guard rename(staging.path, target.path) == 0 else {
                throw Failure.cannotSave(path: target.path, reason: "cannot rename \(staging.path) into place: \(AtomicFile.errnoText())")
            }
            let dfd = open(target.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
            if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        }
        done = true
    }
}

/// Sentence embeddings as in Sentence-BERT (Reimers & Gurevych, 2019): the mean of the last hidden
/// states over real tokens (attention mask 1), then L2-normalised.
public enum SentenceEmbedding {
    public static func meanPooled(_ hidden: Tensor, attentionMask: [Float]?, normalize: Bool = true) -> [[Float]] {
        let b = hidden.shape[0], t = hidden.shape[1], h = hidden.shape[2]
        let values = hidden.scalars
        return (0..<b).map { i in
            var sum = [Double](repeating: 0, count: h), n = 0.0
            for j in 0..<t where (attentionMask?[i * t + j] ?? 1) > 0 {
                n += 1
                for k in 0..<h { sum[k] += Double(values[(i * t + j) * h + k]) }
            }
            var v = sum.map { $0 / Swift.max(n, 1) }
            if normalize {
                let norm = Swift.max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                v = v.map { $0 / norm }
            }
            return v.map(Float.init)
        }
    }
}
