import XCTest
@testable import NASModels
@testable import NASTensor

final class TransformerTests: XCTestCase {
    static let superArch = Architecture(family: .encoder, vocabSize: 50, maxPositions: 16, hidden: 24,
        layers: [.init(heads: 4, qkv: 24, ffn: 40), .init(heads: 4, qkv: 24, ffn: 40), .init(heads: 3, qkv: 18, ffn: 32)])
    static let subArch = Architecture(family: .encoder, vocabSize: 50, maxPositions: 12, hidden: 16,
        layers: [.init(heads: 2, qkv: 12, ffn: 20), .init(heads: 3, qkv: 18, ffn: 40)])

    func testParameterCountMatchesTensorsUsed() {
        for arch in [Self.superArch, Self.subArch,
                     Architecture.uniform(.decoder, vocabSize: 40, maxPositions: 20, hidden: 12, depth: 2, heads: 3, ffn: 30)] {
            let model = Transformer(arch, seed: 1)
            XCTAssertEqual(model.parameterElementCount, arch.parameterCount)
            XCTAssertEqual(arch.nonEmbeddingParameterCount,
                           arch.parameterCount - (arch.vocabSize + arch.maxPositions + arch.typeVocabSize) * arch.hidden)
        }
        // The extracted sub-network holds exactly the analytic count.
        XCTAssertEqual(Transformer(Self.superArch, seed: 1).extract(Self.subArch).parameterElementCount, Self.subArch.parameterCount)
        // By hand, a 1-layer encoder: V=10, P=4, T=2, H=8, heads 2, qkv 6, ffn 12.
        let tiny = Architecture(family: .encoder, vocabSize: 10, maxPositions: 4, hidden: 8, layers: [.init(heads: 2, qkv: 6, ffn: 12)])
        let byHand = (10 + 4 + 2) * 8 + 16 + 3 * (8 * 6 + 6) + (6 * 8 + 8) + (8 * 12 + 12) + (12 * 8 + 8) + 2 * 16
        XCTAssertEqual(tiny.parameterCount, byHand)
    }

    /// One NaN in a query weight makes every score of its head NaN; the softmax passes NaN on, so the
    /// hidden states show the fault instead of finite but wrong values.
    func testANaNQueryWeightShowsInTheHiddenStates() {
        let model = Transformer(Self.superArch, seed: 1)
        guard let query = model.parameters.first(where: { $0.name == "encoder.layer.0.attention.self.query.weight" }) else {
            return XCTFail("no query weight in \(model.parameters.map(\.name))")
        }
        let batch = TokenBatch(ids: [2, 7, 9, 3], attentionMask: [1, 1, 1, 1], batchSize: 1, length: 4)
        XCTAssertTrue(model(batch).hidden.scalars.allSatisfy(\.isFinite))
        var values = query.value.scalars
        values[0] = .nan
        query.value = Tensor(shape: query.shape, scalars: values)
        XCTAssertTrue(model(batch).hidden.scalars.contains(where: \.isNaN))
    }

    func testFLOPsMatchCountedMatmuls() {
        let supernet = Transformer(Self.superArch, seed: 2)
        for (arch, t) in [(Self.superArch, 16), (Self.subArch, 12), (Self.subArch, 5)] {
            Engine.resetFLOPs()
            _ = supernet(batch(1, t, vocab: 50, padLast: false), architecture: arch)
            XCTAssertEqual(Engine.countedFLOPs, arch.flops(sequenceLength: t), "\(t)")
        }
    }

    func testExtractionEqualsSupernetSlice() {
        let supernet = Transformer(Self.superArch, seed: 3)
        let standalone = supernet.extract(Self.subArch)
        let x = batch(3, 10, vocab: 50)
        let a = supernet(x, architecture: Self.subArch).hidden.scalars
        let b = standalone(x).hidden.scalars
        XCTAssertEqual(a, b, "extracted model must reproduce the slice exactly")
        let c = supernet(x).hidden
        XCTAssertEqual(c.shape, [3, 10, 24])
    }

    func testSubnetworkGradientOnlyInItsSlice() {
        let supernet = Transformer(Self.superArch, seed: 4)
        supernet.hiddenDropout = 0; supernet.attentionDropout = 0
        var rng = RandomGenerator(seed: 5)
        let out = supernet(batch(2, 8, vocab: 50), architecture: Self.subArch, training: true, rng: &rng)
        (out.hidden * out.hidden).sum().backward()
        let q0 = supernet.blocks[0].attention!.query.weight   // [24, 24], used [:12, :16]
        let g = q0.grad!
        var inside = 0.0, outside = 0.0
        for i in 0..<24 { for j in 0..<24 {
            if i < 12 && j < 16 { inside += Double(Swift.abs(g[i, j])) } else { outside += Double(Swift.abs(g[i, j])) }
        } }
        XCTAssertGreaterThan(inside, 0)
        XCTAssertEqual(outside, 0, "the parent's untouched block must get zero gradient")
        XCTAssertNil(supernet.blocks[2].intermediate.weight.grad, "an unused layer gets no gradient")
        let ffn1 = supernet.blocks[1].intermediate.weight.grad!  // [40, 24] used fully in rows, [:, :16]
        for i in 0..<40 { for j in 16..<24 { XCTAssertEqual(ffn1[i, j], 0) } }
    }

    /// Finite differences through whole blocks (encoder with padding, decoder with causal mask), on a
    /// sub-network slice of a supernet, MLM and classification heads included.
    func testGradientsThroughBlocksAndHeads() {
        var rng = RandomGenerator(seed: 9)
        let encoder = Transformer(Self.superArch, rng: &rng)
        // Larger weights than BERT's 0.02 so that every path carries a measurable gradient.
        for p in encoder.parameters where p.value.rank == 2 { p.value = p.value * 10 }
        let head = MaskedLMHead(Self.superArch, rng: &rng)
        let x = batch(2, 6, vocab: 50)
        let masked: [Int32] = [1, 4, 8], labels: [Int32] = [3, 7, 11]
        final class Both: Module {
            let a: Module, b: Module
            init(_ a: Module, _ b: Module) { self.a = a; self.b = b }
            var children: [(name: String, module: any Module)] { [("a", a), ("b", b)] }
        }
        checkModuleGradients(Both(encoder, head)) {
            var r = RandomGenerator(seed: 1)
            let h = encoder(x, architecture: Self.subArch, training: false, rng: &r).hidden
            return head(h.reshaped([12, 16]).gather(rows: masked), embeddings: encoder.wordEmbeddings).crossEntropy(targets: labels)
        }
        let cls = SequenceClassificationHead(Self.superArch, numLabels: 3, rng: &rng)
        let mean = SequenceClassificationHead(Self.superArch, numLabels: 1, pooling: .mean, rng: &rng)
        checkModuleGradients(Both(encoder, cls)) {
            var r = RandomGenerator(seed: 1)
            let h = encoder(x, architecture: Self.subArch, training: false, rng: &r).hidden
            return cls.loss(cls(h, attentionMask: x.attentionMask, training: false, rng: &r), labels: [2, 0])
        }
        checkModuleGradients(Both(encoder, mean)) {
            var r = RandomGenerator(seed: 1)
            let h = encoder(x, training: false, rng: &r).hidden
            return mean.loss(mean(h, attentionMask: x.attentionMask, training: false, rng: &r), labels: [0.5, -1])
        }
        let decoderArch = Architecture(family: .decoder, vocabSize: 30, maxPositions: 8, hidden: 12,
                                       layers: [.init(heads: 3, qkv: 12, ffn: 24), .init(heads: 2, qkv: 8, ffn: 16)])
        let decoder = Transformer(decoderArch, rng: &rng)
        for p in decoder.parameters where p.value.rank == 2 { p.value = p.value * 10 }
        let y = batch(2, 7, vocab: 30, padLast: false)
        checkModuleGradients(decoder) {
            var r = RandomGenerator(seed: 1)
            let h = decoder(y, training: false, rng: &r).hidden
            return CausalLMHead.loss(h, batch: y, embeddings: decoder.wordEmbeddings)
        }
    }

    func testCausalMaskHidesTheFuture() {
        let arch = Architecture.uniform(.decoder, vocabSize: 20, maxPositions: 8, hidden: 8, depth: 2, heads: 2, ffn: 16)
        let model = Transformer(arch, seed: 3)
        let a = TokenBatch(ids: [1, 2, 3, 4, 5, 6], batchSize: 1, length: 6)
        let b = TokenBatch(ids: [1, 2, 3, 9, 9, 9], batchSize: 1, length: 6)
        let ha = model(a).hidden.scalars, hb = model(b).hidden.scalars
        XCTAssertEqual(Array(ha[0..<24]), Array(hb[0..<24]), "positions 0–2 must not see tokens 3–5")
        XCTAssertNotEqual(Array(ha[24..<32]), Array(hb[24..<32]))
    }

    func testPaddingDoesNotChangeRealTokens() {
        let model = Transformer(Self.subArch, seed: 6)
        let short = TokenBatch(ids: [5, 6, 7], attentionMask: [1, 1, 1], batchSize: 1, length: 3)
        let padded = TokenBatch(ids: [5, 6, 7, 0, 0], attentionMask: [1, 1, 1, 0, 0], batchSize: 1, length: 5)
        let a = model(short).hidden.scalars, b = model(padded).hidden.scalars
        for i in 0..<(3 * 16) { XCTAssertEqual(a[i], b[i], accuracy: 1e-5) }
    }

    func testArchitectureValidationAndJSON() throws {
        var bad = Self.subArch
        bad.layers[0].qkv = 13
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("layers[0].qkv")) }
        XCTAssertNoThrow(try Self.superArch.validate())
        XCTAssertTrue(Self.subArch.fits(in: Self.superArch))
        XCTAssertFalse(Self.superArch.fits(in: Self.subArch))
        let data = try JSONEncoder().encode(Self.subArch)
        XCTAssertEqual(try JSONDecoder().decode(Architecture.self, from: data), Self.subArch)
    }
}
