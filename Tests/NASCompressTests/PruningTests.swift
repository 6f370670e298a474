import Foundation
import XCTest
@testable import NASCompress
import NASModels
import NASTensor
import NASText
import NASTrain

/// Pruning masks: the global magnitude budget by hand, the score gradient against finite differences, the short
/// restriction's swaps by hand, the selection helper against a sort, and structured masks: re-ordered then sliced
/// equals masked, and the written model reads back.
final class PruningTests: XCTestCase {
    static let arch = Architecture.uniform(.encoder, vocabSize: 40, maxPositions: 16, hidden: 16, depth: 2, heads: 4, ffn: 24)

    static func taskModel() -> TaskModel { MixedPrecisionTests.taskModel(arch) }

    func testLargestMatchesASort() {
        var rng = RandomGenerator(seed: 7)
        for n in [1, 2, 5, 50, 333] {
            let values = (0..<n).map { _ in Float(rng.next() % 17) / 4 }   // many ties
            let sorted = values.sorted(by: >)
            for r in Set([1, n, (n + 1) / 2, min(n, 3)]) { XCTAssertEqual(LotteryJackpot.largest(r, of: values), sorted[r - 1], "n \(n) r \(r)") }
        }
    }

    func testMagnitudeBudgetIsOneGlobalThreshold() {
        var rng = RandomGenerator(seed: 1)
        let a = Linear(2, 2, name: "a", rng: &rng), b = Linear(3, 2, name: "b", rng: &rng)
        a.weight.value = Tensor(shape: [2, 2], scalars: [0.1, -0.9, 0.3, 0.05])
        b.weight.value = Tensor(shape: [2, 3], scalars: [0.2, 0.8, -0.01, 0.4, 0.02, -0.7])
        var masks = [PruningMask(a), PruningMask(b)]
        // 10 weights at 60 %: the 6 smallest |w| (0.01, 0.02, 0.05, 0.1, 0.2, 0.3) go, wherever they are.
        LotteryJackpot.magnitudeInitialisation(&masks, sparsity: 0.6)
        XCTAssertEqual(masks[0].mask, [false, true, false, false])
        XCTAssertEqual(masks[1].mask, [false, true, false, true, false, true])
        XCTAssertEqual(masks[0].scores, [0.99, 1, 0.99, 0.99])
        // At 90 % only 0.9 survives, but every matrix keeps its largest weight.
        LotteryJackpot.magnitudeInitialisation(&masks, sparsity: 0.9)
        XCTAssertEqual(masks[0].mask, [false, true, false, false])
        XCTAssertEqual(masks[1].mask, [false, true, false, false, false, false])
        masks[1].apply()
        XCTAssertEqual(b.weight.value.scalars, [0, 0.8, 0, 0, 0, 0])
        masks[1].restore()
        XCTAssertEqual(b.weight.value.scalars, [0.2, 0.8, -0.01, 0.4, 0.02, -0.7])
    }

    /// ∂L/∂m_i of a continuous mask m at 1 (the straight-through score gradient) against central differences of the loss
    /// in the mask, for single weights and for a whole head and FFN neuron.
    func testItemGradientMatchesFiniteDifferences() {
        let task = Self.taskModel(), batch = MixedPrecisionTests.batch()
        // Weights of std 0.3 instead of 0.02, so that the loss responds to one weight in fp32.
        for (_, l) in task.model.linears() + task.head.linears() { l.weight.value = l.weight.value * 15 }
        let (heads, neurons) = StructuredPruning.masks(of: task.model)
        let weightMask = PruningMask(task.model.blocks[1].attention!.value)
        for mask in [weightMask, heads[0], neurons[1]] {
            let p = task.model.parameters + task.head.parameters
            p.forEach { $0.zeroGrad() }
            task.loss(batch).backward()
            let analytic = mask.itemGradient(mask.linear.weight.grad!.contiguous().scalars)
            for i in [0, mask.count / 2, mask.count - 1] {
                func loss(_ m: Float) -> Double {
                    var w = mask.original
                    for e in w.indices where mask.item(ofElement: e) == i { w[e] *= m }
                    mask.linear.weight.value = Tensor(shape: [mask.rows, mask.cols], scalars: w)
                    defer { mask.restore() }
                    return Double(Autograd.noGrad { task.loss(batch) }.item())
                }
                let eps: Float = 1e-2
                // fp32 losses of ~0.7 resolve ~1e-7: about 5e-6 in the difference quotient.
                let numeric = (loss(1 + eps) - loss(1 - eps)) / Double(2 * eps)
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 0.02 * abs(numeric) + 5e-6, "\(mask.linear.weight.name) item \(i)")
            }
        }
    }

    func testShortRestrictionSwapsOnlyLossLoweringPairsUnderTheCap() {
        var rng = RandomGenerator(seed: 1)
        let l = Linear(3, 2, name: "l", rng: &rng)
        var mask = PruningMask(l)
        mask.mask = [true, true, true, false, false, false]
        // Top 3 by score: items 3, 4, 0; τ = 0.5 (item 1). Revive 3 (0.9), 4 (0.8); drop 2 (0.1), 1 (0.5): pairs (3, 2), (4, 1).
        mask.scores = [0.7, 0.5, 0.1, 0.9, 0.8, 0.2]
        // Pair (3, 2): 0.1 − 0.3 < 0 swaps; pair (4, 1): 0.2 − (−0.1) > 0 would raise the loss, kept as is.
        var m = mask
        XCTAssertEqual(LotteryJackpot.restrictedReselection(&m, gradient: [0, -0.1, 0.3, 0.1, 0.2, 0], rate: 1), 1)
        XCTAssertEqual(m.mask, [true, true, false, true, false, false])
        // Both lower the loss: both swap at rate 1, only the first at a rate whose cap ⌈r·2⌉ is 1.
        m = mask
        XCTAssertEqual(LotteryJackpot.restrictedReselection(&m, gradient: [0, 0.5, 0.3, 0.1, 0.2, 0], rate: 1), 2)
        XCTAssertEqual(m.mask, [true, false, false, true, true, false])
        m = mask
        XCTAssertEqual(LotteryJackpot.restrictedReselection(&m, gradient: [0, 0.5, 0.3, 0.1, 0.2, 0], rate: 0.3), 1)
        XCTAssertEqual(m.mask, [true, true, false, true, false, false])
    }

    func testSearchKeepsEveryMasksBudget() {
        let task = Self.taskModel(), batch = MixedPrecisionTests.batch()
        var masks = PruningMask.unstructured(task.model)
        LotteryJackpot.magnitudeInitialisation(&masks, sparsity: 0.5)
        let kept = masks.map(\.kept)
        let steps = LotteryJackpot.search(&masks, options: .init(steps: 6, learningRate: 0.01)) { _ in task.loss(batch) }
        XCTAssertEqual(masks.map(\.kept), kept)
        XCTAssertEqual(steps.count, 6)
        XCTAssertGreaterThan(steps.reduce(0) { $0 + $1.swaps }, 0, "a learning rate of the score gap's size must change the mask")
        // Left applied: the layers hold W₀ ⊙ m.
        for mask in masks {
            let w = mask.linear.weight.value.scalars
            for e in w.indices { XCTAssertEqual(w[e], mask.mask[e] ? mask.original[e] : 0) }
        }
    }

    func testReorderedThenSlicedEqualsMaskedAndReadsBack() throws {
        let task = Self.taskModel(), batch = MixedPrecisionTests.batch()
        var (heads, neurons) = StructuredPruning.masks(of: task.model)
        heads[0].mask = [true, false, true, false]
        heads[1].mask = [false, false, false, true]
        neurons[0].mask = (0..<24).map { $0 % 3 != 1 }
        neurons[1].mask = (0..<24).map { $0 >= 20 }
        for m in heads + neurons { m.apply() }
        let masked = task.logits(batch).scalars
        let sliced = TaskModel(model: StructuredPruning.slice(task.model, heads: heads, neurons: neurons), head: task.head, task: .sst2)
        XCTAssertEqual(sliced.model.maxArchitecture.layers.map(\.heads), [2, 1])
        XCTAssertEqual(sliced.model.maxArchitecture.layers.map(\.qkv), [8, 4])
        XCTAssertEqual(sliced.model.maxArchitecture.layers.map(\.ffn), [16, 4])
        let out = sliced.logits(batch).scalars
        for (a, b) in zip(out, masked) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertLessThan(sliced.model.parameterElementCount, task.model.parameterElementCount)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pruning-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocab = dir.appendingPathExtension("vocab.txt")
        try (0..<40).map { "t\($0)" }.joined(separator: "\n").write(to: vocab, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: vocab) }
        try sliced.save(to: dir, vocabulary: vocab)
        let loaded = try TaskModel.load(dir)
        XCTAssertEqual(loaded.model.maxArchitecture, sliced.model.maxArchitecture)
        XCTAssertEqual(loaded.logits(batch).scalars, out)
        XCTAssertThrowsError(try sliced.save(to: dir, vocabulary: vocab), "an existing folder is never overwritten")
    }
}
