import XCTest
import NASTensor
@testable import NASModels

/// bf16 mixed-precision training against fp32: one masked-LM step of a BERT-style model.
final class MixedPrecisionTests: XCTestCase {
    func testBF16StepMatchesTheFP32Step() throws {
        try XCTSkipUnless(LowPrecision.isAvailable(.bf16), LowPrecision.fallbackNote(.bf16))
        let arch = Architecture.uniform(.encoder, vocabSize: 300, maxPositions: 64, hidden: 128, depth: 2, heads: 2, ffn: 512)
        var rng = RandomGenerator(seed: 11)
        let ids = (0..<(8 * 32)).map { _ in Int32(rng.next() % 300) }
        let batch = TokenBatch(ids: ids, batchSize: 8, length: 32)
        let masked = (0..<40).map { Int32($0 * 6 + 1) }, labels = masked.map { ids[Int($0)] }
        func step(_ bf16: Bool) -> (loss: Float, grads: [String: [Float]]) {
            var r = RandomGenerator(seed: 3)
            let model = Transformer(arch, rng: &r), head = MaskedLMHead(arch, rng: &r)
            if bf16 { for m in [model, head] as [any Module] { m.use(.bf16) } }
            var dropout = RandomGenerator(seed: 0)
            let loss = Autograd.withGrad {
                let h = model(batch, training: false, rng: &dropout).hidden.reshaped([-1, 128]).gather(rows: masked)
                return head(h, embeddings: model.wordEmbeddings).crossEntropy(targets: labels)
            }
            loss.backward()
            return (loss.item(), Dictionary(uniqueKeysWithValues: (model.parameters + head.parameters).map { ($0.name, $0.grad?.scalars ?? []) }))
        }
        let (l32, g32) = step(false), (l16, g16) = step(true)
        XCTAssertLessThanOrEqual(Swift.abs(l16 - l32) / l32, 1e-2, "loss \(l16) against \(l32)")
        XCTAssertNotEqual(l16, l32, "the bf16 step really rounded")
        // The key bias's gradient is zero in exact arithmetic (softmax ignores a shift shared by all keys):
        // both runs hold only rounding noise there, so its direction means nothing.
        for (name, a) in g32 where !a.isEmpty && !name.hasSuffix("key.bias") {
            let b = g16[name]!
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            guard na > 0 else { continue }
            XCTAssertGreaterThanOrEqual(dot / (na * nb), 0.999, "gradient of \(name)")
        }
    }

    /// Attention's q·kᵀ and A·v follow the model's precision: bf16 under `use(.bf16)` and in a quantized
    /// model, fp32 again under `use(.fp32)`; in bf16 the encoder's output stays within bf16 rounding of fp32.
    func testAttentionProductsFollowThePrecision() throws {
        try XCTSkipUnless(LowPrecision.isAvailable(.bf16), LowPrecision.fallbackNote(.bf16))
        let arch = Architecture.uniform(.encoder, vocabSize: 300, maxPositions: 64, hidden: 64, depth: 2, heads: 2, ffn: 128)
        let model = Transformer(arch, seed: 4)
        let attentions = model.modules().compactMap { $0.module as? MultiHeadAttention }
        XCTAssertEqual(attentions.count, 2)
        var rng = RandomGenerator(seed: 5)
        let batch = TokenBatch(ids: (0..<(4 * 16)).map { _ in Int32(rng.next() % 300) }, batchSize: 4, length: 16)
        let exact = model(batch).hidden
        model.use(.bf16)
        XCTAssertEqual(attentions.map(\.products), [.bf16, .bf16])
        // Only the attention products in bf16: the Linears back to fp32.
        _ = model.updateLinears { $0.arithmetic = .exact }
        let mixed = model(batch).hidden
        let err = zip(mixed.scalars, exact.scalars).map { Double(Swift.abs($0 - $1)) }.max()!
        XCTAssertGreaterThan(err, 0, "the products were rounded")
        XCTAssertLessThanOrEqual(err, 0.05, "bf16 attention products against fp32")
        model.use(.fp32)
        XCTAssertEqual(attentions.map(\.products), [.fp32, .fp32])
        XCTAssertEqual(model(batch).hidden.scalars, exact.scalars)
        model.quantize(.int8)
        XCTAssertEqual(attentions.map(\.products), [.bf16, .bf16])
    }

    /// `use(.bf16)` also moves the tied output projection (logits = h·Eᵀ + bias, the largest GEMM of a
    /// masked-LM step) to bf16: its output and both gradients are the fp64 products of the bf16-rounded
    /// operands, the table's gradient lands in its leading columns only, and `use(.fp32)` brings it back.
    func testTiedOutputProjectionRunsInBF16() throws {
        try XCTSkipUnless(LowPrecision.isAvailable(.bf16), LowPrecision.fallbackNote(.bf16))
        var rng = RandomGenerator(seed: 5)
        let table = Embedding(50, 24, name: "emb", rng: &rng)
        table.use(.bf16)
        XCTAssertEqual(table.outputPrecision, .bf16)
        let hp = Parameter(Tensor.randomNormal([7, 16], using: &rng), name: "h")
        let bias = Tensor.randomNormal([50], using: &rng), g = Tensor.randomNormal([7, 50], using: &rng)
        let y = Autograd.withGrad { table.logits(hp.tensor, bias: bias) }
        (y * g).sum().backward()
        func r(_ v: Float) -> Double { Double(BF16.rounded(v)) }
        let e = table.weight.value
        var worst = (y: 0.0, dh: 0.0, de: 0.0)
        for i in 0..<7 { for v in 0..<50 {
            let ref = (0..<16).reduce(0.0) { $0 + r(hp.value[i, $1]) * r(e[v, $1]) } + Double(bias[v])
            worst.y = Swift.max(worst.y, Swift.abs(Double(y[i, v]) - ref))
        } }
        for i in 0..<7 { for c in 0..<16 {
            let ref = (0..<50).reduce(0.0) { $0 + r(g[i, $1]) * r(e[$1, c]) }
            worst.dh = Swift.max(worst.dh, Swift.abs(Double(hp.grad![i, c]) - ref))
        } }
        for v in 0..<50 { for c in 0..<24 {
            let ref = c < 16 ? (0..<7).reduce(0.0) { $0 + r(g[$1, v]) * r(hp.value[$1, c]) } : 0
            worst.de = Swift.max(worst.de, Swift.abs(Double(table.weight.grad![v, c]) - ref))
        } }
        XCTAssertLessThan(worst.y, 1e-5, "logits")
        XCTAssertLessThan(worst.dh, 1e-5, "gradient of h")
        XCTAssertLessThan(worst.de, 1e-5, "gradient of the table (zero beyond the 16 columns in use)")
        table.use(.fp32)
        let y32 = Autograd.noGrad { table.logits(hp.value, bias: bias) }
        let exact = (0..<16).reduce(0.0) { $0 + Double(hp.value[0, $1]) * Double(e[3, $1]) } + Double(bias[3])
        XCTAssertEqual(Double(y32[0, 3]), exact, accuracy: 1e-5, "fp32 again after use(.fp32)")
        XCTAssertGreaterThan(Swift.abs(Double(y[0, 3]) - exact), 1e-6, "the bf16 logits really were rounded")
    }
}
