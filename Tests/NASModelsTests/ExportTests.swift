import Foundation
import XCTest
@testable import NASModels
import NASTensor

/// `HuggingFaceExport`: the folder layout, names, shapes and config keys `transformers` expects, the
/// refusals, the overwrite policy, and (when `.deps/torch-venv` has torch and transformers) the outputs of
/// `BertModel` / `BertForSequenceClassification` loaded from the export against SwiftNAS's own.
final class ExportTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftnas-export-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    // MARK: - Fixtures

    static let vocabSize = 50
    /// A tiny BERT: hidden 32, 2 layers, 4 heads, FFN 64, exact GELU, token types.
    static let bert = Architecture.uniform(.encoder, vocabSize: vocabSize, maxPositions: 16, hidden: 32, depth: 2,
                                           heads: 4, ffn: 64)
    /// Tanh GELU, no token types, another LayerNorm eps.
    static let bertNoTypes = Architecture(family: .encoder, vocabSize: vocabSize, maxPositions: 16, typeVocabSize: 0,
                                          hidden: 32, layers: Array(repeating: .init(heads: 4, qkv: 32, ffn: 64), count: 2),
                                          activation: .geluTanh, layerNormEps: 1e-6)
    /// ReLU, one layer.
    static let bertReLU = Architecture(family: .encoder, vocabSize: vocabSize, maxPositions: 16, hidden: 32,
                                       layers: [.init(heads: 2, qkv: 32, ffn: 48)], activation: .relu)

    enum Head {
        case none
        case classification(numLabels: Int, pooling: SequenceClassificationHead.Pooling)
        case regression
        case maskedLM
    }

    struct Fixture {
        let dir: URL
        let model: Transformer
        let head: SequenceClassificationHead?
    }

    /// Random values everywhere (LayerNorm γ around 1), so no parameter is at its initial value.
    func randomize(_ module: Module, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        for p in module.parameters {
            let noise = Tensor.randomNormal(p.shape, std: 0.2, using: &rng)
            p.value = p.name.hasSuffix("LayerNorm.weight") ? noise + Tensor(repeating: 1, shape: p.shape) : noise
        }
    }

    func writeVocabulary(_ n: Int, to url: URL) throws {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<n).map { "tok\($0)" }
        try Data((tokens.joined(separator: "\n") + "\n").utf8).write(to: url)
    }

    /// A training checkpoint as the trainer writes it: `Checkpoint.save` (backbone + head + vocab.txt), then
    /// `swiftnas_task` added to config.json.
    func checkpoint(_ arch: Architecture, head: Head = .none, name: String = "ckpt", vocabulary: Bool = true,
                    seed: UInt64 = 1) throws -> Fixture {
        let dir = root.appendingPathComponent(name)
        let model = Transformer(arch, seed: seed)
        randomize(model, seed: seed + 100)
        var rng = RandomGenerator(seed: seed + 200)
        var extra: [Module] = []
        var classifier: SequenceClassificationHead?
        var task: JSONValue?
        switch head {
        case .none:
            break
        case .classification(let n, let pooling):
            classifier = SequenceClassificationHead(arch, numLabels: n, pooling: pooling, rng: &rng)
            task = HuggingFaceExport.CheckpointTask(kind: .classification, numLabels: n, pooling: pooling).json
        case .regression:
            classifier = SequenceClassificationHead(arch, numLabels: 1, rng: &rng)
            task = HuggingFaceExport.CheckpointTask(kind: .regression, numLabels: 1, pooling: .cls).json
        case .maskedLM:
            extra.append(MaskedLMHead(arch, rng: &rng))
            task = .object(["kind": .string("mlm")])
        }
        if let classifier { extra.append(classifier) }
        for (i, module) in extra.enumerated() { randomize(module, seed: seed + 300 + UInt64(i)) }
        let vocabURL = root.appendingPathComponent("\(name)-vocab.txt")
        try writeVocabulary(arch.vocabSize, to: vocabURL)
        try Checkpoint.save(model, extra: extra, vocabulary: vocabulary ? vocabURL : nil, to: dir)
        if let task { try setConfigKey(HuggingFaceExport.CheckpointTask.key, task, in: dir) }
        return Fixture(dir: dir, model: model, head: classifier)
    }

    func setConfigKey(_ key: String, _ value: JSONValue, in dir: URL) throws {
        let url = dir.appendingPathComponent("config.json")
        guard case .object(var o) = try JSONValue(parsing: Data(contentsOf: url)) else { return XCTFail("config not an object") }
        o[key] = value
        try Data(try JSONValue.object(o).serialized(pretty: true).utf8).write(to: url)
    }

    func json(_ url: URL) throws -> [String: JSONValue] {
        guard case .object(let o) = try JSONValue(parsing: Data(contentsOf: url)) else {
            XCTFail("\(url.path) is not a JSON object"); return [:]
        }
        return o
    }

    /// BERT's tensor names and shapes as `transformers`' `BertModel` state dict spells them (written out
    /// here by hand, independently of the exporter and of SwiftNAS's parameter names).
    func bertTensors(hidden h: Int, layers: Int, ffn: Int, vocab: Int, positions: Int, types: Int) -> [String: [Int]] {
        var t: [String: [Int]] = [
            "embeddings.word_embeddings.weight": [vocab, h],
            "embeddings.position_embeddings.weight": [positions, h],
            "embeddings.token_type_embeddings.weight": [types, h],
            "embeddings.LayerNorm.weight": [h], "embeddings.LayerNorm.bias": [h],
        ]
        for i in 0..<layers {
            let p = "encoder.layer.\(i)."
            for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                t[p + m + ".weight"] = [h, h]
                t[p + m + ".bias"] = [h]
            }
            for m in ["attention.output.LayerNorm", "output.LayerNorm"] {
                t[p + m + ".weight"] = [h]
                t[p + m + ".bias"] = [h]
            }
            t[p + "intermediate.dense.weight"] = [ffn, h]
            t[p + "intermediate.dense.bias"] = [ffn]
            t[p + "output.dense.weight"] = [h, ffn]
            t[p + "output.dense.bias"] = [h]
        }
        return t
    }

    func shapes(_ file: SafeTensorsFile) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: file.names.map { ($0, file.info($0)!.shape) })
    }

    /// Two sequences of 7 tokens, the second padded after 4, token types 0 then 1 (when `types`).
    func batch(types: Bool) -> TokenBatch {
        let ids: [Int32] = [2, 17, 5, 33, 9, 41, 3, 2, 48, 12, 3, 0, 0, 0]
        let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
        let typeIds: [Int32] = [0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0]
        return TokenBatch(ids: ids, typeIds: types ? typeIds : nil, attentionMask: mask, batchSize: 2, length: 7)
    }

    /// The siblings of `url` whose names start with ".<name>." (staging folders left behind).
    func leftovers(beside url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(".\(url.lastPathComponent).") }
    }

    func assertRefused(_ fixture: Fixture, out name: String = "out", file: StaticString = #filePath, line: UInt = #line,
                       _ check: (String) -> Void) {
        let out = root.appendingPathComponent(name)
        XCTAssertThrowsError(try HuggingFaceExport.export(checkpoint: fixture.dir, to: out), file: file, line: line) { error in
            check("\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a refused export wrote \(out.path)", file: file, line: line)
        XCTAssertEqual(try leftovers(beside: out), [], "staging folder left behind", file: file, line: line)
    }

    // MARK: - Layout, names, shapes, config

    func testClassificationExportHasTransformersNamesShapesAndConfig() throws {
        let f = try checkpoint(Self.bert, head: .classification(numLabels: 3, pooling: .cls))
        let out = root.appendingPathComponent("hf")
        let report = try HuggingFaceExport.export(checkpoint: f.dir, to: out)

        XCTAssertEqual(report.transformersClass, "BertForSequenceClassification")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                       ["config.json", "model.safetensors", "vocab.txt"])
        XCTAssertEqual(try leftovers(beside: out), [])

        // Names and shapes: the backbone under `bert.`, the pooler under `bert.pooler`, the classifier bare.
        let weights = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
        var expected = Dictionary(uniqueKeysWithValues: bertTensors(hidden: 32, layers: 2, ffn: 64, vocab: 50, positions: 16, types: 2)
            .map { ("bert." + $0.key, $0.value) })
        expected["bert.pooler.dense.weight"] = [32, 32]
        expected["bert.pooler.dense.bias"] = [32]
        expected["classifier.weight"] = [3, 32]
        expected["classifier.bias"] = [3]
        XCTAssertEqual(shapes(weights), expected)
        XCTAssertEqual(weights.metadata["format"], "pt")
        XCTAssertTrue(weights.names.allSatisfy { weights.info($0)!.dtype == .f32 })
        XCTAssertEqual(report.tensorCount, expected.count)
        XCTAssertEqual(report.parameterCount, Self.bert.parameterCount + 32 * 32 + 32 + 3 * 32 + 3)
        XCTAssertTrue(report.hasPooler)
        XCTAssertEqual(report.droppedTensors, [])

        // Values: bit-identical to the checkpoint's.
        let source = try SafeTensorsFile(contentsOf: f.dir.appendingPathComponent("model.safetensors"))
        for name in source.names {
            let exported = name.hasPrefix("classifier.") ? name : "bert." + name
            XCTAssertEqual(try weights.tensor(exported).scalars, try source.tensor(name).scalars, name)
        }

        // config.json: a BertConfig transformers reads, without SwiftNAS's own keys but with the export marker.
        let c = try json(out.appendingPathComponent("config.json"))
        XCTAssertEqual(c["model_type"], .string("bert"))
        XCTAssertEqual(c["architectures"], .array([.string("BertForSequenceClassification")]))
        XCTAssertEqual(c["vocab_size"], .int(50))
        XCTAssertEqual(c["hidden_size"], .int(32))
        XCTAssertEqual(c["num_hidden_layers"], .int(2))
        XCTAssertEqual(c["num_attention_heads"], .int(4))
        XCTAssertEqual(c["intermediate_size"], .int(64))
        XCTAssertEqual(c["max_position_embeddings"], .int(16))
        XCTAssertEqual(c["type_vocab_size"], .int(2))
        XCTAssertEqual(c["hidden_act"], .string("gelu"))
        XCTAssertEqual(c["layer_norm_eps"], .double(1e-12))
        XCTAssertEqual(c["problem_type"], .string("single_label_classification"))
        XCTAssertEqual(c["id2label"], .object(["0": .string("LABEL_0"), "1": .string("LABEL_1"), "2": .string("LABEL_2")]))
        XCTAssertEqual(c["label2id"], .object(["LABEL_0": .int(0), "LABEL_1": .int(1), "LABEL_2": .int(2)]))
        XCTAssertNil(c[ModelConfig.architectureKey])
        XCTAssertNil(c[HuggingFaceExport.CheckpointTask.key])
        XCTAssertEqual(c[HuggingFaceExport.markerKey], .object(["version": .int(1)]))

        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("vocab.txt")),
                       try Data(contentsOf: f.dir.appendingPathComponent("vocab.txt")))
        XCTAssertEqual(report.vocabularySize, 50)
    }

    func testRegressionExportHasOneOutputAndRegressionProblemType() throws {
        let f = try checkpoint(Self.bertReLU, head: .regression)
        let out = root.appendingPathComponent("hf")
        let report = try HuggingFaceExport.export(checkpoint: f.dir, to: out)
        XCTAssertEqual(report.transformersClass, "BertForSequenceClassification")
        XCTAssertEqual(report.task, .init(kind: .regression, numLabels: 1, pooling: .cls))
        let c = try json(out.appendingPathComponent("config.json"))
        XCTAssertEqual(c["problem_type"], .string("regression"))
        XCTAssertEqual(c["id2label"], .object(["0": .string("LABEL_0")]))
        XCTAssertEqual(c["hidden_act"], .string("relu"))
        XCTAssertEqual(c["intermediate_size"], .int(48))
        XCTAssertEqual(c["num_attention_heads"], .int(2))
        let weights = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(weights.info("classifier.weight")?.shape, [1, 32])
        XCTAssertEqual(weights.info("classifier.bias")?.shape, [1])
    }

    func testBareBackboneExportsAsBertModelWithoutPrefixOrPooler() throws {
        let f = try checkpoint(Self.bertNoTypes)
        let out = root.appendingPathComponent("hf")
        let report = try HuggingFaceExport.export(checkpoint: f.dir, to: out)
        XCTAssertEqual(report.transformersClass, "BertModel")
        XCTAssertNil(report.task)
        XCTAssertFalse(report.hasPooler)
        XCTAssertTrue(report.notes.contains { $0.contains("no pooler") }, "\(report.notes)")
        XCTAssertTrue(report.notes.contains { $0.contains("no token types") }, "\(report.notes)")

        // No token types: one zero row, type_vocab_size 1.
        let weights = try SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(shapes(weights), bertTensors(hidden: 32, layers: 2, ffn: 64, vocab: 50, positions: 16, types: 1))
        XCTAssertEqual(try weights.tensor("embeddings.token_type_embeddings.weight").scalars, [Float](repeating: 0, count: 32))
        let c = try json(out.appendingPathComponent("config.json"))
        XCTAssertEqual(c["architectures"], .array([.string("BertModel")]))
        XCTAssertEqual(c["type_vocab_size"], .int(1))
        XCTAssertEqual(c["hidden_act"], .string("gelu_new"))
        XCTAssertEqual(c["layer_norm_eps"], .double(1e-6))
        XCTAssertNil(c["problem_type"])
        XCTAssertNil(c["id2label"])
    }

    func testBackboneWithPoolerKeepsItAndMaskedLMHeadIsDropped() throws {
        // A bare backbone saved with a CLS pooler (no task key): BertModel with the pooler.
        let withPooler = try checkpoint(Self.bert, head: .classification(numLabels: 2, pooling: .cls), name: "pooled")
        try setConfigKey(HuggingFaceExport.CheckpointTask.key, .null, in: withPooler.dir)
        let a = try HuggingFaceExport.export(checkpoint: withPooler.dir, to: root.appendingPathComponent("a"))
        XCTAssertEqual(a.transformersClass, "BertModel")
        XCTAssertTrue(a.hasPooler)
        XCTAssertEqual(a.droppedTensors, ["classifier.bias", "classifier.weight"])
        let aw = try SafeTensorsFile(contentsOf: a.output.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(aw.info("pooler.dense.weight")?.shape, [32, 32])
        XCTAssertFalse(aw.contains("classifier.weight"))

        // An MLM checkpoint: BertModel, the head listed as not exported.
        let mlm = try checkpoint(Self.bert, head: .maskedLM, name: "mlm")
        let b = try HuggingFaceExport.export(checkpoint: mlm.dir, to: root.appendingPathComponent("b"))
        XCTAssertEqual(b.transformersClass, "BertModel")
        XCTAssertEqual(b.task?.kind, .mlm)
        XCTAssertEqual(b.droppedTensors, ["cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias",
                                          "cls.predictions.transform.LayerNorm.weight",
                                          "cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight"])
        XCTAssertTrue(b.notes.contains { $0.contains("masked-LM head") }, "\(b.notes)")
    }

    /// The export reads back into SwiftNAS (the `bert.` prefix is accepted) and computes the same outputs.
    func testExportLoadsBackIntoSwiftNASWithIdenticalOutputs() throws {
        let f = try checkpoint(Self.bert, head: .classification(numLabels: 3, pooling: .cls))
        let out = root.appendingPathComponent("hf")
        try HuggingFaceExport.export(checkpoint: f.dir, to: out)
        let (model, config, unused) = try Checkpoint.loadTransformer(from: out)
        XCTAssertEqual(model.maxArchitecture, Self.bert)
        XCTAssertNil(config.swiftnasArchitecture)
        XCTAssertEqual(Set(unused), ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"])
        var rng = RandomGenerator(seed: 9)
        let head = SequenceClassificationHead(Self.bert, numLabels: 3, rng: &rng)
        try Checkpoint.load(head, from: SafeTensorsFile(contentsOf: out.appendingPathComponent("model.safetensors")))

        let x = batch(types: true)
        let expectedHidden = f.model(x).hidden
        let hidden = model(x).hidden
        XCTAssertEqual(hidden.scalars, expectedHidden.scalars)
        let logits = head(hidden, attentionMask: x.attentionMask, training: false, rng: &rng)
        let expectedLogits = f.head!(expectedHidden, attentionMask: x.attentionMask, training: false, rng: &rng)
        XCTAssertEqual(logits.scalars, expectedLogits.scalars)
    }

    // MARK: - Refusals

    func testRefusesQKVNotEqualToHidden() throws {
        let arch = Architecture.uniform(.encoder, vocabSize: 50, maxPositions: 16, hidden: 32, depth: 2, heads: 4, qkv: 16, ffn: 64)
        assertRefused(try checkpoint(arch)) { message in
            XCTAssertTrue(message.contains("config.json: Hugging Face transformers cannot express this model (1 reason)"), message)
            XCTAssertTrue(message.contains("swiftnas_architecture.layers[0, 1].qkv is 16 but hidden is 32"), message)
        }
    }

    func testRefusesHeterogeneousLayers() throws {
        let arch = Architecture(family: .encoder, vocabSize: 50, maxPositions: 16, hidden: 32,
                                layers: [.init(heads: 4, qkv: 32, ffn: 64), .init(heads: 2, qkv: 32, ffn: 48)])
        assertRefused(try checkpoint(arch)) { message in
            XCTAssertTrue(message.contains("swiftnas_architecture.layers differ (layer 0: heads 4, qkv 32, ffn 64; "
                + "layer 1: heads 2, qkv 32, ffn 48)"), message)
            XCTAssertTrue(message.contains("one num_attention_heads and one intermediate_size"), message)
        }
    }

    func testRefusesDecoder() throws {
        let arch = Architecture.uniform(.decoder, vocabSize: 50, maxPositions: 16, hidden: 32, depth: 2, heads: 4, ffn: 64)
        assertRefused(try checkpoint(arch)) { message in
            XCTAssertTrue(message.contains("swiftnas_architecture.family is \"decoder\""), message)
            XCTAssertTrue(message.contains("BERT encoders only"), message)
        }
    }

    func testRefusesMeanPooling() throws {
        assertRefused(try checkpoint(Self.bert, head: .classification(numLabels: 2, pooling: .mean))) { message in
            XCTAssertTrue(message.contains("swiftnas_task.pooling is \"mean\""), message)
            XCTAssertTrue(message.contains("BertForSequenceClassification classifies the [CLS] pooler's output"), message)
        }
    }

    func testRefusesMissingVocabulary() throws {
        let f = try checkpoint(Self.bert, vocabulary: false)
        assertRefused(f) { message in
            XCTAssertTrue(message.hasPrefix(f.dir.appendingPathComponent("vocab.txt").path + ": file not found"), message)
            XCTAssertTrue(message.contains("WordPiece vocabulary"), message)
        }
    }

    func testListsEveryReasonForAFlexiBERTArchitecture() throws {
        let arch = Architecture(family: .encoder, vocabSize: 50, maxPositions: 16, hidden: 32, embeddingSize: 16,
                                layers: [.init(heads: 4, qkv: 32, ffn: 64), .init(heads: 4, qkv: 32, ffn: 64, operation: .dft),
                                         .init(heads: 4, qkv: 32, ffn: 64, ffnStack: [48])])
        assertRefused(try checkpoint(arch)) { message in
            XCTAssertTrue(message.contains("(4 reasons)"), message)
            XCTAssertTrue(message.contains("swiftnas_architecture.embeddingSize is 16 but hidden is 32"), message)
            XCTAssertTrue(message.contains("swiftnas_architecture.layers differ"), message)
            XCTAssertTrue(message.contains("swiftnas_architecture.layers[1].operation is \"dft\""), message)
            XCTAssertTrue(message.contains("swiftnas_architecture.layers[2].ffnStack is [48]"), message)
        }
    }

    func testRefusesInvalidTaskFields() throws {
        let f = try checkpoint(Self.bert, head: .classification(numLabels: 3, pooling: .cls))
        let config = f.dir.appendingPathComponent("config.json").path
        try setConfigKey("swiftnas_task", .object(["kind": .string("translation")]), in: f.dir)
        assertRefused(f) { message in
            XCTAssertEqual(message, "\(config): field 'swiftnas_task.kind' is \"translation\", expected one of "
                + "\"classification\", \"regression\", \"mlm\", \"causal\"")
        }
        try setConfigKey("swiftnas_task", .object(["kind": .string("classification"), "numLabels": .int(2)]), in: f.dir)
        assertRefused(f) { message in
            XCTAssertTrue(message.hasPrefix("\(config): field 'swiftnas_task.numLabels' is 2 but classifier.weight"), message)
            XCTAssertTrue(message.hasSuffix("has 3 rows (one per label), expected them to agree"), message)
        }
        try setConfigKey("swiftnas_task", .object(["kind": .string("regression"), "numLabels": .int(3)]), in: f.dir)
        assertRefused(f) { message in
            XCTAssertEqual(message, "\(config): field 'swiftnas_task.numLabels' is 3 for a regression head, expected 1")
        }
    }

    func testRefusesAClassifierWithoutItsTensors() throws {
        let f = try checkpoint(Self.bert)  // no head saved
        try setConfigKey("swiftnas_task", HuggingFaceExport.CheckpointTask(kind: .classification, numLabels: 2).json, in: f.dir)
        assertRefused(f) { message in
            XCTAssertTrue(message.hasPrefix(f.dir.appendingPathComponent("model.safetensors").path
                + ": tensor 'pooler.dense.weight' is missing, expected the [CLS] pooler"), message)
        }
    }

    // MARK: - Overwrite policy

    func testReplacesAPreviousExportOrAnEmptyFolderButNothingElse() throws {
        let f = try checkpoint(Self.bert, head: .classification(numLabels: 3, pooling: .cls))
        let fm = FileManager.default

        // An empty folder is filled.
        let out = root.appendingPathComponent("hf")
        try fm.createDirectory(at: out, withIntermediateDirectories: false)
        XCTAssertFalse(try HuggingFaceExport.export(checkpoint: f.dir, to: out).replacedPreviousExport)

        // A previous export is replaced by the new one.
        let g = try checkpoint(Self.bertReLU, head: .regression, name: "other")
        let second = try HuggingFaceExport.export(checkpoint: g.dir, to: out)
        XCTAssertTrue(second.replacedPreviousExport)
        XCTAssertEqual(try json(out.appendingPathComponent("config.json"))["problem_type"], .string("regression"))
        XCTAssertEqual(try leftovers(beside: out), [])

        // A previous export with a foreign file in it is refused, untouched.
        let readme = out.appendingPathComponent("README.md")
        try Data("mine".utf8).write(to: readme)
        XCTAssertThrowsError(try HuggingFaceExport.export(checkpoint: f.dir, to: out)) { error in
            XCTAssertEqual("\(error)", "\(out.path): is not empty and not a previous SwiftNAS export; remove it or choose "
                + "another folder (nothing was written); it holds README.md")
        }
        XCTAssertEqual(try Data(contentsOf: readme), Data("mine".utf8))
        XCTAssertEqual(try json(out.appendingPathComponent("config.json"))["problem_type"], .string("regression"))

        // A folder with the export's file names but no marker (e.g. a SwiftNAS checkpoint) is refused.
        let lookalike = root.appendingPathComponent("lookalike")
        try Checkpoint.save(f.model, vocabulary: f.dir.appendingPathComponent("vocab.txt"), to: lookalike)
        XCTAssertThrowsError(try HuggingFaceExport.export(checkpoint: f.dir, to: lookalike)) { error in
            XCTAssertTrue("\(error)".hasSuffix("its config.json has no \"swiftnas_export\" key"), "\(error)")
        }

        // A file in the way, and the checkpoint folder itself, are refused.
        let file = root.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try HuggingFaceExport.export(checkpoint: f.dir, to: file)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(file.path): a file is in the way"), "\(error)")
        }
        XCTAssertThrowsError(try HuggingFaceExport.export(checkpoint: f.dir, to: f.dir)) { error in
            XCTAssertEqual("\(error)", "\(f.dir.path): is the checkpoint folder itself, expected another folder")
        }
        XCTAssertEqual(try leftovers(beside: f.dir), [])
    }

    // MARK: - Against transformers

    /// Loads three exports with `transformers` (classification with token types and exact GELU; a bare
    /// backbone with tanh GELU, no token types and no pooler; a ReLU regression head) and compares
    /// `last_hidden_state` and the logits with SwiftNAS's own, and the keys transformers reports.
    func testTransformersLoadsTheExportAndAgrees() throws {
        let python = try transformersPython()
        let cases: [(name: String, fixture: Fixture, types: Bool)] = [
            ("classification", try checkpoint(Self.bert, head: .classification(numLabels: 3, pooling: .cls), name: "c1", seed: 5), true),
            ("backbone", try checkpoint(Self.bertNoTypes, name: "c2", seed: 6), false),
            ("regression", try checkpoint(Self.bertReLU, head: .regression, name: "c3", seed: 7), true),
        ]
        var exports: [String: JSONValue] = [:]
        for c in cases {
            let out = root.appendingPathComponent("hf-" + c.name)
            let report = try HuggingFaceExport.export(checkpoint: c.fixture.dir, to: out)
            exports[c.name] = .object(["dir": .string(out.path), "classifier": .bool(c.fixture.head != nil),
                                       "types": .bool(c.types)])
            XCTAssertEqual(report.transformersClass, c.fixture.head != nil ? "BertForSequenceClassification" : "BertModel")
        }
        let x = batch(types: true)
        let t = x.length
        let rows = { (v: [Int32]) -> JSONValue in .array((0..<x.batchSize).map { i in .array(v[(i * t)..<((i + 1) * t)].map { .int(Int($0)) }) }) }
        let spec: JSONValue = .object(["exports": .object(exports), "ids": rows(x.ids), "types": rows(x.typeIds!),
                                       "mask": rows(x.attentionMask!.map { Int32($0) })])
        let result = try runPython(python, script: Self.comparisonScript, input: spec)
        guard case .object(let r) = result else { return XCTFail("python printed \(result)") }

        var summary: [String] = []
        for c in cases {
            guard case .object(let got)? = r[c.name] else { XCTFail("no result for \(c.name)"); continue }
            let input = c.types ? x : batch(types: false)
            let hidden = c.fixture.model(input).hidden
            var rng = RandomGenerator(seed: 0)

            // BertModel: exact keys (a classification export's head is unexpected there; a backbone without
            // pooler leaves transformers' pooler missing), then the hidden states.
            let bertModel = try XCTUnwrap(object(got["BertModel"]), c.name)
            let expectedMissing: [String] = c.fixture.head == nil ? ["pooler.dense.bias", "pooler.dense.weight"] : []
            XCTAssertEqual(strings(bertModel["missing_keys"]), expectedMissing, "\(c.name) BertModel missing keys")
            let expectedUnexpected: [String] = c.fixture.head != nil ? ["classifier.bias", "classifier.weight"] : []
            XCTAssertEqual(strings(bertModel["unexpected_keys"]), expectedUnexpected, "\(c.name) BertModel unexpected keys")
            XCTAssertEqual(strings(bertModel["mismatched_keys"]), [], "\(c.name) BertModel mismatched keys")
            let dHidden = try maxAbsDifference(bertModel["last_hidden_state"], hidden)
            XCTAssertLessThan(dHidden, 1e-4, "\(c.name) last_hidden_state")
            summary.append("\(c.name) hidden \(dHidden)")

            if let head = c.fixture.head {
                let classifier = try XCTUnwrap(object(got["BertForSequenceClassification"]), c.name)
                for key in ["missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"] {
                    XCTAssertEqual(strings(classifier[key]), [], "\(c.name) BertForSequenceClassification \(key)")
                }
                XCTAssertEqual(classifier["num_labels"], .int(head.numLabels), c.name)
                XCTAssertEqual(classifier["problem_type"], .string(head.numLabels == 1 ? "regression" : "single_label_classification"))
                let logits = head(hidden, attentionMask: input.attentionMask, training: false, rng: &rng)
                let dLogits = try maxAbsDifference(classifier["logits"], logits)
                XCTAssertLessThan(dLogits, 1e-4, "\(c.name) logits")
                let dHidden2 = try maxAbsDifference(classifier["last_hidden_state"], hidden)
                XCTAssertLessThan(dHidden2, 1e-4, "\(c.name) BertForSequenceClassification hidden states")
                summary.append("\(c.name) logits \(dLogits)")
            }
        }
        print("ExportTests: transformers \(strings(.array([r["transformers"] ?? .null])).joined()) agrees; max |Δ|: "
              + summary.joined(separator: ", "))
    }

    /// Loads each export with BertModel (and BertForSequenceClassification for a classifier), in eval mode,
    /// on the given ids/mask (token types when asked), and prints one JSON object.
    static let comparisonScript = #"""
    import json, sys
    spec = json.load(open(sys.argv[1]))
    import torch
    import transformers
    from transformers import BertModel, BertForSequenceClassification
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)

    def info(i):
        return {k: sorted(str(x) for x in v) for k, v in i.items()}

    ids = torch.tensor(spec["ids"])
    mask = torch.tensor(spec["mask"])
    types = torch.tensor(spec["types"])
    out = {"transformers": transformers.__version__, "torch": torch.__version__}
    for name, e in spec["exports"].items():
        kwargs = {"input_ids": ids, "attention_mask": mask}
        if e["types"]:
            kwargs["token_type_ids"] = types
        r = {}
        model, loading = BertModel.from_pretrained(e["dir"], output_loading_info=True)
        model.eval()
        with torch.no_grad():
            h = model(**kwargs).last_hidden_state
        r["BertModel"] = dict(info(loading), last_hidden_state=h.tolist())
        if e["classifier"]:
            model, loading = BertForSequenceClassification.from_pretrained(e["dir"], output_loading_info=True)
            model.eval()
            with torch.no_grad():
                o = model(**kwargs, output_hidden_states=True)
            r["BertForSequenceClassification"] = dict(info(loading), logits=o.logits.tolist(),
                last_hidden_state=o.hidden_states[-1].tolist(), num_labels=model.config.num_labels,
                problem_type=model.config.problem_type)
        out[name] = r
    print(json.dumps(out))
    """#

    // MARK: - Python helpers

    /// `SWIFTNAS_TORCH_PYTHON`, else the package's `.deps/torch-venv/bin/python`; skips unless it imports
    /// torch and transformers.
    func transformersPython() throws -> URL {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["SWIFTNAS_TORCH_PYTHON"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.appendingPathComponent(".deps/torch-venv/bin/python")
        let hint = "install them with `make transformers` (into .deps/torch-venv) or set SWIFTNAS_TORCH_PYTHON"
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw XCTSkip("no Python at \(python.path) for the transformers comparison; \(hint)")
        }
        let probe = try run(python, ["-c", "import torch, transformers"], timeout: 120)
        guard probe.status == 0 else {
            throw XCTSkip("\(python.path) cannot import torch and transformers; \(hint)\n\(probe.stderr.suffix(400))")
        }
        return python
    }

    /// Runs `script` with `input` as a JSON file argument and parses its standard output.
    func runPython(_ python: URL, script: String, input: JSONValue, timeout: TimeInterval = 240) throws -> JSONValue {
        let scriptURL = root.appendingPathComponent("compare.py"), inputURL = root.appendingPathComponent("input.json")
        try Data(script.utf8).write(to: scriptURL)
        try input.serializedData(pretty: false).write(to: inputURL)
        let r = try run(python, [scriptURL.path, inputURL.path], timeout: timeout)
        guard r.status == 0 else {
            throw PythonFailure(message: "python exited with \(r.status):\n\(r.stderr.suffix(3000))")
        }
        guard let line = r.stdout.split(separator: "\n").last else {
            throw PythonFailure(message: "python printed nothing; stderr:\n\(r.stderr.suffix(3000))")
        }
        return try JSONValue(parsing: String(line))
    }

    /// Runs a process with its output in files (no pipe to fill), killed after `timeout` seconds.
    func run(_ executable: URL, _ arguments: [String], timeout: TimeInterval) throws -> (status: Int32, stdout: String, stderr: String) {
        let id = UUID().uuidString
        let outURL = root.appendingPathComponent("stdout-\(id)"), errURL = root.appendingPathComponent("stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        for (k, v) in ["HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                       "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "TRANSFORMERS_VERBOSITY": "error"] {
            env[k] = v
        }
        p.environment = env
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            p.terminate()
            usleep(500_000)
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            throw PythonFailure(message: "\(executable.path) \(arguments.first ?? "") did not finish within \(Int(timeout)) s; killed")
        }
        p.waitUntilExit()
        let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        return (p.terminationStatus, stdout, stderr)
    }

    struct PythonFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    func object(_ v: JSONValue?) -> [String: JSONValue]? {
        if case .object(let o)? = v { return o }
        return nil
    }

    func strings(_ v: JSONValue?) -> [String] {
        guard case .array(let items)? = v else { return ["<not a list: \(String(describing: v))>"] }
        return items.map { if case .string(let s) = $0 { return s }; return "\($0)" }
    }

    /// Flattens nested JSON number arrays.
    func numbers(_ v: JSONValue) -> [Double] {
        switch v {
        case .int(let i): return [Double(i)]
        case .double(let d): return [d]
        case .array(let items): return items.flatMap(numbers)
        default: return [.nan]
        }
    }

    func maxAbsDifference(_ got: JSONValue?, _ expected: Tensor) throws -> Double {
        let values = numbers(try XCTUnwrap(got, "missing tensor in python output"))
        let reference = expected.scalars
        guard values.count == reference.count else {
            XCTFail("python gave \(values.count) values, expected \(reference.count) (shape \(expected.shape))")
            return .infinity
        }
        guard values.allSatisfy(\.isFinite) else {
            XCTFail("python gave non-finite values")
            return .infinity
        }
        return zip(values, reference).reduce(0.0) { max($0, abs($1.0 - Double($1.1))) }
    }
}
