import Foundation
import XCTest
import NASModels
@testable import NASSearch
import NASTensor
import NASText
import NASTrain

/// Block-wise distillation search (DNA): the split of a member's layers into blocks, each block's prediction
/// against a computation by hand, the normalised block loss in closed form, the blocks' independence (a block's
/// loss reaches only its own weights, and a step's gradient is the sum of the blocks'), training that lowers the
/// block losses, and the exact dynamic-programming combination against brute force.
final class BlockwiseTests: XCTestCase {
    static let space = SupernetTests.encoderSpace   // depth 1–2, hidden 8/12, heads 1/2, FFN 6/10, vocabulary 13

    /// A teacher of 2 layers, width 16, the space's vocabulary.
    static func teacher(seed: UInt64 = 21) -> Transformer {
        var rng = RandomGenerator(seed: seed)
        let arch = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 16,
                                layers: Array(repeating: .init(heads: 2, qkv: 16, ffn: 24), count: 2))
        let t = Transformer(arch, rng: &rng)
        t.hiddenDropout = 0; t.attentionDropout = 0
        return t
    }

    func testSplitPutsTheExtraLayersInTheFirstBlocks() {
        XCTAssertEqual(BlockwiseSupernet.split(depth: 5, blocks: 2), [3, 2])
        XCTAssertEqual(BlockwiseSupernet.split(depth: 7, blocks: 3), [3, 2, 2])
        XCTAssertEqual(BlockwiseSupernet.split(depth: 1, blocks: 2), [1, 0])
        XCTAssertEqual(BlockwiseSupernet.split(depth: 4, blocks: 4), [1, 1, 1, 1])
    }

    func testLossIsTheMeanSquareErrorOverTheTargetsMeanSquare() {
        let y = Tensor(shape: [1, 2, 2], scalars: [1, -2, 3, 0])
        XCTAssertEqual(BlockwiseSupernet.loss(y, target: y).item(), 0)
        XCTAssertEqual(BlockwiseSupernet.loss(Tensor(shape: [1, 2, 2], scalars: [0, 0, 0, 0]), target: y).item(), 1, accuracy: 1e-6)
        // (1 + 0 + 1 + 4) / 4 over (1 + 4 + 9 + 0) / 4.
        let p = Tensor(shape: [1, 2, 2], scalars: [0, -2, 2, 2])
        XCTAssertEqual(BlockwiseSupernet.loss(p, target: y).item(), 6 / 14, accuracy: 1e-6)
    }

    /// Block 0 is the member's first layers on the tokens, then A_out; block 1 is A_in, its layers, A_out — each
    /// equal to the same arithmetic on an extracted model and the adapters' leading slices; a block without layers
    /// is A_out(A_in(x)).
    func testPredictionsEqualTheExtractedLayersBetweenTheAdapters() throws {
        var rng = RandomGenerator(seed: 5)
        let net = try BlockwiseSupernet(space: Self.space, blocks: 2, width: 16, rng: &rng)
        net.model.hiddenDropout = 0; net.model.attentionDropout = 0
        let (input, _) = SupernetTests.encoderBatch()
        let states = try BlockwiseSupernet.teacherStates(Self.teacher(), input: input, blocks: 2)
        XCTAssertEqual(states.count, 3)
        XCTAssertEqual(states[1].shape, [2, 8, 16])
        func linear(_ x: Tensor, _ l: Linear, in i: Int, out o: Int) -> Tensor {
            let w = l.weight.value.contiguous().scalars, bias = l.bias!.value.contiguous().scalars, cols = l.weight.shape[1]
            let rows = x.count / i, xs = x.contiguous().scalars
            var y = [Float](repeating: 0, count: rows * o)
            for r in 0..<rows { for k in 0..<o {
                var s = bias[k]
                for j in 0..<i { s += xs[r * i + j] * w[k * cols + j] }
                y[r * o + k] = s
            } }
            return Tensor(shape: Array(x.shape.dropLast()) + [o], scalars: y)
        }
        func assertClose(_ a: Tensor, _ b: Tensor, _ message: String) {
            XCTAssertEqual(a.shape, b.shape, message)
            for (u, v) in zip(a.contiguous().scalars, b.contiguous().scalars) { XCTAssertEqual(u, v, accuracy: 1e-4 * max(1, abs(v)), message) }
        }
        for genome in [[0, 0, 0, 0], [1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 0]] {
            let arch = Self.space.decode(Self.space.repaired(genome))
            let h = arch.hidden
            var head = arch
            head.layers = Array(net.layers(of: arch, block: 0))
            let extracted = net.model.extract(head)
            let y0 = linear(extracted(input).hidden, net.outputs[0], in: h, out: 16)
            assertClose(net.prediction(block: 0, of: arch, input: input, states: nil, training: false, rng: &rng), y0, "block 0 of \(genome)")
            var z = linear(states[1], net.inputs[0], in: 16, out: h)
            let part = Array(net.layers(of: arch, block: 1))
            XCTAssertEqual(part.count, arch.depth - 1)
            for (j, layer) in part.enumerated() {
                z = net.model.blocks[net.offsets[1] + j](z, layer: layer, mask: nil, hiddenDropout: 0, attentionDropout: 0, rng: &rng).output
            }
            assertClose(net.prediction(block: 1, of: arch, input: input, states: states[1], training: false, rng: &rng),
                        linear(z, net.outputs[1], in: h, out: 16), "block 1 of \(genome)")
        }
    }

    /// A step's gradient is the sum of each block's own: block b's loss reaches block b's weights only.
    func testBlocksTrainIndependently() throws {
        var rng = RandomGenerator(seed: 6)
        let net = try BlockwiseSupernet(space: Self.space, blocks: 2, width: 16, rng: &rng)
        net.model.hiddenDropout = 0; net.model.attentionDropout = 0
        let teacher = Self.teacher()
        let training = try BlockwiseTraining(supernet: net, teacher: teacher, seed: 3)
        let (input, _) = SupernetTests.encoderBatch()
        let all = net.model.parameters + net.modules.flatMap(\.parameters)
        // A step whose two members both have a layer in block 1.
        let step = try XCTUnwrap((0..<50).first { s in training.members(step: s).allSatisfy { $0.depth == 2 } })
        let result = try training.step(step, input: input, tokens: 16, rng: &rng)
        XCTAssertEqual(result.metrics.keys.sorted(), ["block_0", "block_1"])
        let stepGradients = all.map { $0.grad?.contiguous().scalars }
        for p in all { p.zeroGrad() }

        let states = try BlockwiseSupernet.teacherStates(teacher, input: input, blocks: 2)
        var blockGradients: [[[Float]?]] = []
        for (b, arch) in training.members(step: step).enumerated() {
            BlockwiseSupernet.loss(net.prediction(block: b, of: arch, input: input, states: states[b], training: true, rng: &rng),
                                   target: states[b + 1]).backward()
            blockGradients.append(all.map { $0.grad?.contiguous().scalars })
            for p in all { p.zeroGrad() }
        }
        let blockOne = Set(net.model.blocks[1].parameters.map(ObjectIdentifier.init) + net.inputs[0].parameters.map(ObjectIdentifier.init)
                           + net.outputs[1].parameters.map(ObjectIdentifier.init))
        var reached = 0
        for (i, p) in all.enumerated() {
            if blockOne.contains(ObjectIdentifier(p)) { XCTAssertNil(blockGradients[0][i], "block 0's loss reached \(p.name)") }
            else { XCTAssertNil(blockGradients[1][i], "block 1's loss reached \(p.name)") }
            let parts = [blockGradients[0][i], blockGradients[1][i]].compactMap { $0 }
            guard let g = stepGradients[i] else { XCTAssertTrue(parts.isEmpty, p.name); continue }
            XCTAssertEqual(parts.count, 1, p.name)
            for (a, e) in zip(g, parts[0]) { XCTAssertEqual(a, e, accuracy: 1e-5 * max(1, abs(e)), p.name) }
            reached += 1
        }
        XCTAssertGreaterThan(reached, 20)
    }

    /// Training lowers every block's held-out loss for the members it samples (the largest and the smallest).
    func testTrainingLowersTheBlockLosses() throws {
        var rng = RandomGenerator(seed: 7)
        let net = try BlockwiseSupernet(space: Self.space, blocks: 2, width: 16, rng: &rng)
        net.model.hiddenDropout = 0; net.model.attentionDropout = 0
        let training = try BlockwiseTraining(supernet: net, teacher: Self.teacher(), seed: 1)
        let optimizer = AdamW(parameters: net.model.parameters + net.modules.flatMap(\.parameters), learningRate: 3e-3, weightDecay: 0)
        let (input, _) = SupernetTests.encoderBatch()
        let states = try BlockwiseSupernet.teacherStates(Self.teacher(), input: input, blocks: 2)
        let before = [Self.space.largest, Self.space.smallest].map { net.blockLosses(of: $0, input: input, states: states) }
        for s in 0..<150 {
            _ = try training.step(s, input: input, tokens: 16, rng: &rng)
            optimizer.step()
            optimizer.zeroGrad()
        }
        let after = [Self.space.largest, Self.space.smallest].map { net.blockLosses(of: $0, input: input, states: states) }
        for (b, a) in zip(before, after) {
            for (x, y) in zip(b, a) { XCTAssertLessThan(y, 0.5 * x, "before \(b), after \(a)") }
        }
    }

    /// The DP's choice equals the brute-force optimum over every combination, for random candidates and budgets, under
    /// the parameter count and under an arbitrary additive cost (as measured latencies are).
    func testCombinationIsTheExactOptimumUnderTheBudget() {
        var rng = RandomGenerator(seed: 9)
        func uniform(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let parameters = BlockwiseCombination.Cost.parameters(vocabSize: 13, maxPositions: 8)
        let arbitrary = BlockwiseCombination.Cost(embeddings: { Double($0) * 0.3 },
                                                  layers: { Double($0.layers.count) * 1.7 + Double($0.layers.map(\.ffn).reduce(0, +)) * 0.05 },
                                                  adapter: { Double($0 + 2 * $1) * 0.01 })
        var feasible = 0
        for trial in 0..<80 {
            let cost = trial % 2 == 0 ? parameters : arbitrary
            let blocks = 1 + uniform(3)
            let candidates: [[BlockwiseCombination.Candidate]] = (0..<blocks).map { _ in
                (0..<(1 + uniform(5))).map { _ in
                    let h = [8, 12, 16][uniform(3)]
                    let layers = (0..<uniform(3)).map { _ in Architecture.Layer(heads: [1, 2, 4][uniform(3)], qkv: h, ffn: 4 * (1 + uniform(8))) }
                    return .init(hidden: h, layers: layers, loss: Double(uniform(1000)) / 100)
                }
            }
            var all: [[BlockwiseCombination.Candidate]] = [[]]
            for block in candidates { all = all.flatMap { prefix in block.map { prefix + [$0] } } }
            let costs: [Double] = all.map { cost.of($0, width: 16) }
            let budget = costs.sorted()[uniform(costs.count)] * (0.9 + Double(uniform(20)) / 100)
            let feasibleOnes = zip(all, costs).filter { $0.1 <= budget }
            func total(_ c: [BlockwiseCombination.Candidate]) -> Double { c.map(\.loss).reduce(0, +) }
            let brute = feasibleOnes.min { (total($0.0), $0.1) < (total($1.0), $1.1) }
            let dp = BlockwiseCombination.best(candidates, cost: cost, width: 16, budget: budget)
            guard let brute else { XCTAssertNil(dp); continue }
            guard let choice = dp else { XCTFail("no choice where brute force found one"); continue }
            XCTAssertEqual(choice.loss, total(brute.0), accuracy: 1e-9)
            XCTAssertLessThanOrEqual(choice.cost, budget)
            XCTAssertEqual(choice.cost, cost.of(choice.candidates, width: 16), accuracy: 1e-9)
            feasible += 1
        }
        XCTAssertGreaterThan(feasible, 40)
    }

    /// Under a budget on the whole student's measurement (here 1.25 × the summed cost), a choice over the budget sends
    /// the DP back with budget / 1.25: so at most two rounds, every round but the last over the budget, the second
    /// cheaper than the first, and the last choice the optimum over every combination whose measurement fits.
    func testMeasuredBudgetRerunsTheCombinationUntilTheWholeFits() {
        var rng = RandomGenerator(seed: 4)
        func uniform(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let cost = BlockwiseCombination.Cost(embeddings: { Double($0) * 0.3 }, layers: { Double($0.layers.map(\.ffn).reduce(0, +)) * 0.05 },
                                             adapter: { Double($0 + $1) * 0.01 })
        var rerun = 0
        for _ in 0..<40 {
            let candidates: [[BlockwiseCombination.Candidate]] = (0..<2).map { _ in
                (0..<(2 + uniform(5))).map { _ in
                    let h = [8, 12, 16][uniform(3)]
                    return .init(hidden: h, layers: (0..<(1 + uniform(3))).map { _ in .init(heads: 1, qkv: h, ffn: 4 * (1 + uniform(30))) },
                                 loss: Double(uniform(1000)) / 100)
                }
            }
            var all: [[BlockwiseCombination.Candidate]] = [[]]
            for block in candidates { all = all.flatMap { prefix in block.map { prefix + [$0] } } }
            let costs = all.map { cost.of($0, width: 16) }
            let budget = costs.sorted()[uniform(costs.count)] * 1.1
            let rounds = BlockwiseCombination.best(candidates, cost: cost, width: 16, measuredBudget: budget, rounds: 8) { 1.25 * $0.cost }
            XCTAssertTrue((1...2).contains(rounds.count))
            XCTAssertTrue(rounds.dropLast().allSatisfy { $0.measured > budget })
            XCTAssertTrue(zip(rounds, rounds.dropFirst()).allSatisfy { $1.choice.cost < $0.choice.cost })
            if rounds.count > 1 { rerun += 1 }
            let fitting = zip(all, costs).filter { 1.25 * $0.1 <= budget }.map { $0.0.map(\.loss).reduce(0, +) }
            guard let last = rounds.last, last.measured <= budget else { XCTAssertTrue(fitting.isEmpty); continue }
            XCTAssertEqual(last.choice.loss, fitting.min()!, accuracy: 1e-9)
        }
        XCTAssertGreaterThan(rerun, 5)
    }

    /// The parameter count by hand: embeddings (13 + 8 + 2)·8 + 2·8 and one layer of width 8 (Architecture's count);
    /// block 1 holds no layer, so its adapters compose into the last map 8 → 16 (its width 12 never runs); with a
    /// third block of width 12 the boundary 8 → 12 and the last map 12 → 16 count instead.
    func testParameterCountByHand() {
        let parameters = BlockwiseCombination.Cost.parameters(vocabSize: 13, maxPositions: 8)
        let layer = Architecture.Layer(heads: 2, qkv: 8, ffn: 6), wide = Architecture.Layer(heads: 2, qkv: 12, ffn: 6)
        let one = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 8, layers: [layer]).parameterCount
        let empty = BlockwiseCombination.Candidate(hidden: 12, layers: [], loss: 0)
        XCTAssertEqual(parameters.of([.init(hidden: 8, layers: [layer], loss: 0), empty], width: 16), Double(one + (8 * 16 + 16)))
        let twelve = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 12, layers: [wide])
        let layer12 = twelve.parameterCount - Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 12, layers: []).parameterCount
        XCTAssertEqual(parameters.of([.init(hidden: 8, layers: [layer], loss: 0), empty, .init(hidden: 12, layers: [wide], loss: 0)], width: 16),
                       Double(one + (8 * 12 + 12) + layer12 + (12 * 16 + 16)))
    }

    // MARK: - The combined student

    /// A member of `net` whose block-b part is `candidate` (earlier blocks padded with copies of its layers).
    static func member(_ candidate: BlockwiseCombination.Candidate, block b: Int, of net: BlockwiseSupernet) -> Architecture {
        var arch = Self.space.largest
        arch.hidden = candidate.hidden
        let pad = Architecture.Layer(heads: 1, qkv: candidate.hidden, ffn: 6)
        arch.layers = Array(repeating: pad, count: net.depths[..<b].reduce(0, +)) + candidate.layers
        precondition(Array(net.layers(of: arch, block: b)) == candidate.layers)
        return arch
    }

    /// The student runs exactly the blocks chained, each fed its predecessor's prediction in place of the teacher's
    /// states — through the composed boundary maps, a block without layers included — its tensors count what the
    /// combination's parameter cost says, and a saved checkpoint loads back to the same outputs (a plain backbone
    /// for the other commands, the output adapter beside it).
    func testStudentIsTheBlocksChainedAndRoundTrips() throws {
        var rng = RandomGenerator(seed: 12)
        let net = try BlockwiseSupernet(space: Self.space, blocks: 2, width: 16, rng: &rng)
        net.model.hiddenDropout = 0; net.model.attentionDropout = 0
        for p in net.model.parameters + net.modules.flatMap(\.parameters) where p.name.hasSuffix("bias") || p.name.contains("LayerNorm") {
            p.value = Tensor.randomNormal(p.shape, std: 0.3, using: &rng) + (p.name.hasSuffix("LayerNorm.weight") ? 1 : 0)
        }
        let (input, _) = SupernetTests.encoderBatch()
        let cost = BlockwiseCombination.Cost.parameters(vocabSize: 13, maxPositions: 8)
        let l8 = Architecture.Layer(heads: 2, qkv: 8, ffn: 6), l12 = Architecture.Layer(heads: 1, qkv: 12, ffn: 10)
        let combinations: [[BlockwiseCombination.Candidate]] = [
            [.init(hidden: 8, layers: [l8], loss: 0), .init(hidden: 12, layers: [l12], loss: 0)],
            [.init(hidden: 12, layers: [l12], loss: 0), .init(hidden: 12, layers: [l12], loss: 0)],
            [.init(hidden: 12, layers: [l12], loss: 0), .init(hidden: 8, layers: [], loss: 0)],
        ]
        for chosen in combinations {
            let student = BlockwiseStudent(supernet: net, chosen: chosen)
            var chained: Tensor?
            var noise = RandomGenerator(seed: 0)
            for (b, c) in chosen.enumerated() {
                chained = net.prediction(block: b, of: Self.member(c, block: b, of: net), input: input, states: chained, training: false, rng: &noise)
            }
            let expected = chained!.contiguous().scalars, got = student(input).contiguous().scalars
            XCTAssertEqual(got.count, expected.count)
            let worst = zip(got, expected).map { abs($0 - $1) }.max()!, scale = expected.map(abs).max()!
            XCTAssertLessThan(worst, 1e-4 * scale, "\(chosen.map(\.hidden))")
            let count = student.model.parameterElementCount + student.output.parameterElementCount
            XCTAssertEqual(Double(count), cost.of(chosen, width: 16))
            XCTAssertEqual(student.model.maxArchitecture.parameterCount + 16 * student.model.maxArchitecture.outputWidth + 16, count)

            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("student-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try student.save(to: dir, vocabulary: nil)
            XCTAssertEqual(try BlockwiseStudent.load(from: dir)(input).contiguous().scalars, got)
            let (backbone, _, unused) = try Checkpoint.loadTransformer(from: dir)
            XCTAssertEqual(backbone(input).hidden.contiguous().scalars, student.model(input).hidden.contiguous().scalars)
            XCTAssertEqual(Set(unused), ["blockwise.output.weight", "blockwise.output.bias"])
        }
        // A plain checkpoint is not a student: the error names the missing tensor.
        let plain = FileManager.default.temporaryDirectory.appendingPathComponent("plain-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: plain) }
        try Checkpoint.save(net.model.extract(Self.space.smallest), to: plain)
        XCTAssertThrowsError(try BlockwiseStudent.load(from: plain)) { XCTAssertTrue("\($0)".contains("blockwise.output.weight"), "\($0)") }
    }

    /// The latency cost times each part once (memoised: a part asked again costs what it cost), every part positive,
    /// more layers cost more, and the DP's choice under it stays within the budget.
    func testLatencyCostTimesEachPartOnce() {
        let meter = LatencyMeter(batchSize: 2, sequenceLength: 8, threads: 1, warmup: 1, runs: 3)
        let latency = BlockwiseCombination.Cost.latency(meter: meter, like: Self.space.largest)
        let big = Architecture.Layer(heads: 2, qkv: 12, ffn: 10)
        let one = BlockwiseCombination.Candidate(hidden: 12, layers: [big], loss: 0.5)
        let many = BlockwiseCombination.Candidate(hidden: 12, layers: Array(repeating: big, count: 8), loss: 0.1)
        let first = latency.layers(many)
        XCTAssertEqual(latency.layers(many), first)
        XCTAssertGreaterThan(first, latency.layers(one))
        for t in [latency.embeddings(8), latency.layers(one), latency.adapter(8, 12)] { XCTAssertTrue(t > 0 && t.isFinite, "\(t)") }
        let budget = latency.of([one, one], width: 16) * 1.01
        let choice = BlockwiseCombination.best([[one, many], [one, many]], cost: latency, width: 16, budget: budget)
        XCTAssertEqual(choice?.candidates, [one, one])
        XCTAssertLessThanOrEqual(choice?.cost ?? .infinity, budget)
    }

    // MARK: - BossNAS (self-supervised)

    /// `views: false`: every id special, so nothing is masked and the two views are the batch itself.
    static func bootstrapping(views: Bool = true, paths: Int = 2, seed: UInt64 = 8) throws -> BlockwiseBootstrapping {
        var rng = RandomGenerator(seed: seed)
        let masking = MaskedLanguageModeling(vocabSize: 13, maskId: 4, specialIds: views ? [0, 1, 2, 3, 4] : Set(0..<13), probability: 0.3)
        let boss = try BlockwiseBootstrapping(space: space, blocks: 2, masking: masking, paths: paths, seed: 3, rng: &rng)
        boss.online.model.hiddenDropout = 0; boss.online.model.attentionDropout = 0
        return boss
    }

    /// The target starts as a copy under `target.` names and follows θ′ ← m·θ′ + (1 − m)·θ.
    func testTargetIsAMovingAverageOfTheOnlineWeights() throws {
        let boss = try Self.bootstrapping()
        let online = BlockwiseBootstrapping.parameters(boss.online), target = BlockwiseBootstrapping.parameters(boss.target)
        XCTAssertEqual(online.count, target.count)
        for (o, t) in zip(online, target) {
            XCTAssertEqual(t.name, "target." + o.name)
            XCTAssertEqual(t.value.contiguous().scalars, o.value.contiguous().scalars)
        }
        let before = target.map { $0.value.contiguous().scalars }
        for o in online { o.value = o.value + 1 }
        boss.updateTarget()
        for (t, (o, b)) in zip(target, zip(online, before)) {
            for (x, (y, z)) in zip(t.value.contiguous().scalars, zip(o.value.contiguous().scalars, b)) {
                XCTAssertEqual(x, 0.99 * z + 0.01 * y, accuracy: 1e-5)
            }
        }
        // Every name is unique, so one checkpoint holds online, target and predictors.
        let names = (boss.online.model.parameters + boss.modules.flatMap(\.parameters)).map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
    }

    /// With identical views (no masking), no dropout, one path and an identity predictor, the online prediction is
    /// the target itself: the loss is 0; gradients reach the online weights and predictors, never the target.
    func testBootstrappingLossIsZeroWhenOnlineEqualsTargetOnOneView() throws {
        let boss = try Self.bootstrapping(views: false, paths: 1)
        for p in boss.predictors {
            let c = p.weight.shape[0]
            p.weight.value = Tensor(shape: [c, c], scalars: (0..<(c * c)).map { $0 / c == $0 % c ? 1 : 0 })
            p.bias!.value = Tensor(shape: [c], scalars: [Float](repeating: 0, count: c))
        }
        var rng = RandomGenerator(seed: 1)
        let (input, _) = SupernetTests.encoderBatch()
        let result = boss.step(0, input: input, tokens: 16, rng: &rng)
        XCTAssertEqual(result.loss, 0, accuracy: 1e-5)
        for p in boss.predictors { p.weight.value = p.weight.value * 0.5 }   // now the online side differs
        for p in BlockwiseBootstrapping.parameters(boss.online) + boss.predictors.flatMap(\.parameters) { p.zeroGrad() }
        let moved = boss.step(0, input: input, tokens: 16, rng: &rng)
        XCTAssertEqual(moved.loss, 0, accuracy: 1e-5, "cosine ignores the scale")
        let noisy = try Self.bootstrapping(views: true, paths: 2)
        _ = noisy.step(0, input: input, tokens: 16, rng: &rng)
        XCTAssertTrue(BlockwiseBootstrapping.parameters(noisy.target).allSatisfy { $0.grad == nil }, "no gradient into the target")
        XCTAssertTrue(noisy.predictors.allSatisfy { $0.weight.grad != nil })
        XCTAssertGreaterThan(BlockwiseBootstrapping.parameters(noisy.online).filter { $0.grad != nil }.count, 10)
    }

    /// A candidate's rating is its mean 1 − cos to the centre of a fixed population: the same alone as among others,
    /// in [0, 2]; with a population of one member, that member itself rates 0.
    func testRatingsMeasureTheDistanceToThePopulationCentre() throws {
        let boss = try Self.bootstrapping()
        let (input, _) = SupernetTests.encoderBatch()
        let a = Self.space.largest, b = Self.space.smallest
        let together = boss.ratings([a, b, Self.space.decode([1, 0, 1, 0])], input: input)
        XCTAssertEqual(boss.ratings([b], input: input)[0], together[1])
        XCTAssertNotEqual(together[0], together[1])
        XCTAssertTrue(together.flatMap { $0 }.allSatisfy { $0 >= -1e-6 && $0 <= 2 })
        var draw = RandomGenerator(seed: 0x504F_5055)
        let only = Self.space.decode(Self.space.sample(using: &draw))
        for r in boss.ratings([only], input: input, population: 1)[0] { XCTAssertEqual(r, 0, accuracy: 1e-5) }
    }
}
