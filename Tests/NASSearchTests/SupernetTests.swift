import Foundation
import XCTest
import NASModels
@testable import NASSearch
import NASTensor
import NASText
import NASTrain

/// Supernet training and one-shot scoring: the rules' draws against their distributions (χ²), a
/// sandwich step's gradient against the sum of the sub-networks' gradients computed on standalone
/// copies, in-place distillation's stop-gradient, bit-identical resume per rule, and the supernet
/// objective against the extracted model.
final class SupernetTests: XCTestCase {
    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("supernet-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// 2 × 2 × 2 × 2 = 16 genomes (every head count divides every width).
    static let encoderSpace = SearchSpace(name: "tiny-encoder", family: .encoder, vocabSize: 13, maxPositions: 8,
                                          depth: [1, 2], hidden: [8, 12], layers: .shared, heads: [1, 2], ffn: [6, 10])
    /// Per-layer genes over up to 3 layers.
    static let decoderSpace = SearchSpace(name: "tiny-decoder", family: .decoder, vocabSize: 11, maxPositions: 12,
                                          depth: [1, 2, 3], hidden: [8, 16, 24], layers: .perLayer, heads: [1, 2, 4],
                                          ffn: [4, 8, 12, 16])

    static func tokens(_ n: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var rng = RandomGenerator(seed: seed)
        return (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
    }

    /// An encoder batch with every third position a masked-LM target.
    static func encoderBatch() -> (TokenBatch, [Int32]) {
        let ids = tokens(16, vocab: 13, seed: 3)
        let targets = ids.indices.map { $0 % 3 == 0 ? ids[$0] : -100 }
        return (TokenBatch(ids: ids, batchSize: 2, length: 8), targets)
    }

    /// Pearson's χ² of observed counts against expected probabilities.
    static func chiSquare(_ counts: [Int], _ p: [Double]) -> Double {
        let n = Double(counts.reduce(0, +))
        return zip(counts, p).reduce(0) { $0 + pow(Double($1.0) - n * $1.1, 2) / (n * $1.1) }
    }
    /// χ² critical values at α = 0.001 by degrees of freedom.
    static let critical: [Int: Double] = [1: 10.83, 2: 13.82, 3: 16.27, 15: 37.70]

    // MARK: - Spaces

    func testLargestAndSmallestMembers() {
        let atb = SearchSpace.autoTinyBERT
        XCTAssertEqual(atb.largest.depth, 8)
        XCTAssertEqual(atb.largest.hidden, 768)
        XCTAssertEqual(atb.largest.layers[0], .init(heads: 12, qkv: 768, ffn: 3072))
        XCTAssertEqual(atb.smallest.depth, 1)
        XCTAssertEqual(atb.smallest.hidden, 128)
        XCTAssertEqual(atb.smallest.layers[0].qkv, 180)
        XCTAssertEqual(atb.smallest.layers[0].ffn, 128)
        XCTAssertEqual(180 % atb.smallest.layers[0].heads, 0, "heads repaired to divide qkv")
        // W-PCA's blocks: the widest BERT block is the largest layer, the narrowest bottleneck the smallest.
        XCTAssertEqual(SearchSpace.wPCA.largest.layers[0].ffn, 792)
        XCTAssertNil(SearchSpace.wPCA.largest.layers[0].bottleneck)
        XCTAssertEqual(SearchSpace.wPCA.smallest.layers[0].bottleneck, 132)
        var rng = RandomGenerator(seed: 4)
        for space in [atb, SearchSpace.flexiBERTTrueSize, SearchSpace.tangleNASShakespeare, Self.decoderSpace] {
            for _ in 0..<200 {
                let arch = space.decode(space.sample(using: &rng))
                XCTAssertTrue(arch.fits(in: space.largest), "\(space.name)")
                XCTAssertLessThanOrEqual(space.smallest.parameterCount, arch.parameterCount, space.name)
            }
        }
        // W-PCA's bottleneck blocks share no weights with plain ones: no supernet.
        XCTAssertThrowsError(try Supernet(space: .wPCA, rng: &rng)) { XCTAssertTrue("\($0)".contains("leading slice"), "\($0)") }
    }

    /// Every FlexiBERT dev row, read as the trained model (true-size), is a member of the true-size space
    /// and a sub-network of its largest; read by its labels, of the FlexiBERT space and its supernet.
    func testFlexiBERTTrueSizeSpaceHoldsEveryBenchmarkRow() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/data/flexibert/benchmark-dev.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("no FlexiBERT benchmark at \(url.path)") }
        for (space, reading) in [(SearchSpace.flexiBERTTrueSize, FlexiBERTProtocol.trueSize), (.flexiBERT, .labels)] {
            for row in try FlexiBERTBenchmark.load(from: url) {
                let arch = reading.architecture(of: row)
                let genome = try XCTUnwrap(space.encode(arch), "row \(row.id)")
                XCTAssertEqual(space.decode(genome), arch)
                XCTAssertTrue(arch.fits(in: space.largest, choices: space.operationChoices), "row \(row.id)")
            }
        }
    }

    // MARK: - Rules

    /// Uniform per gene: χ² of each active gene's choices over 10,000 steps (α = 0.001); and uniform over
    /// whole architectures on a space of 16.
    func testUniformRuleIsUniformPerGeneAndOverGenomes() {
        let space = Self.decoderSpace
        let rule = UniformRule(space: space, seed: 7)
        var depth = [0, 0, 0], hidden = [0, 0, 0]
        var heads = [[Int]](repeating: [0, 0, 0], count: 3), ffn = [[Int]](repeating: [0, 0, 0, 0], count: 3)
        for step in 0..<10_000 {
            let arch = rule.architectures(step: step)
            XCTAssertEqual(arch.count, 1)
            depth[space.depth.firstIndex(of: arch[0].depth)!] += 1
            hidden[space.hidden.firstIndex(of: arch[0].hidden)!] += 1
            for (i, l) in arch[0].layers.enumerated() {
                heads[i][space.heads!.firstIndex(of: l.heads)!] += 1
                ffn[i][space.ffn!.firstIndex(of: l.ffn)!] += 1
            }
        }
        for counts in [depth, hidden] + heads + ffn {
            let k = counts.count
            XCTAssertLessThan(Self.chiSquare(counts, Array(repeating: 1 / Double(k), count: k)), Self.critical[k - 1]!, "\(counts)")
        }
        XCTAssertEqual(rule.architectures(step: 42), rule.architectures(step: 42), "seeded by the step")

        let small = Self.encoderSpace
        let uniform = UniformRule(space: small, seed: 1)
        var genomes = [Genome: Int]()
        for step in 0..<10_000 { genomes[small.encode(uniform.architectures(step: step)[0])!, default: 0] += 1 }
        XCTAssertEqual(genomes.count, 16)
        XCTAssertLessThan(Self.chiSquare(Array(genomes.values), Array(repeating: 1 / 16, count: 16)), Self.critical[15]!)
    }

    func testSandwichRuleTrainsBothExtremesAndRandomMembers() {
        let space = SearchSpace.autoTinyBERT
        let rule = SandwichRule(space: space, seed: 3, randomCount: 2)
        let a = rule.architectures(step: 5), b = rule.architectures(step: 6)
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(a[0], space.largest)
        XCTAssertEqual(a[1], space.smallest)
        XCTAssertNotEqual(a[2...], b[2...], "the random members change with the step")
        XCTAssertEqual(a, rule.architectures(step: 5))
        XCTAssertTrue(rule.inPlaceDistillation)
    }

    /// With a fixed distribution the bins drawn over 10,000 steps follow it (χ², α = 0.001), and the
    /// generator returns members of the bin asked for.
    func testComplexityRuleBinFrequenciesConvergeToItsDistribution() throws {
        let rule = try ComplexityRule(space: .autoTinyBERT, seed: 9, randomCount: 1, settings: .init(bins: 3, updateEvery: 0))
        let p = [0.5, 0.3, 0.2]
        rule.setProbabilities(p)
        var counts = [0, 0, 0]
        for step in 0..<10_000 {
            var rng = stepGenerator(seed: 9, step: step)
            counts[rule.drawBin(using: &rng)] += 1
        }
        XCTAssertLessThan(Self.chiSquare(counts, p), Self.critical[2]!, "\(counts)")
        var hits = 0, rng = RandomGenerator(seed: 1)
        for k in [0, 1, 2] {
            for _ in 0..<30 where rule.bin(of: rule.generate(bin: k, using: &rng)) == k { hits += 1 }
        }
        XCTAssertGreaterThanOrEqual(hits, 85, "the generator reaches the requested bin")
        // The whole step: the bins of the sampled members follow p too (the extremes are in the end bins).
        var sampled = [0, 0, 0]
        for step in 0..<600 { sampled[rule.bin(of: rule.architectures(step: step)[2])] += 1 }
        XCTAssertLessThan(Self.chiSquare(sampled, p), Self.critical[2]!, "\(sampled)")
    }

    /// Uniform sampling concentrates on mid sizes; the complexity rule spreads the sizes evenly.
    func testComplexityRuleBalancesSizesThatUniformSamplingDoesNot() throws {
        let space = SearchSpace.autoTinyBERT
        let rule = try ComplexityRule(space: space, seed: 2, randomCount: 1, settings: .init(bins: 4, updateEvery: 0))
        let uniform = UniformRule(space: space, seed: 2)
        var u = [0, 0, 0, 0], c = [0, 0, 0, 0]
        for step in 0..<400 {
            u[rule.bin(of: uniform.architectures(step: step)[0])] += 1
            c[rule.bin(of: rule.architectures(step: step)[2])] += 1
        }
        XCTAssertLessThan(u[3], 40, "uniform rarely draws the largest quarter: \(u)")
        XCTAssertGreaterThan(c[3], 70, "the complexity rule does: \(c)")
    }

    /// The bin whose loss falls fastest gets the most probability, by at most ρ over the others, and only
    /// after the warm-up; by hand: gains (0, 0, g) standardise to (−0.707, −0.707, 1.414), clipped to 1, so the
    /// weights are ρ^(−0.354), ρ^(−0.354), ρ^(0.5).
    func testComplexityRuleShiftsTowardBinsThatStillImproveByAtMostTheRatio() throws {
        let rule = try ComplexityRule(space: .autoTinyBERT, seed: 1, randomCount: 2,
                                      settings: .init(bins: 3, updateEvery: 10, warmupSteps: 10, maxRatio: 4))
        var rng = RandomGenerator(seed: 5)
        let members = (0..<3).map { rule.generate(bin: $0, using: &rng) }
        XCTAssertEqual(members.map { rule.bin(of: $0) }, [0, 1, 2])
        for step in 0..<20 {
            let improving = step < 10 ? 3.0 : 1.5
            rule.observe(step: step, architectures: [rule.largest, rule.smallest] + members, losses: [9, 5, 2, 2, improving])
            if step < 10 { XCTAssertEqual(rule.probabilities, [1.0 / 3, 1.0 / 3, 1.0 / 3], "uniform during the warm-up") }
        }
        let low = pow(4, -0.5 / 2.0.squareRoot()), high = 2.0
        let p = rule.probabilities
        XCTAssertEqual(p[2], high / (2 * low + high), accuracy: 1e-9)
        XCTAssertEqual(p[0], low / (2 * low + high), accuracy: 1e-9)
        XCTAssertLessThanOrEqual(p[2] / p[0], 4 + 1e-9)
        XCTAssertEqual(rule.counts, [20, 20, 20])
    }

    /// However lopsided the gains, no bin gets more than ρ times another; equal gains give uniform; a bin
    /// not seen yet counts as the mean.
    func testComplexityRuleShiftIsBounded() {
        let p = ComplexityRule.shifted(gains: [0.9, 0, 0, 0, 0, 0, 0, nil], maxRatio: 4)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(p.max()! / p.min()!, 4 + 1e-9)
        XCTAssertEqual(p[0], p.max()!)
        XCTAssertLessThan(p[0], 0.3, "the old proportional rule gave this bin 0.825")
        XCTAssertEqual(ComplexityRule.shifted(gains: [0.1, 0.1, nil], maxRatio: 4), [1.0 / 3, 1.0 / 3, 1.0 / 3])
        XCTAssertEqual(ComplexityRule.shifted(gains: [0.5, 0.1], maxRatio: 1), [0.5, 0.5])
    }

    // MARK: - Training

    /// The gradient of a standalone copy of `arch`, zero-padded to the supernet's shapes, by name.
    func paddedGradients(_ modules: [Module], into sums: inout [String: [Float]], parents: [String: Parameter]) {
        for p in modules.flatMap(\.parameters) {
            guard let g = p.grad?.contiguous().scalars else { continue }
            let parent = parents[p.name]!
            var sum = sums[p.name] ?? [Float](repeating: 0, count: parent.value.count)
            let cols = p.shape.count == 2 ? p.shape[1] : 1, parentCols = parent.shape.count == 2 ? parent.shape[1] : 1
            for i in 0..<(p.value.count / cols) {
                for j in 0..<cols { sum[i * parentCols + j] += g[i * cols + j] }
            }
            sums[p.name] = sum
        }
    }

    /// A sandwich step's gradients equal the sum of the four sub-networks' gradients computed separately
    /// on standalone extracted copies (the largest on the labels, the others on its detached logits).
    func testSandwichStepGradientIsTheSumOfItsSubNetworks() throws {
        var rng = RandomGenerator(seed: 11)
        let supernet = try Supernet(space: Self.encoderSpace, rng: &rng)
        supernet.model.hiddenDropout = 0; supernet.model.attentionDropout = 0
        let rule = SandwichRule(space: Self.encoderSpace, seed: 4, randomCount: 2)
        let (input, targets) = Self.encoderBatch()
        let training = SupernetTraining(supernet: supernet, rule: rule)
        let result = try training.step(3, input: input, targets: targets, tokens: 16, rng: &rng)
        XCTAssertTrue(result.loss.isFinite)
        let parents = Dictionary(uniqueKeysWithValues: (supernet.model.parameters + supernet.head!.parameters).map { ($0.name, $0) })
        let stepGradients = parents.mapValues { $0.grad?.contiguous().scalars }
        supernet.model.zeroGrad(); supernet.head!.zeroGrad()

        var sums: [String: [Float]] = [:]
        var soft: Tensor?
        let architectures = rule.architectures(step: 3)
        XCTAssertEqual(architectures.count, 4)
        for (i, arch) in architectures.enumerated() {
            let (model, head) = supernet.extract(arch)
            let rows = targets.indices.filter { targets[$0] != -100 }
            let hidden = model(input, training: false, rng: &rng).hidden.reshaped([-1, arch.hidden])
            let logits = head!(hidden.gather(rows: rows.map { Int32($0) }), embeddings: model.wordEmbeddings, embeddingWidth: arch.hidden)
            if i == 0 {
                logits.crossEntropy(targets: rows.map { targets[$0] }).backward()
                soft = logits.detached()
            } else {
                Distillation.softLabelLoss(student: logits, teacher: soft!).backward()
            }
            paddedGradients([model, head!], into: &sums, parents: parents)
        }
        for (name, g) in stepGradients {
            guard let g else { XCTAssertNil(sums[name], name); continue }
            let expected = try XCTUnwrap(sums[name], name)
            let scale = expected.map(abs).max()! + 1e-6
            for (a, b) in zip(g, expected) { XCTAssertEqual(a, b, accuracy: 1e-4 * scale, name) }
        }
    }

    /// In-place distillation sends no gradient into the largest network's soft targets. End to end: the
    /// layer only the largest has gets exactly the gradient of the largest's own label loss. And the loss
    /// itself: soft targets computed from a parameter (with their graph kept) give that parameter no gradient.
    /// AutoDistil's step: no label loss (weight 0, so no in-place distillation) and the teacher's relation loss on
    /// every member — the step's gradient is the sum of each extracted member's relation-KL gradient.
    func testTeacherForEveryMemberGradientIsTheSumOfItsSubNetworksRelationLosses() throws {
        var rng = RandomGenerator(seed: 12)
        let supernet = try Supernet(space: Self.encoderSpace, rng: &rng)
        supernet.model.hiddenDropout = 0; supernet.model.attentionDropout = 0
        for p in supernet.model.parameters { p.value = p.value * 10 }   // peaked attention: relations that differ
        var teacherRNG = RandomGenerator(seed: 13)
        let teacher = Transformer(Self.encoderSpace.largest, rng: &teacherRNG)
        for p in teacher.parameters { p.value = p.value * 10 }
        let (input, targets) = Self.encoderBatch()
        let t = teacher(input).layers.last!.attention!
        func relationLoss(_ out: Transformer.Output) -> Tensor {
            let s = out.layers.last!.attention!
            return Distillation.attentionRelationKL(student: (s.q, s.k, s.v), teacher: (t.q, t.k, t.v), relationHeads: 2, mask: nil)
        }
        let rule = SandwichRule(space: Self.encoderSpace, seed: 4, randomCount: 1)
        let training = SupernetTraining(supernet: supernet, rule: rule)
        training.labelWeight = 0
        training.teacherForEveryMember = true
        training.teacherLoss = { out, _ in let loss = relationLoss(out); return (loss, ["attention_kl": Double(loss.item())]) }
        let result = try training.step(5, input: input, targets: targets, tokens: 16, rng: &rng)
        XCTAssertNotNil(result.metrics["attention_kl_smallest"])
        XCTAssertNotNil(result.metrics["attention_kl_2"])
        XCTAssertNil(result.metrics["kd_smallest"], "no labels learnt: no in-place distillation")
        let parents = Dictionary(uniqueKeysWithValues: supernet.model.parameters.map { ($0.name, $0) })
        let stepGradients = parents.mapValues { $0.grad?.contiguous().scalars }

        var sums: [String: [Float]] = [:]
        let architectures = rule.architectures(step: 5)
        XCTAssertEqual(architectures.count, 3)
        for arch in architectures {
            let model = supernet.model.extract(arch)
            let loss = relationLoss(model(input, training: false, rng: &rng))
            XCTAssertGreaterThan(loss.item(), 1e-4)
            loss.backward()
            paddedGradients([model], into: &sums, parents: parents)
        }
        var compared = 0
        for (name, g) in stepGradients {
            guard let g else { XCTAssertNil(sums[name], name); continue }
            let expected = sums[name] ?? [Float](repeating: 0, count: g.count)
            let scale = expected.map(abs).max()! + 1e-6
            for (a, b) in zip(g, expected) { XCTAssertEqual(a, b, accuracy: 1e-4 * scale, name) }
            if sums[name] != nil { compared += 1 }
        }
        XCTAssertGreaterThan(compared, 10)
    }

    func testInPlaceDistillationSendsNoGradientIntoTheSoftTargets() throws {
        final class Pair: SamplingRule {
            let archs: [Architecture]
            init(_ archs: [Architecture]) { self.archs = archs }
            var name: String { "pair" }
            var inPlaceDistillation: Bool { true }
            func architectures(step: Int) -> [Architecture] { archs }
        }
        let space = Self.encoderSpace
        var rng = RandomGenerator(seed: 2)
        let supernet = try Supernet(space: space, rng: &rng)
        supernet.model.hiddenDropout = 0; supernet.model.attentionDropout = 0
        let (input, targets) = Self.encoderBatch()
        let secondLayer = supernet.model.blocks[1].parameters
        _ = try SupernetTraining(supernet: supernet, rule: Pair([space.largest])).step(0, input: input, targets: targets, tokens: 16, rng: &rng)
        let alone = secondLayer.map { $0.grad!.contiguous().scalars }
        supernet.model.zeroGrad(); supernet.head!.zeroGrad()
        _ = try SupernetTraining(supernet: supernet, rule: Pair([space.largest, space.smallest]))
            .step(0, input: input, targets: targets, tokens: 16, rng: &rng)
        XCTAssertEqual(space.smallest.depth, 1)
        XCTAssertEqual(secondLayer.map { $0.grad!.contiguous().scalars }, alone)
        XCTAssertNotNil(supernet.model.blocks[0].intermediate.weight.grad)

        let source = Parameter(Tensor(shape: [2, 3], scalars: [0.1, -0.4, 0.3, 0.2, 0.0, -0.1]), name: "teacher")
        let student = Parameter(Tensor(shape: [2, 3], scalars: [0.5, 0.1, -0.2, -0.3, 0.4, 0.1]), name: "student")
        Distillation.softLabelLoss(student: student.tensor * 2, teacher: source.tensor * 3).backward()
        XCTAssertNil(source.grad)
        XCTAssertNotNil(student.grad)
    }

    func makeTraining(_ kind: SamplingRuleKind, run: URL, steps: Int) throws -> (Trainer, SupernetTraining) {
        var rng = RandomGenerator(seed: 1)
        let supernet = try Supernet(space: Self.decoderSpace, rng: &rng)
        let rule = try kind.make(space: Self.decoderSpace, seed: 6, randomCount: 2,
                                 complexity: .init(bins: 3, updateEvery: 2, warmupSteps: 2))
        let options = TrainingOptions(steps: steps, learningRate: 3e-3, warmupSteps: 2, seed: 5, checkpointEvery: 100, logEvery: 1)
        let trainer = Trainer(run: run, options: options, model: supernet.model, extra: supernet.modules)
        return (trainer, SupernetTraining(supernet: supernet, rule: rule))
    }

    func run(_ trainer: Trainer, _ training: SupernetTraining) throws {
        let corpus = try TextCorpus(tokens: Self.tokens(400, vocab: 11, seed: 8), path: "tokens")
        try trainer.train { rng in
            let batch = try corpus.decoderBatch(batchSize: 3, length: 12, seed: rng.next())
            return try training.step(trainer.step, input: batch, targets: nil, tokens: 36, rng: &rng)
        }
    }

    /// For each rule: stopped after 3 steps and resumed to 8, the weights, the rule's state and the log
    /// equal an uninterrupted run's bit for bit.
    func testResumeIsBitIdenticalForEachRule() throws {
        for kind in SamplingRuleKind.allCases {
            let (whole, wholeTraining) = try makeTraining(kind, run: folder.appendingPathComponent("\(kind)-whole"), steps: 8)
            try whole.prepare(resume: false)
            try wholeTraining.attach(to: whole)
            try run(whole, wholeTraining)

            let partRun = folder.appendingPathComponent("\(kind)-part")
            let (first, firstTraining) = try makeTraining(kind, run: partRun, steps: 8)
            try first.prepare(resume: false)
            try firstTraining.attach(to: first)
            first.shouldStop = { [unowned first] in first.step >= 3 }  // unowned: the trainer holds the closure
            try run(first, firstTraining)
            let (second, secondTraining) = try makeTraining(kind, run: partRun, steps: 8)
            try second.prepare(resume: true)
            try secondTraining.attach(to: second)
            XCTAssertEqual(second.step, 3)
            try run(second, secondTraining)
            XCTAssertEqual(whole.model.parameters.map(\.value.scalars), second.model.parameters.map(\.value.scalars), "\(kind)")
            XCTAssertEqual(wholeTraining.rule.state, secondTraining.rule.state, "\(kind)")
            // Every logged value but the timings.
            let log = { (run: URL) -> [JSONValue] in
                try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
                    guard case .object(var o) = try JSONValue(parsing: String(line)) else { return .null }
                    o["elapsed_s"] = nil; o["tokens_per_s"] = nil
                    return .object(o)
                }
            }
            XCTAssertEqual(try log(whole.run).count, 8)
            XCTAssertEqual(try log(whole.run), try log(partRun), "\(kind)")
            // The checkpoint is a supernet checkpoint that loads with its space.
            let loaded = try Supernet.load(from: try XCTUnwrap(TrainingCheckpoint.latest(in: partRun)))
            XCTAssertEqual(loaded.space, Self.decoderSpace)
            XCTAssertEqual(loaded.model.parameters.map(\.value.scalars), second.model.parameters.map(\.value.scalars))
        }
        if case .object(let state) = (try makeTraining(.complexity, run: folder, steps: 1)).1.rule.state {
            XCTAssertNotNil(state["probabilities"])
        } else { XCTFail("the complexity rule has a state") }
    }

    // MARK: - Scoring

    /// The supernet objective of a sub-network equals the loss of its extracted standalone model.
    func testSupernetObjectiveEqualsTheExtractedModelsLoss() throws {
        var rng = RandomGenerator(seed: 21)
        let supernet = try Supernet(space: Self.encoderSpace, rng: &rng)
        let (input, targets) = Self.encoderBatch()
        let objective = SupernetObjective(supernet: supernet, input: input, targets: targets)
        XCTAssertEqual(objective.spec, ObjectiveSpec(name: "supernet", maximize: false))
        for arch in [Self.encoderSpace.smallest, Self.encoderSpace.largest,
                     Self.encoderSpace.decode([1, 0, 1, 0])] {
            let (model, head) = supernet.extract(arch)
            let expected = LanguageModeling.maskedLoss(model(input).hidden, targets: targets, head: head!, embeddings: model.wordEmbeddings,
                                                       architecture: arch)
            XCTAssertEqual(try objective.evaluate(arch), Double(expected.item()), accuracy: 1e-6)
        }
        let outside = Architecture.uniform(.encoder, vocabSize: 13, maxPositions: 8, hidden: 16, depth: 1, heads: 2, ffn: 6)
        XCTAssertThrowsError(try objective.evaluate(outside)) { XCTAssertTrue("\($0)".contains("not a sub-network"), "\($0)") }

        var drng = RandomGenerator(seed: 3)
        let decoder = try Supernet(space: Self.decoderSpace, rng: &drng)
        let batch = TokenBatch(ids: Self.tokens(24, vocab: 11, seed: 4), batchSize: 2, length: 12)
        let arch = Self.decoderSpace.decode([1, 1, 2, 1, 0, 3, 0, 0])
        let (small, _) = decoder.extract(arch)
        let expected = CausalLMHead.loss(small(batch).hidden, batch: batch, embeddings: small.wordEmbeddings)
        XCTAssertEqual(try SupernetObjective(supernet: decoder, input: batch, targets: nil).evaluate(arch), Double(expected.item()),
                       accuracy: 1e-6)
    }

    /// Held-out chunks pool by their token counts: two one-row batches give the two-row batch's loss.
    func testEvaluationsPoolByTokenCount() throws {
        var rng = RandomGenerator(seed: 3)
        let decoder = try Supernet(space: Self.decoderSpace, rng: &rng)
        let ids = Self.tokens(24, vocab: 11, seed: 4)
        let both = TokenBatch(ids: ids, batchSize: 2, length: 12)
        let first = TokenBatch(ids: Array(ids[..<12]), batchSize: 1, length: 12)
        let second = TokenBatch(ids: Array(ids[12...]), batchSize: 1, length: 12)
        let arch = Self.decoderSpace.decode([1, 1, 2, 1, 0, 3, 0, 0])
        let a = try decoder.evaluation(of: arch, input: first, targets: nil), b = try decoder.evaluation(of: arch, input: second, targets: nil)
        let whole = try decoder.evaluation(of: arch, input: both, targets: nil)
        XCTAssertEqual(a.tokens, 11, "next-token targets: length − 1 per row")
        XCTAssertEqual(whole.tokens, a.tokens + b.tokens)
        XCTAssertEqual((a.loss * Double(a.tokens) + b.loss * Double(b.tokens)) / Double(whole.tokens), whole.loss, accuracy: 1e-5)
    }

    /// A member stacking fewer FFN layers than the largest (FlexiBERT's `num_feed_forward` 1 vs 3) runs as
    /// the supernet's first stacked layers and leading columns, equal to its extracted copy.
    func testFewerStackedFFNLayersEqualTheExtractedModel() throws {
        // A member without stacked layers reads the output projection's leading columns, so its FFN may not be
        // wider than the largest's last stacked layer: such a space is refused.
        var r = RandomGenerator(seed: 1)
        let tooWide = SearchSpace(name: "too-wide", family: .encoder, vocabSize: 13, maxPositions: 8, depth: [1], hidden: [8],
                                  layers: .shared, heads: [2], ffnRatio: [2], ffnCount: [1, 3], ffnStackWidth: [6, 10])
        XCTAssertThrowsError(try Supernet(space: tooWide, rng: &r))

        let space = SearchSpace(name: "tiny-stacks", family: .encoder, vocabSize: 13, maxPositions: 8, embeddingSize: 8,
                                depth: [1, 2], hidden: [8, 12], layers: .perLayer, heads: [2], ffnRatio: [1],
                                ffnCount: [1, 3], ffnStackWidth: [6, 12])
        XCTAssertEqual(space.largest.layers[0].ffnStack, [12, 12])
        var rng = RandomGenerator(seed: 5)
        let supernet = try Supernet(space: space, rng: &rng)
        let (input, targets) = Self.encoderBatch()
        let objective = SupernetObjective(supernet: supernet, input: input, targets: targets)
        // Layer 0 without stacked layers, layer 1 with two of width 6; hidden 8 (no embedding projection).
        let arch = space.decode([1, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        XCTAssertEqual(arch.layers.map(\.ffnStack), [[], [6, 6]])
        XCTAssertTrue(arch.fits(in: space.largest))
        let (model, head) = supernet.extract(arch)
        XCTAssertEqual(model.parameterElementCount, arch.parameterCount)
        let expected = LanguageModeling.maskedLoss(model(input).hidden, targets: targets, head: head!, embeddings: model.wordEmbeddings,
                                                   architecture: arch)
        XCTAssertEqual(try objective.evaluate(arch), Double(expected.item()), accuracy: 1e-6)
    }

    // MARK: - Operation choices

    /// Per layer SDP, WMA, DFT or a dynamic convolution, with 1 or 2 heads: every op has its own weights.
    static let operationSpace = SearchSpace(name: "tiny-operations", family: .encoder, vocabSize: 13, maxPositions: 8,
                                            depth: [1, 2], hidden: [8, 12], layers: .perLayer,
                                            operation: [.sdp, .wma, .dft, .dynamicConv(kernel: 3)], heads: [1, 2], ffn: [6, 10])

    /// A supernet whose layers choose among operations: each member's inherited-weight loss equals its
    /// extracted standalone model's, with exactly its own parameter count; parameter names are unique.
    func testOperationChoicesRunEveryMemberAsItsExtractedModel() throws {
        let space = Self.operationSpace
        var rng = RandomGenerator(seed: 8)
        let supernet = try Supernet(space: space, rng: &rng)
        let names = (supernet.model.parameters + supernet.head!.parameters).map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "unique parameter names")
        XCTAssertEqual(supernet.model.blocks[0].operations.count, 4)
        let (input, targets) = Self.encoderBatch()
        let objective = SupernetObjective(supernet: supernet, input: input, targets: targets)
        var seen = Set<Architecture.Operation>()
        for _ in 0..<24 {
            let arch = space.decode(space.sample(using: &rng))
            seen.formUnion(arch.layers.map(\.operation))
            XCTAssertTrue(supernet.model.holds(arch))
            let (model, head) = supernet.extract(arch)
            XCTAssertEqual(model.parameterElementCount, arch.parameterCount)
            let expected = LanguageModeling.maskedLoss(model(input).hidden, targets: targets, head: head!,
                                                       embeddings: model.wordEmbeddings, architecture: arch)
            XCTAssertEqual(try objective.evaluate(arch), Double(expected.item()), accuracy: 1e-5, "\(arch.layers.map(\.operation))")
        }
        XCTAssertEqual(seen.count, 4, "every operation drawn")
    }

    /// Operations share nothing: a step of an all-WMA member gives gradients to the WMA mixers (and the
    /// shared FFN) and none to any other operation's weights.
    func testOperationChoicesShareNoWeights() throws {
        final class One: SamplingRule {
            let arch: Architecture
            init(_ arch: Architecture) { self.arch = arch }
            var name: String { "one" }
            var inPlaceDistillation: Bool { false }
            func architectures(step: Int) -> [Architecture] { [arch] }
        }
        let space = Self.operationSpace
        var rng = RandomGenerator(seed: 9)
        let supernet = try Supernet(space: space, rng: &rng)
        var arch = space.largest
        for i in arch.layers.indices { arch.layers[i].operation = .wma; arch.layers[i].heads = 1 }
        XCTAssertTrue(supernet.model.holds(arch), "WMA with one head of 12 fits (fewest heads 1)")
        let (input, targets) = Self.encoderBatch()
        _ = try SupernetTraining(supernet: supernet, rule: One(arch)).step(0, input: input, targets: targets, tokens: 16, rng: &rng)
        for block in supernet.model.blocks {
            XCTAssertNotNil(block.intermediate.weight.grad)
            for (op, mixer) in zip(block.operations, block.mixers) {
                for p in mixer.parameters {
                    if op == .wma { XCTAssertNotNil(p.grad, p.name) } else { XCTAssertNil(p.grad, p.name) }
                }
            }
        }
    }

    /// WMA's per-head matrices are sized for the fewest heads a member may use; without operation choices
    /// a layer must keep the parent's operation.
    func testWMAHeadSizeBoundsWhatFits() {
        let parent = Architecture.uniform(.encoder, vocabSize: 13, maxPositions: 8, hidden: 12, depth: 1, heads: 2, ffn: 6)
        var child = parent
        child.layers[0].operation = .wma
        child.layers[0].heads = 1
        XCTAssertFalse(child.fits(in: parent))
        XCTAssertTrue(child.fits(in: parent, choices: OperationChoices(operations: [.sdp, .wma], fewestHeads: 1)))
        XCTAssertFalse(child.fits(in: parent, choices: OperationChoices(operations: [.sdp, .wma], fewestHeads: 2)))
        child.layers[0].heads = 2
        XCTAssertTrue(child.fits(in: parent, choices: OperationChoices(operations: [.sdp, .wma], fewestHeads: 2)))
        child.layers[0].operation = .dct
        XCTAssertFalse(child.fits(in: parent, choices: OperationChoices(operations: [.sdp, .wma], fewestHeads: 2)))
    }

    /// A supernet with operation choices checkpoints and loads back with every mixer's weights.
    func testOperationChoicesCheckpointLoadsBack() throws {
        let space = Self.operationSpace
        var rng = RandomGenerator(seed: 1)
        let supernet = try Supernet(space: space, rng: &rng)
        let rule = try SamplingRuleKind.sandwich.make(space: space, seed: 6, randomCount: 2)
        let options = TrainingOptions(steps: 2, learningRate: 3e-3, warmupSteps: 1, seed: 5, checkpointEvery: 100, logEvery: 1)
        let run = folder.appendingPathComponent("ops")
        let trainer = Trainer(run: run, options: options, model: supernet.model, extra: supernet.modules)
        let training = SupernetTraining(supernet: supernet, rule: rule)
        try trainer.prepare(resume: false)
        try training.attach(to: trainer)
        let (input, targets) = Self.encoderBatch()
        try trainer.train { rng in try training.step(trainer.step, input: input, targets: targets, tokens: 16, rng: &rng) }
        let loaded = try Supernet.load(from: try XCTUnwrap(TrainingCheckpoint.latest(in: run)))
        XCTAssertEqual(loaded.model.parameters.map(\.name), supernet.model.parameters.map(\.name))
        XCTAssertEqual(loaded.model.parameters.map(\.value.scalars), supernet.model.parameters.map(\.value.scalars))
    }

    func testANonSupernetCheckpointIsRefusedByName() throws {
        var rng = RandomGenerator(seed: 1)
        let model = Transformer(Self.decoderSpace.largest, rng: &rng)
        try Checkpoint.save(model, to: folder.appendingPathComponent("plain"))
        XCTAssertThrowsError(try Supernet.load(from: folder.appendingPathComponent("plain"))) {
            XCTAssertTrue("\($0)".contains("swiftnas_task.kind"), "\($0)")
        }
    }
}
