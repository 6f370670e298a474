import XCTest
import NASTensor
@testable import NASModels

/// The module tree: named children in parameter order, Linears found and swapped by a filter, freezing.
final class ModuleTreeTests: XCTestCase {
    /// One of each kind of layer: WMA, dynamic convolution with a stacked FFN and its own width, a
    /// bottleneck block, DFT; factorised embeddings.
    static let arch = Architecture(
        family: .encoder, vocabSize: 50, maxPositions: 16, typeVocabSize: 2, hidden: 16, embeddingSize: 8,
        layers: [.init(heads: 2, qkv: 16, ffn: 32, operation: .wma),
                 .init(heads: 2, qkv: 16, ffn: 32, operation: .dynamicConv(kernel: 3), ffnStack: [8], hidden: 12),
                 .init(heads: 2, qkv: 8, ffn: 32, bottleneck: 8),
                 .init(heads: 2, qkv: 16, ffn: 32, operation: .dft)])

    func batch() -> TokenBatch {
        TokenBatch(ids: [3, 9, 1, 4, 7, 2, 8, 5, 6, 11], batchSize: 2, length: 5)
    }

    func testTheWalkReachesEveryParameterOnceInParameterOrder() {
        let model = Transformer(Self.arch, seed: 1)
        let walked = model.modules().flatMap { $0.module.ownParameters }
        XCTAssertEqual(Set(walked.map { ObjectIdentifier($0) }).count, walked.count, "a parameter is reached twice")
        XCTAssertEqual(Set(walked.map { ObjectIdentifier($0) }), Set(model.parameters.map { ObjectIdentifier($0) }))
        XCTAssertEqual(model.leafModules().flatMap { $0.module.ownParameters }.count + 1, model.parameters.count,
                       "only WMA's bilinear weight sits outside a leaf")
        let paths = Set(model.modules().map(\.path))
        for path in ["", "wordEmbeddings", "tokenTypeEmbeddings", "embeddingsProjection", "blocks.0.mixer.attention.query",
                     "blocks.1.mixer.depthwise", "blocks.1.extraIntermediates.0", "inputProjections.1", "inputProjections.2",
                     "blocks.2.bottleneck.input", "blocks.2.bottleneck.norm", "blocks.3.mixer", "blocks.3.outputNorm"] {
            XCTAssertTrue(paths.contains(path), "no module at \(path)")
        }
    }

    func testLinearsAreCountedByHand() {
        let model = Transformer(Self.arch, seed: 1)
        // Embedding projection 1; input projections 16 → 12 and 12 → 16: 2; WMA q, k, v, o + FFN 2: 6;
        // conv q, v, pointwise, kernel, o + FFN 3: 8; bottleneck in, out + q, k, v, o + FFN 2: 8; DFT FFN 2.
        XCTAssertEqual(model.linears().count, 1 + 2 + 6 + 8 + 8 + 2)
        // Queries and keys: WMA's two, the convolution's query, the bottleneck block's two.
        XCTAssertEqual(model.updateLinears(where: { path, _ in path.hasSuffix(".query") || path.hasSuffix(".key") }) { _ in }, 5)
    }

    func testSwappingTheArithmeticByAFilterChangesOnlyThoseLayers() {
        let model = Transformer(Self.arch, seed: 1)
        let exact = model(batch()).hidden.scalars
        let mixers = model.updateLinears(where: { path, _ in path.contains(".mixer.") }) { $0.arithmetic = .fakeQuantized(.init(bits: 8, perChannel: true)) }
        XCTAssertEqual(mixers, 4 + 5 + 4)
        XCTAssertTrue(model.linears().allSatisfy { $0.path.contains(".mixer.") == ($0.linear.arithmetic.description != "fp32") })
        let eight = model(batch()).hidden.scalars
        XCTAssertNotEqual(eight, exact)
        let drift = zip(eight, exact).map { Swift.abs($0 - $1) }.max()!
        XCTAssertLessThan(drift, 0.05, "8-bit weights move the hidden states only a little")
        model.updateLinears { $0.arithmetic = .fakeQuantized(.init(bits: 2)) }
        let two = model(batch()).hidden.scalars
        XCTAssertGreaterThan(zip(two, exact).map { Swift.abs($0 - $1) }.max()!, drift, "2 bits are coarser than 8")
        model.updateLinears { $0.arithmetic = .exact }
        XCTAssertEqual(model(batch()).hidden.scalars, exact, "back to exact is bit-identical")
    }

    func testFrozenModulesGetNoGradientAndOptimizersLeaveThem() {
        let model = Transformer(Self.arch, seed: 1)
        model.freeze(where: { $0.hasPrefix("blocks.0") || $0 == "wordEmbeddings" })
        let frozen = Set((model.blocks[0].parameters + model.wordEmbeddings.parameters).map { ObjectIdentifier($0) })
        let before = model.parameters.map(\.value.scalars)
        let optimizer = AdamW(parameters: model.parameters, learningRate: 0.1)
        var rng = RandomGenerator(seed: 0)
        Autograd.withGrad { model(batch(), training: false, rng: &rng).hidden.square().sum() }.backward()
        optimizer.step()
        for (p, old) in zip(model.parameters, before) {
            if frozen.contains(ObjectIdentifier(p)) {
                XCTAssertNil(p.grad, p.name)
                XCTAssertEqual(p.value.scalars, old, p.name)
            }
        }
        XCTAssertTrue(model.blocks[1].parameters.contains { $0.grad != nil }, "the rest still trains")
        model.freeze(false)
        XCTAssertTrue(model.parameters.allSatisfy(\.requiresGrad))
    }
}
