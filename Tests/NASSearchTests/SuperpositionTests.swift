import XCTest
@testable import NASModels
@testable import NASSearch
@testable import NASTensor
import NASText
import NASTrain

final class SuperpositionTests: XCTestCase {
    /// Hidden and FFN ratio choices per layer (FFN e → r·e couples two dimensions), heads per layer.
    static let ratioSpace = SearchSpace(name: "tiny-tangle", family: .decoder, vocabSize: 13, maxPositions: 8,
                                        depth: [1, 2], hidden: [8, 16], layers: .perLayer, heads: [1, 2], ffnRatio: [1, 2])
    /// qkv as a gene of its own, absolute FFN widths, shared layers.
    static let qkvSpace = SearchSpace(name: "tiny-qkv", family: .decoder, vocabSize: 13, maxPositions: 8,
                                      depth: [1, 2], hidden: [8, 12], layers: .shared, heads: [1, 2], qkv: [4, 8],
                                      ffn: [6, 10])

    static func batch(_ b: Int, _ t: Int, vocab: Int, seed: UInt64) -> TokenBatch {
        var rng = RandomGenerator(seed: seed)
        return TokenBatch(ids: (0..<(b * t)).map { _ in Int32(rng.next() % UInt64(vocab)) }, batchSize: b, length: t)
    }

    static func make(_ space: SearchSpace, seed: UInt64 = 3) throws -> Superposition {
        var rng = RandomGenerator(seed: seed)
        let model = Transformer(space.largest, rng: &rng)
        return try Superposition(model: model, parameters: ArchitectureParameters(space: space, rng: &rng))
    }

    /// Every choice of every dimension, as index assignments.
    static func allPicks(_ p: ArchitectureParameters) -> [[ArchitectureParameters.Dimension: Int]] {
        p.dimensions.reduce([[:]]) { picks, d in picks.flatMap { pick in (0..<p.count(d)).map { pick.merging([d: $0]) { a, _ in a } } } }
    }

    /// One-hot weights run exactly the plain sub-network: same logits, bit for bit, for every member.
    func testOneHotWeightsEqualThePlainSubNetworkBitForBit() throws {
        for space in [Self.ratioSpace, Self.qkvSpace] {
            let sup = try Self.make(space)
            let batch = Self.batch(2, 6, vocab: space.vocabSize, seed: 1)
            let picks = Self.allPicks(sup.parameters)
            XCTAssertEqual(picks.count, space.layers == .shared ? 2 * 2 * 2 * 2 * 2 : 2 * 2 * 4 * 4)
            for pick in picks {
                let arch = sup.parameters.architecture { pick[$0]! }
                var rng = RandomGenerator(seed: 0)
                let mixed = Autograd.noGrad {
                    let h = sup(batch, weights: .oneHot(sup.parameters) { pick[$0]! }, rng: &rng)
                    return CausalLMHead.logits(h.reshaped([-1, h.shape[2]]), embeddings: sup.model.wordEmbeddings)
                }
                let plain = Autograd.noGrad {
                    let h = sup.model(batch, architecture: arch).hidden
                    return CausalLMHead.logits(h.reshaped([-1, h.shape[2]]), embeddings: sup.model.wordEmbeddings)
                }
                let diff = zip(mixed.scalars, plain.scalars).map { abs($0 - $1) }.max()!
                XCTAssertEqual(mixed.scalars, plain.scalars, "\(space.name): \(arch.hidden) hidden, \(arch.layers) diff \(diff)")
                // The same one-hot weights as graph leaves take the full path (every block, pass and depth
                // computed, for the gradient): the same values up to the GEMMs' summation order.
                let leaves = MixingWeights(MixingWeights.oneHot(sup.parameters) { pick[$0]! }.weights.mapValues { Parameter($0).tensor })
                let full = sup(batch, weights: leaves, rng: &rng)
                let fullLogits = CausalLMHead.logits(full.reshaped([-1, full.shape[2]]), embeddings: sup.model.wordEmbeddings)
                XCTAssertTrue(fullLogits.requiresGrad)
                for (a, b) in zip(fullLogits.scalars, plain.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            }
        }
    }

    /// A mixed Linear equals Σⱼ ωⱼ·pad(W[:oⱼ, :iⱼ]) applied naively (loops, Double), with soft ω; and the
    /// one-dimension mask is the cumulative sum m[r] = Σ_{i: dᵢ > r} wᵢ.
    func testMixedLinearEqualsTheNaiveSumOfPaddedSlices() {
        var rng = RandomGenerator(seed: 4)
        let layer = Linear(6, 9, name: "l", rng: &rng)
        layer.bias!.value = Tensor.randomNormal([9], using: &rng)
        let x = Tensor.randomNormal([5, 6], using: &rng)
        let outs = [3, 9, 6, 9], ins = [2, 2, 6, 4]
        let omega = Tensor(shape: [4], scalars: [0.1, 0.4, 0.3, 0.2])
        let y = Superposition.linear(layer, x, omega: omega, outs: outs, ins: ins).scalars
        let w = layer.weight.value.scalars, b = layer.bias!.value.scalars, xs = x.scalars
        for n in 0..<5 {
            for r in 0..<9 {
                var expected = 0.0
                for j in outs.indices where r < outs[j] {
                    var dot = Double(b[r])
                    for c in 0..<ins[j] { dot += Double(xs[n * 6 + c]) * Double(w[r * 6 + c]) }
                    expected += Double(omega.scalars[j]) * dot
                }
                XCTAssertEqual(Double(y[n * 9 + r]), expected, accuracy: 1e-5, "row \(n), output \(r)")
            }
        }
        let m = Superposition.mask(Tensor(shape: [3], scalars: [0.5, 0.2, 0.3]), widths: [2, 4, 5], size: 5).scalars
        for (got, expected) in zip(m, [1, 1, 0.5, 0.5, 0.3] as [Float]) { XCTAssertEqual(got, expected, accuracy: 1e-6) }
    }

    /// ∂L/∂α of every dimension (depth, hidden, per-layer heads and FFN; qkv in the second space) under
    /// DARTS's softmax, against central finite differences of the superposed loss.
    func testAlphaGradientsMatchFiniteDifferences() throws {
        for space in [Self.ratioSpace, Self.qkvSpace] {
            let sup = try Self.make(space, seed: 8)
            var rng = RandomGenerator(seed: 2)
            for a in sup.parameters.parameters { a.value = Tensor.randomNormal(a.shape, std: 0.7, using: &rng) }
            // Weights large enough that head counts change the attention (at BERT's 0.02 it is nearly uniform).
            for w in sup.model.parameters where w.shape.count == 2 { w.value = Tensor.randomNormal(w.shape, std: 0.5, using: &rng) }
            let batch = Self.batch(2, 5, vocab: space.vocabSize, seed: 6)
            func loss() -> Tensor {
                var r = RandomGenerator(seed: 0)
                let w = MixingWeights(Dictionary(uniqueKeysWithValues: sup.parameters.alphas.map { ($0.key, $0.value.tensor.softmax()) }))
                return sup.loss(batch, weights: w, rng: &r)
            }
            sup.model.freeze()
            loss().backward()
            for (d, a) in sup.parameters.alphas {
                let analytic = a.grad!.scalars
                for i in 0..<a.shape[0] {
                    let h: Float = 1e-2, saved = a.value.scalars
                    func at(_ delta: Float) -> Double {
                        var s = saved; s[i] += delta
                        a.value = Tensor(shape: a.shape, scalars: s)
                        return Double(Autograd.noGrad { loss().item() })
                    }
                    let fd = (at(h) - at(-h)) / Double(2 * h)
                    a.value = Tensor(shape: a.shape, scalars: saved)
                    XCTAssertEqual(Double(analytic[i]), fd, accuracy: 2e-3 + 2e-2 * abs(fd), "\(space.name) \(d)[\(i)]")
                }
                XCTAssertGreaterThan(analytic.map(abs).max()!, 1e-5, "\(space.name) \(d): α gets a gradient")
            }
        }
    }

    /// Every member maps back to the choices that build it; members the dimensions cannot express do not.
    func testChoicesOfAnArchitectureInvertArchitecture() throws {
        for space in [Self.ratioSpace, Self.qkvSpace] {
            let p = try Self.make(space).parameters
            for pick in Self.allPicks(p) {
                let arch = p.architecture { pick[$0]! }
                let back = try XCTUnwrap(p.choices(of: arch))
                XCTAssertEqual(p.architecture(back), arch)
            }
            var odd = p.architecture { _ in 0 }
            odd.hidden = 10
            XCTAssertNil(p.choices(of: odd))
        }
    }

    /// The argmax selection decodes the largest α of each dimension; spaces without superposable genes are refused.
    func testArgmaxAndRefusals() throws {
        let sup = try Self.make(Self.ratioSpace)
        for (d, a) in sup.parameters.alphas { a.value = Tensor(shape: [2], scalars: d == .depth || d == .ffn(slot: 1) ? [0, 1] : [1, 0]) }
        let arch = sup.parameters.argmax()
        XCTAssertEqual(arch.depth, 2)
        XCTAssertEqual(arch.hidden, 8)
        XCTAssertEqual(arch.layers.map(\.ffn), [8, 16])
        XCTAssertEqual(arch.layers.map(\.heads), [1, 1])
        var rng = RandomGenerator(seed: 0)
        XCTAssertThrowsError(try ArchitectureParameters(space: .wPCA, rng: &rng))
        let bad = SearchSpace(name: "bad", family: .decoder, vocabSize: 13, maxPositions: 8, depth: [1], hidden: [8, 12],
                              layers: .shared, heads: [1, 8], ffnRatio: [1])
        XCTAssertThrowsError(try ArchitectureParameters(space: bad, rng: &rng)) { XCTAssertTrue("\($0)".contains("do not divide")) }
    }
}

final class GradientSearchTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradient-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// E_w[#params]: with one-hot weights the pick's own count; with soft weights the explicit sum over
    /// every member of Π w · its parameter count (computed member by member).
    func testExpectedParametersIsTheExpectationOverMembers() throws {
        for space in [SuperpositionTests.ratioSpace, SuperpositionTests.qkvSpace] {
            let sup = try SuperpositionTests.make(space)
            let p = sup.parameters
            let picks = SuperpositionTests.allPicks(p)
            for pick in picks.prefix(20) {
                let expected = Double(p.expectedParameters(.oneHot(p) { pick[$0]! }).item())
                XCTAssertEqual(expected, Double(p.architecture { pick[$0]! }.parameterCount), accuracy: 0.5)
            }
            var rng = RandomGenerator(seed: 9)
            let w = MixingWeights(Dictionary(uniqueKeysWithValues: p.dimensions.map { d in
                (d, Tensor.randomNormal([p.count(d)], using: &rng).softmax())
            }))
            var reference = 0.0
            for pick in picks {
                let probability = p.dimensions.reduce(1.0) { $0 * Double(w[$1].scalars[pick[$1]!]) }
                reference += probability * Double(p.architecture { pick[$0]! }.parameterCount)
            }
            XCTAssertEqual(Double(p.expectedParameters(w).item()), reference, accuracy: reference * 1e-5, space.name)
        }
    }

    func makeSearch(run: URL, steps: Int) throws -> (Trainer, GradientSearch) {
        let sup = try SuperpositionTests.make(SuperpositionTests.ratioSpace, seed: 4)
        let search = try GradientSearch(superposition: sup, sampler: DARTSSampler(),
                                        alphaTokens: (0..<200).map { Int32($0 % 13) }, batchSize: 2, sequenceLength: 6,
                                        totalSteps: steps, seed: 3)
        search.budget = (parameters: 2_000, lambda: 0.5)
        let options = TrainingOptions(steps: steps, learningRate: 3e-3, warmupSteps: 1, seed: 5, checkpointEvery: 100, logEvery: 1)
        return (Trainer(run: run, options: options, model: sup.model), search)
    }

    func run(_ trainer: Trainer, _ search: GradientSearch) throws {
        let corpus = try TextCorpus(tokens: SupernetTests.tokens(300, vocab: 13, seed: 8), path: "tokens")
        try trainer.train { rng in
            let batch = try corpus.decoderBatch(batchSize: 2, length: 6, seed: rng.next())
            return search.step(trainer.step, input: batch, tokens: 12, rng: &rng)
        }
    }

    /// A step moves α (on the α split) and the weights (on the training batch): after it, α carries no
    /// gradient of the weight loss and the weights none of the α loss (checked through their updates: a run
    /// whose α optimizer has learning rate 0 leaves α untouched but trains the same weights' first step).
    func testAStepTrainsAlphaOnItsSplitAndTheWeightsOnTheirs() throws {
        let (trainer, search) = try makeSearch(run: folder.appendingPathComponent("a"), steps: 3)
        try trainer.prepare(resume: false)
        try search.attach(to: trainer)
        let alpha0 = search.parameters.parameters.map(\.value.scalars)
        let weights0 = trainer.model.parameters.map(\.value.scalars)
        try run(trainer, search)
        XCTAssertNotEqual(search.parameters.parameters.map(\.value.scalars), alpha0)
        XCTAssertNotEqual(trainer.model.parameters.map(\.value.scalars), weights0)
        XCTAssertTrue(search.parameters.parameters.allSatisfy { $0.grad == nil })

        let (frozen, frozenSearch) = try makeSearch(run: folder.appendingPathComponent("b"), steps: 1)
        frozenSearch.alphaOptimizer.learningRate = 0
        frozenSearch.alphaOptimizer.weightDecay = 0
        try frozen.prepare(resume: false)
        try frozenSearch.attach(to: frozen)
        try run(frozen, frozenSearch)
        XCTAssertEqual(frozenSearch.parameters.parameters.map(\.value.scalars), alpha0)
    }

    /// Stopped after 2 steps and resumed to 5: α, its optimizer, the weights and the log equal an
    /// uninterrupted search's bit for bit; the checkpoint reads back as a supernet of the space.
    func testResumeIsBitIdentical() throws {
        let (whole, wholeSearch) = try makeSearch(run: folder.appendingPathComponent("whole"), steps: 5)
        try whole.prepare(resume: false)
        try wholeSearch.attach(to: whole)
        try run(whole, wholeSearch)

        let partRun = folder.appendingPathComponent("part")
        let (first, firstSearch) = try makeSearch(run: partRun, steps: 5)
        try first.prepare(resume: false)
        try firstSearch.attach(to: first)
        first.shouldStop = { [unowned first] in first.step >= 2 }
        try run(first, firstSearch)
        let (second, secondSearch) = try makeSearch(run: partRun, steps: 5)
        try second.prepare(resume: true)
        try secondSearch.attach(to: second)
        XCTAssertEqual(second.step, 2)
        try run(second, secondSearch)
        XCTAssertEqual(whole.model.parameters.map(\.value.scalars), second.model.parameters.map(\.value.scalars))
        XCTAssertEqual(wholeSearch.state, secondSearch.state)
        let stored = try Supernet.stored(in: partRun.appendingPathComponent("checkpoint-5"))
        XCTAssertNil(stored.rule)
        XCTAssertEqual(stored.space, SuperpositionTests.ratioSpace)
        XCTAssertNotNil(try Supernet.load(from: partRun.appendingPathComponent("checkpoint-5")))
    }
}

final class PerturbationSelectionTests: XCTestCase {
    /// On a constructed loss the rule keeps the choice whose removal hurts most, not α's argmax: the loss
    /// needs choice 1 of the hidden width (α favours 0) and choice 0 of layer 0's FFN; each dimension is
    /// decided once, and the fine-tuning sees the decisions grow.
    func testKeepsTheChoiceWhoseRemovalHurtsMost() throws {
        let sup = try SuperpositionTests.make(SuperpositionTests.ratioSpace)
        let p = sup.parameters
        p.alphas[.hidden]!.value = Tensor(shape: [2], scalars: [2, 0])
        p.alphas[.ffn(slot: 0)]!.value = Tensor(shape: [2], scalars: [0, 1])
        let selection = PerturbationSelection(parameters: p)
        var tuned: [[ArchitectureParameters.Dimension: Int]] = []
        var rng = RandomGenerator(seed: 1)
        let decisions = selection.select(loss: { w in
            5 * Double(1 - w[.hidden].scalars[1]) + 3 * Double(1 - w[.ffn(slot: 0)].scalars[0])
        }, fineTune: { tuned.append($0) }, using: &rng)
        XCTAssertEqual(Set(decisions.map(\.dimension)), Set(p.alphas.keys))
        XCTAssertEqual(decisions.count, p.alphas.count)
        XCTAssertEqual(decisions.first { $0.dimension == .hidden }?.choice, 1)
        XCTAssertEqual(decisions.first { $0.dimension == .ffn(slot: 0) }?.choice, 0)
        XCTAssertEqual(tuned.map(\.count), Array(1...p.alphas.count))
        let hidden = decisions.first { $0.dimension == .hidden }!
        XCTAssertGreaterThan(hidden.losses[1], hidden.losses[0])
    }

    /// With decided dimensions the search's weights are one-hot there, sampled elsewhere.
    func testFixedDimensionsAreOneHot() throws {
        let sup = try SuperpositionTests.make(SuperpositionTests.ratioSpace)
        let search = try GradientSearch(superposition: sup, sampler: DARTSSampler(), alphaTokens: (0..<50).map { Int32($0 % 13) },
                                        batchSize: 1, sequenceLength: 4, totalSteps: 1, seed: 0)
        search.fixed = [.hidden: 1]
        var rng = RandomGenerator(seed: 0)
        let w = search.weights(step: 0, using: &rng)
        XCTAssertEqual(w[.hidden].scalars, [0, 1])
        XCTAssertEqual(w[.depth].scalars.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertTrue(w[.depth].scalars.allSatisfy { $0 > 0 && $0 < 1 })
    }
}

final class ENASTrainingTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("enas-training-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func make(run: URL, steps: Int, buffer: Int) throws -> (Trainer, ENASTraining) {
        let sup = try SuperpositionTests.make(SuperpositionTests.ratioSpace, seed: 4)
        let search = try GradientSearch(superposition: sup, sampler: SPOSSampler(), alphaTokens: (0..<200).map { Int32($0 % 13) },
                                        batchSize: 2, sequenceLength: 6, totalSteps: steps, seed: 3)
        let controller = ENASController(space: SuperpositionTests.ratioSpace, seed: 7, hidden: 8, learningRate: 0.01, bufferSize: buffer)
        let enas = ENASTraining(search: search, controller: controller, controllerEvery: 2, controllerSteps: 3, maxParams: 6_000)
        let options = TrainingOptions(steps: steps, learningRate: 3e-3, warmupSteps: 1, seed: 5, checkpointEvery: 100, logEvery: 1)
        return (Trainer(run: run, options: options, model: sup.model), enas)
    }

    func run(_ trainer: Trainer, _ enas: ENASTraining) throws {
        let corpus = try TextCorpus(tokens: SupernetTests.tokens(300, vocab: 13, seed: 8), path: "tokens")
        try trainer.train { rng in
            let batch = try corpus.decoderBatch(batchSize: 2, length: 6, seed: rng.next())
            return try enas.step(trainer.step, input: batch, tokens: 12, rng: &rng)
        }
    }

    /// Children stay inside the budget; controller phases tell it; stopped after 3 steps and resumed to 6,
    /// the weights, the controller and its history equal an uninterrupted run's (with and without buffer).
    func testChildrenInBudgetAndResumeIsBitIdentical() throws {
        for buffer in [0, 4] {
            let (whole, wholeENAS) = try make(run: folder.appendingPathComponent("whole\(buffer)"), steps: 6, buffer: buffer)
            try whole.prepare(resume: false)
            try wholeENAS.search.attach(to: whole)
            try run(whole, wholeENAS)
            XCTAssertEqual(wholeENAS.events.filter { $0.fitness != nil }.count, 2 * 3, "phases at steps 2 and 4")
            XCTAssertTrue(wholeENAS.events.allSatisfy { Double(SuperpositionTests.ratioSpace.decode($0.genome).parameterCount) <= 6_000 })

            let partRun = folder.appendingPathComponent("part\(buffer)")
            let (first, firstENAS) = try make(run: partRun, steps: 6, buffer: buffer)
            try first.prepare(resume: false)
            try firstENAS.search.attach(to: first)
            first.shouldStop = { [unowned first] in first.step >= 3 }
            try run(first, firstENAS)
            let (second, secondENAS) = try make(run: partRun, steps: 6, buffer: buffer)
            try second.prepare(resume: true)
            try secondENAS.search.attach(to: second)
            XCTAssertEqual(second.step, 3)
            try run(second, secondENAS)
            XCTAssertEqual(whole.model.parameters.map(\.value.scalars), second.model.parameters.map(\.value.scalars))
            XCTAssertEqual(wholeENAS.events, secondENAS.events)
            XCTAssertEqual(wholeENAS.controller.baseline, secondENAS.controller.baseline)
            let genome = wholeENAS.events.last!.genome
            XCTAssertEqual(wholeENAS.controller.logProbability(of: genome), secondENAS.controller.logProbability(of: genome))
        }
    }
}
