import Foundation
import XCTest
import NASModels
@testable import NASSearch
import NASText
import NASTrain
import NASTensor

/// The LINAS loop's parts: ridge and RBF kernel regression against closed forms, cross-validated model choice,
/// and the strategy — random first, then the predicted Pareto set, never a genome twice, reproducible, and better
/// than random search with the same number of measurements on a fitness its predictor can learn.
final class LINASTests: XCTestCase {
    func testCholeskySolvesBySubstitution() {
        // [[4, 2], [2, 3]]·z = [2, 5] → z = [−0.5, 2].
        let z = FitnessRegression.choleskySolve([4, 2, 2, 3], [2, 5], n: 2)
        XCTAssertEqual(z[0], -0.5, accuracy: 1e-12)
        XCTAssertEqual(z[1], 2, accuracy: 1e-12)
    }

    func testRidgeRecoversALinearFunctionAndRBFInterpolates() {
        var rng = RandomGenerator(seed: 1)
        let x = (0..<40).map { _ in (0..<3).map { _ in Double(rng.uniform()) } }
        let linear = x.map { 2 * $0[0] - $0[1] + 0.5 * $0[2] + 3 }
        let ridge = FitnessRegression.fit(.ridge, x: x, y: linear, lambda: 1e-9)
        for (row, y) in zip(x, linear) { XCTAssertEqual(ridge.predict(row), y, accuracy: 1e-6) }
        XCTAssertEqual(ridge.predict([0, 0, 0]), 3, accuracy: 1e-6, "the bias, not penalised")
        // Kernel ridge with a tiny λ passes through its training points.
        let wavy = x.map { sin(6 * $0[0]) + $0[1] * $0[2] }
        let rbf = FitnessRegression.fit(.rbf, x: x, y: wavy, lambda: 1e-8, gamma: 3)
        for (row, y) in zip(x, wavy) { XCTAssertEqual(rbf.predict(row), y, accuracy: 1e-3) }
        // Cross-validation prefers the linear model for linear data and the kernel for a wave ridge cannot follow.
        XCTAssertEqual(FitnessRegression.select(x: x, y: linear).model.kind, .ridge)
        let wave = x.map { sin(9 * $0[0]) }
        let chosen = FitnessRegression.select(x: x, y: wave)
        XCTAssertEqual(chosen.model.kind, .rbf)
        XCTAssertLessThan(chosen.errors[.rbf]!, chosen.errors[.ridge]!)
    }

    static let space = SupernetTests.decoderSpace
    /// A fitness linear in the genome's vector (the ridge predictor learns it exactly), and the negated parameter count.
    static func fitness(_ g: Genome) -> [Double] {
        let v = space.vector(g)
        return [v.enumerated().reduce(0) { $0 + ($1.offset % 2 == 0 ? 1 : -1) * $1.element }, -Double(space.decode(g).parameterCount) / 1e3]
    }

    func run(_ strategy: SearchStrategy, trials: Int) throws -> [(Genome, [Double])] {
        var history: [(Genome, [Double])] = []
        for _ in 0..<trials {
            let g = try strategy.ask { g in !history.contains { $0.0 == g } }
            let f = Self.fitness(g)
            strategy.tell(g, fitness: f)
            history.append((g, f))
        }
        return history
    }

    func testLINASProposesThePredictedFrontAfterItsRandomStart() throws {
        let linas = LINAS(space: Self.space, seed: 4, initial: 20, batch: 5, populationSize: 20, generations: 10)
        let history = try run(linas, trials: 40)
        XCTAssertEqual(Set(history.map(\.0)).count, 40, "never a genome twice")
        XCTAssertEqual(linas.rounds.count, 4, "a round per 5 proposals after the first 20")
        XCTAssertTrue(linas.rounds.allSatisfy { $0.predictors[0].kind == .ridge }, "a linear fitness: the ridge predictor is chosen")
        // Each later round scores the previous predictor on the 5 members measured since: a linear fitness is ranked
        // nearly exactly (τ-b stays below 1 only where measured values tie).
        XCTAssertNil(linas.rounds[0].heldOut)
        for round in linas.rounds.dropFirst() {
            XCTAssertEqual(round.heldOut?.count, 5)
            XCTAssertGreaterThan(round.heldOut?.tau ?? 0, 0.8)
        }
        // The same seed gives the same proposals.
        let again = try run(LINAS(space: Self.space, seed: 4, initial: 20, batch: 5, populationSize: 20, generations: 10), trials: 40)
        XCTAssertEqual(history.map(\.0), again.map(\.0))
        // The proposals after the start beat random search's best with the same 40 measurements.
        let random = try run(RandomSearch(space: Self.space, seed: 4), trials: 40)
        let best = { (h: [(Genome, [Double])]) in h.map { $0.1[0] }.max()! }
        XCTAssertGreaterThan(best(Array(history.dropFirst(20))), best(random))
        XCTAssertGreaterThan(best(Array(history.dropFirst(20))), best(Array(history.prefix(20))))
    }
}

/// InstaTune's objective: a member's dev metric with inherited weights equals the metric of its extracted model
/// under the same head; a member of another width, or one the model does not hold, fails; a space that does not fit
/// the checkpoint is named by its dimension.
final class TaskAccuracyObjectiveTests: XCTestCase {
    func testAMembersMetricIsItsExtractedModelsMetric() throws {
        var rng = RandomGenerator(seed: 2)
        let full = Architecture(family: .encoder, vocabSize: 13, maxPositions: 8, hidden: 12,
                                layers: Array(repeating: .init(heads: 2, qkv: 12, ffn: 16), count: 3))
        let model = Transformer(full, rng: &rng)
        for p in model.parameters { p.value = p.value * 20 }   // members that disagree
        let head = SequenceClassificationHead(full, numLabels: 2, rng: &rng)
        let (input, _) = SupernetTests.encoderBatch()
        var labelRNG = RandomGenerator(seed: 3)
        let batches = [GLUEBatch(tokens: input, labels: (0..<2).map { _ in Float(labelRNG.next() % 2) }, exampleIndices: [0, 1])]
        let space = SearchSpace(name: "elastic", family: .encoder, vocabSize: 13, maxPositions: 8, depth: [1, 2, 3], hidden: [12],
                                layers: .perLayer, blocks: [.init(heads: 1, qkv: 6, ffn: 8), .init(heads: 2, qkv: 12, ffn: 16)])
        let objective = TaskAccuracyObjective(model: TaskModel(model: model, head: head, task: .sst2), space: space, batches: batches)
        XCTAssertTrue(objective.spec.maximize)
        var sampler = RandomGenerator(seed: 4)
        for _ in 0..<8 {
            let arch = space.decode(space.sample(using: &sampler))
            let alone = TaskModel(model: model.extract(arch), head: head, task: .sst2)
            XCTAssertEqual(try objective.evaluate(arch), alone.evaluate(batches)["accuracy"]!)
            XCTAssertEqual(alone.logits(batches[0]).scalars, objective.model.logits(batches[0], architecture: arch).scalars)
        }
        var narrow = space.smallest
        narrow.hidden = 6
        XCTAssertThrowsError(try objective.evaluate(narrow))
        XCTAssertNil(TaskAccuracyObjective.misfit(space, in: full))
        var deep = space
        deep.depth = [4]
        XCTAssertEqual(TaskAccuracyObjective.misfit(deep, in: full)?.hasPrefix("depth"), true)
        var wide = space
        wide.hidden = [16]
        XCTAssertEqual(TaskAccuracyObjective.misfit(wide, in: full)?.hasPrefix("hidden"), true)
    }
}
