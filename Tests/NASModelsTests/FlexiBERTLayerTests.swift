import XCTest
@testable import NASModels
@testable import NASTensor

/// Every FlexiBERT layer kind in the weight-entangled `Transformer`: SDP, WMA, DFT, DCT and dynamic
/// convolution mixers, FFN stacks, per-layer widths and factorised embeddings.
final class FlexiBERTLayerTests: XCTestCase {
    typealias Layer = Architecture.Layer

    /// A FlexiBERT-style supernet: every operation, FFN stacks, widths 16 → 12 → 16, embeddings of 8.
    static let supernet = Architecture(family: .encoder, vocabSize: 40, maxPositions: 16, hidden: 16, embeddingSize: 8,
        layers: [Layer(heads: 4, qkv: 16, ffn: 32, operation: .sdp),
                 Layer(heads: 4, qkv: 16, ffn: 32, operation: .wma, ffnStack: [24]),
                 Layer(heads: 2, qkv: 16, ffn: 32, operation: .dft, hidden: 12),
                 Layer(heads: 2, qkv: 12, ffn: 24, operation: .dct, ffnStack: [20, 28], hidden: 12),
                 Layer(heads: 4, qkv: 16, ffn: 32, operation: .dynamicConv(kernel: 5), ffnStack: [24])])
    /// Same operations and stack counts, smaller everything, widths changing where the supernet's do.
    static let subnet = Architecture(family: .encoder, vocabSize: 40, maxPositions: 12, hidden: 12, embeddingSize: 8,
        layers: [Layer(heads: 2, qkv: 8, ffn: 20, operation: .sdp),
                 Layer(heads: 2, qkv: 8, ffn: 32, operation: .wma, ffnStack: [16]),
                 Layer(heads: 1, qkv: 4, ffn: 16, operation: .dft, hidden: 8),
                 Layer(heads: 1, qkv: 4, ffn: 24, operation: .dct, ffnStack: [10, 28], hidden: 8),
                 Layer(heads: 2, qkv: 8, ffn: 16, operation: .dynamicConv(kernel: 5), ffnStack: [12])])

    static func encoder(_ layers: [Layer], hidden: Int = 12, embedding: Int? = nil) -> Architecture {
        Architecture(family: .encoder, vocabSize: 30, maxPositions: 16, hidden: hidden, embeddingSize: embedding, layers: layers)
    }

    /// One architecture per layer kind and several mixtures.
    static var zoo: [Architecture] {
        let ops: [Architecture.Operation] = [.sdp, .wma, .dft, .dct, .dynamicConv(kernel: 3), .dynamicConv(kernel: 9)]
        var archs = ops.map { encoder([Layer(heads: 3, qkv: 12, ffn: 20, operation: $0)]) }
        archs += [
            encoder([Layer(heads: 2, qkv: 8, ffn: 20, ffnStack: [10, 14])]),                      // FFN stack
            encoder([Layer(heads: 2, qkv: 8, ffn: 20)], embedding: 6),                              // factorised
            encoder([Layer(heads: 2, qkv: 8, ffn: 20)], embedding: 12),                             // E = H: no projection
            encoder([Layer(heads: 2, qkv: 8, ffn: 20, hidden: 10), Layer(heads: 2, qkv: 8, ffn: 16),
                     Layer(heads: 4, qkv: 8, ffn: 16, hidden: 14)]),                                // per-layer widths
            encoder([Layer(heads: 2, qkv: 8, ffn: 20), Layer(heads: 2, qkv: 8, ffn: 16, projected: true),
                     Layer(heads: 2, qkv: 8, ffn: 16, hidden: 10, projected: true)]),              // projected at equal width
            encoder([Layer(heads: 2, qkv: 6, ffn: 12, bottleneck: 6), Layer(heads: 2, qkv: 8, ffn: 20)],
                    embedding: 8),                                                                  // MobileBERT bottleneck
            supernet, subnet,
            Architecture(family: .decoder, vocabSize: 30, maxPositions: 16, hidden: 12, embeddingSize: 6,
                         layers: [Layer(heads: 3, qkv: 12, ffn: 24, operation: .wma, ffnStack: [8]),
                                  Layer(heads: 2, qkv: 8, ffn: 16, hidden: 10)]),
        ]
        return archs
    }

    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return Tensor.randomNormal(shape, using: &rng)
    }

    // MARK: - Costs

    func testParameterCountOfEveryKind() {
        for arch in Self.zoo {
            XCTAssertNoThrow(try arch.validate())
            XCTAssertEqual(Transformer(arch, seed: 1).parameterElementCount, arch.parameterCount, "\(arch.layers.map(\.operation))")
        }
        // By hand: factorised embeddings E = 4 → H = 6, one DCT layer (no mixer parameters) with an FFN
        // stack 10 → 5 and its own width 8.
        let arch = Self.encoder([Layer(heads: 1, qkv: 4, ffn: 10, operation: .dct, ffnStack: [5], hidden: 8)], hidden: 6, embedding: 4)
        let byHand = (30 + 16 + 2) * 4 + 2 * 4 + (4 * 6 + 6) + (6 * 8 + 8) + 2 * 2 * 8
            + (8 * 10 + 10) + (10 * 5 + 5) + (5 * 8 + 8)
        XCTAssertEqual(arch.parameterCount, byHand)
        XCTAssertEqual(Transformer(arch, seed: 1).parameterElementCount, byHand)
        XCTAssertEqual(Transformer(Self.supernet, seed: 1).extract(Self.subnet).parameterElementCount, Self.subnet.parameterCount)
    }

    func testFLOPsMatchCountedMatmuls() {
        for arch in Self.zoo {
            let model = Transformer(arch, seed: 2)
            for t in [1, 7, 12] {
                Engine.resetFLOPs()
                _ = model(batch(1, t, vocab: 30, padLast: false))
                XCTAssertEqual(Engine.countedFLOPs, arch.flops(sequenceLength: t), "\(arch.layers.map(\.operation)) T=\(t)")
            }
            // A batch costs B sequences.
            Engine.resetFLOPs()
            _ = model(batch(3, 5, vocab: 30))
            XCTAssertEqual(Engine.countedFLOPs, 3 * arch.flops(sequenceLength: 5))
        }
        // The supernet running its sub-network costs the sub-network.
        let supernet = Transformer(Self.supernet, seed: 3)
        Engine.resetFLOPs()
        _ = supernet(batch(1, 9, vocab: 40, padLast: false), architecture: Self.subnet)
        XCTAssertEqual(Engine.countedFLOPs, Self.subnet.flops(sequenceLength: 9))
    }

    // MARK: - Mixers against their definitions

    func testFourierMixerIsTheRealPartOfThe2DDFT() {
        let (b, n, h) = (2, 7, 6)
        let x = random([b, n, h], seed: 4)
        let y = FourierMixer()(x)
        XCTAssertEqual(y.shape, [b, n, h])
        let xs = x.scalars, ys = y.scalars
        for s in 0..<b { for a in 0..<n { for c in 0..<h {
            // Re Σ_j Σ_k x[j, k]·e^{−2πi(aj/N + ck/h)}
            var re = 0.0
            for j in 0..<n { for k in 0..<h {
                re += Double(xs[(s * n + j) * h + k]) * cos(2 * .pi * (Double(a * j) / Double(n) + Double(c * k) / Double(h)))
            } }
            XCTAssertEqual(Double(ys[(s * n + a) * h + c]), re, accuracy: 1e-4, "[\(s), \(a), \(c)]")
        } } }
    }

    func testCosineMixerIsTheOrthonormal2DDCT() {
        let (b, n, h) = (2, 5, 8)
        let x = random([b, n, h], seed: 5)
        let y = CosineMixer()(x)
        let xs = x.scalars, ys = y.scalars
        func basis(_ k: Int, _ i: Int, _ len: Int) -> Double {
            (k == 0 ? (1 / Double(len)).squareRoot() : (2 / Double(len)).squareRoot()) * cos(.pi * (Double(i) + 0.5) * Double(k) / Double(len))
        }
        for s in 0..<b { for a in 0..<n { for c in 0..<h {
            var v = 0.0
            for j in 0..<n { for k in 0..<h { v += Double(xs[(s * n + j) * h + k]) * basis(a, j, n) * basis(c, k, h) } }
            XCTAssertEqual(Double(ys[(s * n + a) * h + c]), v, accuracy: 1e-4, "[\(s), \(a), \(c)]")
        } } }
        // Orthonormal: the energy is preserved.
        let e0 = xs.reduce(0) { $0 + Double($1 * $1) }, e1 = ys.reduce(0) { $0 + Double($1 * $1) }
        XCTAssertEqual(e0, e1, accuracy: 1e-3 * e0)
    }

    /// The ConvBERT formulas with loops, in Double, over the leading slices that (h, q, heads) select.
    func naiveDynamicConvolution(_ m: DynamicConvolution, _ x: Tensor, heads: Int, qkv q: Int) -> [Double] {
        let b = x.shape[0], t = x.shape[1], h = x.shape[2], k = m.kernelSize, d = q / heads
        let xs = x.scalars
        func X(_ s: Int, _ i: Int, _ c: Int) -> Double { Double(xs[(s * t + i) * h + c]) }
        func linear(_ l: Linear, _ input: [Double], _ out: Int) -> [Double] {
            (0..<out).map { o in input.indices.reduce(Double(l.bias!.value[o])) { $0 + input[$1] * Double(l.weight.value[o, $1]) } }
        }
        var result: [Double] = []
        for s in 0..<b {
            let rows = (0..<t).map { i in (0..<h).map { X(s, i, $0) } }
            let qs = rows.map { linear(m.query, $0, q) }, vs = rows.map { linear(m.value, $0, q) }
            let dw: [[Double]] = (0..<t).map { i in (0..<h).map { c in
                var acc = Double(m.depthwise.bias.value[c])
                for j in 0..<k { let src = i + j - k / 2; if src >= 0 && src < t { acc += Double(m.depthwise.weight.value[c, j]) * X(s, src, c) } }
                return acc
            } }
            let ks = dw.map { linear(m.pointwise, $0, q) }
            for i in 0..<t {
                let logits = linear(m.kernel, (0..<q).map { qs[i][$0] * ks[i][$0] }, heads * k)
                var mixed = [Double](repeating: 0, count: q)
                for hd in 0..<heads {
                    let row = logits[(hd * k)..<((hd + 1) * k)], mx = row.max()!
                    let z = row.reduce(0) { $0 + Foundation.exp($1 - mx) }
                    for j in 0..<k {
                        let w = Foundation.exp(row[hd * k + j] - mx) / z, src = i + j - k / 2
                        guard src >= 0 && src < t else { continue }
                        for e in 0..<d { mixed[hd * d + e] += w * vs[src][hd * d + e] }
                    }
                }
                result += linear(m.output, mixed, h)
            }
        }
        return result
    }

    func testDynamicConvolutionAgainstLoops() {
        var rng = RandomGenerator(seed: 6)
        for k in [1, 3, 5] {
            let m = DynamicConvolution(hidden: 6, qkv: 8, heads: 2, kernel: k, prefix: "conv.", rng: &rng)
            // Random biases and larger weights, so that every term matters.
            for p in m.parameters { p.value = Tensor.randomNormal(p.shape, std: 0.5, using: &rng) }
            for (h, q, heads, t) in [(6, 8, 2, 7), (4, 4, 1, 5), (6, 6, 2, 2)] {   // full, then leading slices
                let x = random([2, t, h], seed: UInt64(10 + h))
                let y = Autograd.noGrad { m(x, heads: heads, qkv: q) }
                XCTAssertEqual(y.shape, [2, t, h])
                let reference = naiveDynamicConvolution(m, x, heads: heads, qkv: q)
                for (i, (a, r)) in zip(y.scalars, reference).enumerated() {
                    XCTAssertEqual(Double(a), r, accuracy: 1e-4 * Swift.max(1, Swift.abs(r)), "k=\(k) h=\(h) q=\(q) heads=\(heads) [\(i)]")
                }
            }
        }
    }

    func testWMAStartsNearSDPAndUsesItsWeight() {
        let sdpArch = Self.encoder([Layer(heads: 3, qkv: 12, ffn: 20, operation: .sdp)])
        var wmaArch = sdpArch
        wmaArch.layers[0].operation = .wma
        let sdp = Transformer(sdpArch, seed: 7), wma = Transformer(wmaArch, seed: 7)
        let w = (wma.blocks[0].mixer as! WeightedMultiplicativeAttention).weight
        XCTAssertEqual(w.name, "encoder.layer.0.attention.self.wma")
        XCTAssertEqual(w.shape, [3, 4, 4])
        // Initialised as identity + N(0, 0.02²) noise.
        let identity = (0..<48).map { Float(($0 % 16) % 5 == 0 ? 1 : 0) }
        let noise = zip(w.value.scalars, identity).map { Swift.abs($0 - $1) }
        XCTAssertLessThan(noise.max()!, 0.1)
        XCTAssertGreaterThan(noise.max()!, 0)
        // Same q/k/v weights and W = I exactly: WMA equals SDP.
        let shared = sdp.namedParameters
        for p in wma.parameters { if let s = shared[p.name] { p.value = s.value } }
        w.value = Tensor(shape: [3, 4, 4], scalars: identity)
        let x = batch(2, 6, vocab: 30)
        XCTAssertEqual(wma(x).hidden.scalars, sdp(x).hidden.scalars)
        XCTAssertNotNil(wma(x).layers[0].attention)
        // Another W changes the scores.
        w.value = w.value * 3
        XCTAssertNotEqual(wma(x).hidden.scalars, sdp(x).hidden.scalars)
        // Padding is masked as in SDP.
        let short = TokenBatch(ids: [5, 6, 7], attentionMask: [1, 1, 1], batchSize: 1, length: 3)
        let padded = TokenBatch(ids: [5, 6, 7, 0, 0], attentionMask: [1, 1, 1, 0, 0], batchSize: 1, length: 5)
        let a = wma(short).hidden.scalars, bb = wma(padded).hidden.scalars
        for i in 0..<(3 * 12) { XCTAssertEqual(a[i], bb[i], accuracy: 1e-5) }
    }

    func testNonAttentionLayersReportNoAttention() {
        let arch = Self.encoder([Layer(heads: 2, qkv: 8, ffn: 20, operation: .dft),
                                 Layer(heads: 2, qkv: 8, ffn: 20, operation: .dynamicConv(kernel: 3), ffnStack: [6])])
        let out = Transformer(arch, seed: 8)(batch(2, 5, vocab: 30))
        XCTAssertNil(out.layers[0].attention)
        XCTAssertNil(out.layers[1].attention)
        XCTAssertEqual(out.layers[0].preActivation.shape, [2, 5, 20])
        XCTAssertEqual(out.layers[1].preActivation.shape, [2, 5, 20])
        XCTAssertEqual(out.hiddenStates.map(\.shape), [[2, 5, 12], [2, 5, 12], [2, 5, 12]])
    }

    func testNamesFollowTheConventions() {
        let names = Set(Transformer(Self.supernet, seed: 1).parameters.map(\.name))
        for n in ["embeddings.embeddings_project.weight", "embeddings.LayerNorm.weight",
                  "encoder.layer.1.attention.self.wma", "encoder.layer.1.intermediate.dense.weight",
                  "encoder.layer.1.intermediate.extra.0.weight", "encoder.layer.1.output.dense.weight",
                  "encoder.layer.2.input_projection.weight", "encoder.layer.4.input_projection.bias",
                  "encoder.layer.3.intermediate.extra.1.bias",
                  "encoder.layer.4.attention.self.key_conv_attn_layer.depthwise.weight",
                  "encoder.layer.4.attention.self.conv_kernel_layer.weight"] {
            XCTAssertTrue(names.contains(n), n)
        }
        XCTAssertFalse(names.contains("encoder.layer.3.input_projection.weight"))
        XCTAssertFalse(names.contains { $0.hasPrefix("encoder.layer.2.attention.self") }, "DFT has no parameters")
    }

    // MARK: - Gradients

    func testGradientsThroughEveryLayerKind() {
        var rng = RandomGenerator(seed: 9)
        let model = Transformer(Self.supernet, rng: &rng)
        // Larger weights than BERT's 0.02 so that every path carries a measurable gradient.
        for p in model.parameters where p.value.rank == 2 { p.value = p.value * 10 }
        let x = batch(2, 7, vocab: 40)
        for arch in [Self.subnet, Self.supernet] {
            checkModuleGradients(model) {
                var r = RandomGenerator(seed: 1)
                return model(x, architecture: arch, training: false, rng: &r).hidden
            }
        }
        // Every parameter of the sub-network's slice got a gradient somewhere (nothing silently unused).
        model.zeroGrad()
        var r = RandomGenerator(seed: 1)
        let out = model(x, training: false, rng: &r)
        (out.hidden * out.hidden).sum().backward()
        for p in model.parameters where !p.name.hasPrefix("embeddings.token_type") && !p.name.hasPrefix("embeddings.position") {
            XCTAssertNotNil(p.grad, p.name)
        }
        // A decoder with WMA, an FFN stack, factorised embeddings and a width change.
        let decoderArch = Self.zoo.last!
        let decoder = Transformer(decoderArch, rng: &rng)
        for p in decoder.parameters where p.value.rank == 2 { p.value = p.value * 10 }
        let y = batch(2, 6, vocab: 30, padLast: false)
        checkModuleGradients(decoder) {
            var r = RandomGenerator(seed: 1)
            return decoder(y, training: false, rng: &r).hidden
        }
    }

    func testDecoderWMAIsCausal() {
        let arch = Self.zoo.last!
        let model = Transformer(arch, seed: 3)
        let a = TokenBatch(ids: [1, 2, 3, 4, 5, 6], batchSize: 1, length: 6)
        let b = TokenBatch(ids: [1, 2, 3, 9, 9, 9], batchSize: 1, length: 6)
        let ha = model(a).hidden.scalars, hb = model(b).hidden.scalars
        XCTAssertEqual(ha.count, 6 * arch.outputWidth)
        XCTAssertEqual(Array(ha[0..<30]), Array(hb[0..<30]), "positions 0–2 must not see tokens 3–5")
        XCTAssertNotEqual(Array(ha[30..<40]), Array(hb[30..<40]))
    }

    // MARK: - MobileBERT bottleneck

    /// out = LN_out(x + (Block_b(x·W_inᵀ + b_in))·W_outᵀ + b_out), the block at width b a plain BERT block;
    /// its parameters by hand; gradients through every bottleneck parameter; a narrower bottleneck
    /// runs as a slice.
    func testBottleneckBlockIsAPlainBlockBetweenTwoProjections() {
        let layer = Layer(heads: 2, qkv: 6, ffn: 10, bottleneck: 6)
        let arch = Self.encoder([layer])
        let byHand = (30 + 16 + 2) * 12 + 2 * 12 + (12 * 6 + 6) + (6 * 12 + 12) + 2 * 12
            + (3 * (6 * 6 + 6) + 6 * 6 + 6) + 2 * 2 * 6 + (6 * 10 + 10) + (10 * 6 + 6)
        XCTAssertEqual(arch.parameterCount, byHand)
        let model = Transformer(arch, seed: 4)
        XCTAssertEqual(model.parameterElementCount, byHand)
        let block = model.blocks[0]
        let (input, output, norm) = block.bottleneck!
        XCTAssertEqual(input.weight.name, "encoder.layer.0.bottleneck.input.dense.weight")
        // The same block without the bottleneck, at width 6, sharing the inner weights.
        var rng = RandomGenerator(seed: 5)
        let plain = TransformerBlock(family: .encoder, activation: .gelu, hidden: 6, layer: Layer(heads: 2, qkv: 6, ffn: 10),
                                     index: 0, eps: 1e-12, rng: &rng)
        plain.loadLeadingSlices(from: block)
        let x = random([2, 5, 12], seed: 6)
        var r = RandomGenerator(seed: 0)
        let got = block(x, layer: layer, mask: nil, hiddenDropout: 0, attentionDropout: 0, rng: &r)
        let inner = plain(input(x, out: 6), layer: Layer(heads: 2, qkv: 6, ffn: 10), mask: nil, hiddenDropout: 0,
                          attentionDropout: 0, rng: &r)
        let expected = norm(x + output(inner.output, out: 12))
        XCTAssertEqual(got.output.shape, [2, 5, 12])
        for (a, b) in zip(got.output.scalars, expected.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(got.preActivation.shape, [2, 5, 10])
        // Gradients (weights scaled up so every path carries a measurable gradient).
        for p in model.parameters where p.value.rank == 2 { p.value = p.value * 10 }
        let ids = batch(2, 6, vocab: 30)
        checkModuleGradients(model) {
            var r = RandomGenerator(seed: 1)
            return model(ids, training: false, rng: &r).hidden
        }
        // A narrower bottleneck fits and runs as the leading slice; a plain layer does not fit a bottleneck one.
        let narrow = Self.encoder([Layer(heads: 1, qkv: 4, ffn: 8, bottleneck: 4)])
        XCTAssertTrue(narrow.fits(in: arch))
        XCTAssertFalse(Self.encoder([Layer(heads: 2, qkv: 6, ffn: 10)]).fits(in: arch))
        XCTAssertEqual(model(ids, architecture: narrow).hidden.scalars, model.extract(narrow)(ids).hidden.scalars)
        // Decoders refuse it, naming the field.
        let decoder = Architecture(family: .decoder, vocabSize: 30, maxPositions: 16, hidden: 12, layers: [layer])
        XCTAssertThrowsError(try decoder.validate()) { XCTAssertTrue("\($0)".contains("layers[0].bottleneck")) }
    }

    /// A `projected` layer gets an input projection at an unchanged width (a block-wise student's adapter): it runs
    /// (a changed projection changes the output), only a parent projected there holds it, and the JSON names it only
    /// when set.
    func testProjectedLayerHasAnInputProjectionAtAnEqualWidth() throws {
        let plain = Self.encoder([Layer(heads: 2, qkv: 8, ffn: 20), Layer(heads: 2, qkv: 8, ffn: 16)])
        var projected = plain
        projected.layers[1].projected = true
        XCTAssertEqual(projected.parameterCount, plain.parameterCount + 12 * 12 + 12)
        XCTAssertFalse(projected.isPlain)
        let model = Transformer(projected, seed: 4)
        XCTAssertNil(model.inputProjections[0])
        let projection = try XCTUnwrap(model.inputProjections[1])
        XCTAssertEqual(projection.weight.name, "encoder.layer.1.input_projection.weight")
        let x = batch(2, 6, vocab: 30)
        let before = model(x).hidden.scalars
        projection.weight.value = projection.weight.value * 2
        XCTAssertNotEqual(model(x).hidden.scalars, before)
        XCTAssertTrue(plain.fits(in: projected))
        XCTAssertTrue(projected.fits(in: projected))
        XCTAssertFalse(projected.fits(in: plain), "no projection to run in the plain parent")
        let json = String(decoding: try JSONEncoder().encode(projected.layers), as: UTF8.self)
        XCTAssertEqual(json.components(separatedBy: "projected").count, 2, json)
        XCTAssertEqual(try JSONDecoder().decode([Layer].self, from: Data(json.utf8)), projected.layers)
    }

    // MARK: - Weight entanglement

    func testSubnetworkExtractsAndMatchesExactly() {
        XCTAssertTrue(Self.subnet.fits(in: Self.supernet))
        let supernet = Transformer(Self.supernet, seed: 11)
        let standalone = supernet.extract(Self.subnet)
        let x = batch(3, 10, vocab: 40)
        let a = supernet(x, architecture: Self.subnet), b = standalone(x)
        XCTAssertEqual(a.hidden.shape, [3, 10, 12])
        XCTAssertEqual(a.hidden.scalars, b.hidden.scalars, "extracted model must reproduce the slice exactly")
        for (ra, rb) in zip(a.layers, b.layers) { XCTAssertEqual(ra.preActivation.scalars, rb.preActivation.scalars) }
        XCTAssertEqual(supernet(x).hidden.shape, [3, 10, 16])
        // The sub-network's gradient stays in the leading block of the supernet's conv kernel generator.
        var rng = RandomGenerator(seed: 1)
        let out = supernet(x, architecture: Self.subnet, training: false, rng: &rng)
        (out.hidden * out.hidden).sum().backward()
        let conv = supernet.blocks[4].mixer as! DynamicConvolution
        let g = conv.kernel.weight.grad!   // [4·5, 16], used [2·5, 8]
        for i in 0..<20 { for j in 0..<16 where i >= 10 || j >= 8 { XCTAssertEqual(g[i, j], 0) } }
        XCTAssertNotEqual((0..<10).map { g[$0, 0] }, [Float](repeating: 0, count: 10))
        XCTAssertNil(supernet.inputProjections[3], "no width change before layer 3")
    }
}
