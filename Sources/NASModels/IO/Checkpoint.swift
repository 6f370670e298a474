import Foundation
import NASTensor

/// A model folder in the Hugging Face layout: `config.json` + `model.safetensors` (+ `vocab.txt`).
/// Parameter names are those of `Transformer` (BERT's own names for encoders); a `bert.` prefix in the
/// file is accepted. A config may carry the exact (heterogeneous) `Architecture` under
/// `swiftnas_architecture`; otherwise the architecture is the homogeneous one the config describes.
public enum Checkpoint {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case missingFile(String)
        case missingTensor(file: String, tensor: String)
        case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
        case invalidArchitecture(file: String, reason: String)

        public var description: String {
            switch self {
            case .missingFile(let p): return "\(p): file not found"
            case .missingTensor(let f, let t): return "\(f): tensor '\(t)' is missing"
            case .shapeMismatch(let f, let t, let e, let s): return "\(f): tensor '\(t)' has shape \(s), expected \(e)"
            case .invalidArchitecture(let f, let r): return "\(f): \(r)"
            }
        }
    }

    /// The architecture a config describes.
    public static func architecture(of config: ModelConfig, path: String) throws -> Architecture {
        if let json = config.swiftnasArchitecture {
            do {
                let arch = try json.decode(Architecture.self)
                try arch.validate()
                return arch
            } catch {
                throw Failure.invalidArchitecture(file: path, reason: "field '\(ModelConfig.architectureKey)': \(error)")
            }
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
        return Architecture(family: config.family == .bert ? .encoder : .decoder, vocabSize: config.vocabSize,
                            maxPositions: config.maxPositions, typeVocabSize: typeVocab, hidden: h,
                            layers: Array(repeating: .init(heads: heads, qkv: h, ffn: config.intermediateSize),
                                          count: config.numLayers),
                            activation: activation, layerNormEps: Float(config.layerNormEps))
    }

    /// Loads every parameter of `module` by name from a safetensors file (shapes must match exactly).
    /// Returns the names in the file that the module did not use.
    @discardableResult
    public static func load(_ module: Module, from file: SafeTensorsFile) throws -> [String] {
        var used = Set<String>()
        for p in module.parameters {
            guard let name = [p.name, "bert." + p.name].first(where: file.contains) else {
                throw Failure.missingTensor(file: file.url.path, tensor: p.name)
            }
            let info = file.info(name)!
            guard info.shape == p.shape else {
                throw Failure.shapeMismatch(file: file.url.path, tensor: name, expected: p.shape, found: info.shape)
            }
            p.value = try file.tensor(name)
            used.insert(name)
        }
        return file.names.filter { !used.contains($0) }
    }

    /// Loads the backbone of a model folder.
    public static func loadTransformer(from dir: URL) throws -> (model: Transformer, config: ModelConfig, unused: [String]) {
        let configURL = dir.appendingPathComponent("config.json"), weightsURL = dir.appendingPathComponent("model.safetensors")
        for u in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: u.path) {
            throw Failure.missingFile(u.path)
        }
        let config = try ModelConfig(contentsOf: configURL)
        let arch = try architecture(of: config, path: configURL.path)
        let model = Transformer(arch, seed: 0)
        let unused = try load(model, from: try SafeTensorsFile(contentsOf: weightsURL))
        return (model, config, unused)
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
