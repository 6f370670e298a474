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
            if bf16 { for m in [model, head] as [any Module] { m.updateLinears { $0.arithmetic = .bf16 } } }
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
}
