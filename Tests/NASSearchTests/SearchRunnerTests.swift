import Foundation
import XCTest
@testable import NASModels
@testable import NASSearch
import NASTensor

/// The study loop: durable trials, exact resume, constraints, failures and finalists.
final class SearchRunnerTests: XCTestCase {
    /// A synthetic objective (no model): deterministic in the architecture; fails on depth 3 when asked to.
    struct Synthetic: Objective {
        var failDepth3 = false
        var spec: ObjectiveSpec { ObjectiveSpec(name: "synthetic") }
        func evaluate(_ arch: Architecture) throws -> Double {
            if failDepth3 && arch.depth == 3 { throw ProxyError.unusableContext("synthetic failure") }
            return Double(arch.depth * arch.hidden + arch.layers[0].ffn / 7) + Double(arch.layers[0].qkv % 13)
        }
    }

    var folder: URL!
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func settings(strategy: String, constraints: [Constraint] = [Constraint(.params, max: 8e6)], seed: UInt64 = 3) -> StudySettings {
        StudySettings(space: SearchSpace.autoTinyBERT.json, strategy: strategy, objectives: [ObjectiveSpec(name: "synthetic")],
                      constraints: constraints, seed: seed, sequenceLength: 128)
    }

    func run(_ file: String, _ s: StudySettings, trials: Int, objective: Synthetic = Synthetic()) throws -> [Trial] {
        let study = try SQLiteStudyStorage.openOrCreate(at: folder.appendingPathComponent(file), settings: s)
        defer { study.close() }
        return try SearchRunner(space: .autoTinyBERT, objectives: [objective], settings: s).run(study: study, trials: trials)
    }

    /// Stopping after 17 trials and resuming gives the trials of an uninterrupted run, for every strategy.
    func testResumeFollowsTheUninterruptedTrajectory() throws {
        for strategy in SearchStrategies.names {
            let s = settings(strategy: strategy)
            let whole = try run("\(strategy)-whole.db", s, trials: 70)
            XCTAssertEqual(try run("\(strategy)-part.db", s, trials: 17).count, 17)
            let resumed = try run("\(strategy)-part.db", s, trials: 70)
            XCTAssertEqual(resumed.map(\.genome), whole.map(\.genome), strategy)
            XCTAssertEqual(resumed.map(\.objectives), whole.map(\.objectives), strategy)
            XCTAssertEqual(resumed.map(\.number), Array(0..<70))
            XCTAssertEqual(Set(resumed.map(\.architecture)).count, 70, "\(strategy): no trial repeated")
            for t in resumed { XCTAssertLessThanOrEqual(t.costs.params, 8_000_000, strategy) }
            // The stored study is the returned one.
            let reopened = try SQLiteStudyStorage.open(at: folder.appendingPathComponent("\(strategy)-part.db"), readOnly: true)
            XCTAssertEqual(try reopened.trials(), resumed)
            reopened.close()
        }
    }

    /// A writer killed while evaluating leaves its trial running; the resumed search re-runs it under its
    /// number (the lock proves the writer gone) and ends where an uninterrupted run ends.
    func testRunningTrialOfAKilledWriterIsRerunUnderItsNumber() throws {
        let s = settings(strategy: "ga")
        let whole = try run("whole.db", s, trials: 30)
        XCTAssertEqual(try run("part.db", s, trials: 17).count, 17)
        let killed = try SQLiteStudyStorage.open(at: folder.appendingPathComponent("part.db"))
        let next = whole[17]
        XCTAssertEqual(try killed.createTrial(genome: next.genome, architecture: next.architecture, costs: next.costs,
                                              worker: "host:1", limit: 30), .created(number: 17))
        killed.close()
        let resumed = try run("part.db", s, trials: 30)
        XCTAssertEqual(resumed.map(\.number), Array(0..<30))
        XCTAssertEqual(resumed.map(\.genome), whole.map(\.genome))
        XCTAssertEqual(resumed.map(\.objectives), whole.map(\.objectives))
        XCTAssertTrue(resumed.allSatisfy { $0.state == .complete })
    }

    func testFailedEvaluationsAreStoredAndTheSearchGoesOn() throws {
        let s = settings(strategy: "ga")
        let trials = try run("fail.db", s, trials: 40, objective: Synthetic(failDepth3: true))
        let failed = trials.filter { $0.architecture.depth == 3 }
        XCTAssertFalse(failed.isEmpty)
        for t in failed {
            XCTAssertEqual(t.state, .failed)
            XCTAssertTrue(t.objectives["synthetic"]!.isNaN)
            XCTAssertEqual(t.failure, "objective synthetic failed: \(ProxyError.unusableContext("synthetic failure"))", "the reason is kept")
        }
        XCTAssertTrue(trials.filter { $0.state == .complete }.allSatisfy { $0.failure == nil })
        XCTAssertTrue(trials.filter { $0.architecture.depth != 3 }.allSatisfy { $0.state == .complete })
        let runner = try SearchRunner(space: .autoTinyBERT, objectives: [Synthetic()], settings: s)
        XCTAssertEqual(runner.fitness(failed[0]), [-.infinity, -.infinity])
        XCTAssertNotEqual(runner.best(trials)?.state, .failed)
    }

    func testObjectivesMustMatchTheStudy() {
        struct Other: Objective {
            var spec: ObjectiveSpec { ObjectiveSpec(name: "other") }
            func evaluate(_ arch: Architecture) throws -> Double { 0 }
        }
        XCTAssertThrowsError(try SearchRunner(space: .autoTinyBERT, objectives: [Other()], settings: settings(strategy: "random")))
    }

    /// Finalists are re-measured; one whose measured latency breaks the budget leaves `best`.
    func testFinalistsAreRemeasuredAgainstTheLatencyBudget() throws {
        let tiny = try SearchSpace(json: try JSONValue(parsing: """
            {"name": "tiny", "family": "encoder", "vocabSize": 50, "maxPositions": 32, "depth": [1, 2],
             "hidden": [16, 32], "layers": "shared", "heads": [2], "ffn": [32, 64]}
            """), path: "tiny")
        let s = StudySettings(space: tiny.json, strategy: "random", objectives: [ObjectiveSpec(name: "synthetic")],
                              constraints: [Constraint(.latency, max: 1e-6)], seed: 1, sequenceLength: 16)
        let study = try SQLiteStudyStorage.create(at: folder.appendingPathComponent("lat.db"), settings: s)
        defer { study.close() }
        var rng = RandomGenerator(seed: 1)
        for n in 0..<3 {
            let g = tiny.sample(using: &rng), arch = tiny.decode(g)
            // Predicted inside the budget…
            try study.append(Trial(number: n, genome: g, architecture: arch, objectives: ["synthetic": Double(n)],
                                   costs: Costs(params: arch.parameterCount, flops: 1, latencyMs: 0), state: .complete, seconds: 0))
        }
        XCTAssertEqual(StudyReport.best(try study.trials(), settings: s, top: 3).count, 3)
        let runner = try SearchRunner(space: tiny, objectives: [Synthetic()], settings: s)
        // …measured far outside it.
        let kept = try runner.measureFinalists(study: study, meter: LatencyMeter(sequenceLength: 16, warmup: 0, runs: 1), count: 2)
        XCTAssertTrue(kept.isEmpty)
        let stored = try study.trials()
        XCTAssertTrue(stored.allSatisfy { ($0.costs.measuredLatencyMs ?? 0) > 1e-6 }, "every finalist measured and stored")
        XCTAssertTrue(StudyReport.best(stored, settings: s, top: 3).isEmpty)
    }

    /// The latency front is re-measured until every member is measured, unmeasured trials taking part at their
    /// prediction times the most the predictor has overestimated (r = min measured / predicted). Latencies (ms),
    /// predicted → measured: #0 (objective 3) 10 → 3, #1 (2) 8 → 6, #2 (1.5) 9 → 2, #3 (1) 100 → never measured.
    /// The predicted front {#1, #0} is measured first (r = 0.3); #2, dominated by #1 as predicted, is then
    /// measured at 2.7 ms optimistic, which beats #0's 3; #3 at 30 ms stays out. The front: #2 (2 ms), #0 (3 ms).
    func testParetoFrontIsRemeasuredUntilEveryMemberIsMeasured() throws {
        let tiny = try SearchSpace(json: try JSONValue(parsing: """
            {"name": "tiny", "family": "encoder", "vocabSize": 50, "maxPositions": 32, "depth": [1, 2],
             "hidden": [16, 32], "layers": "shared", "heads": [2], "ffn": [32, 64]}
            """), path: "tiny")
        let s = StudySettings(space: tiny.json, strategy: "random", objectives: [ObjectiveSpec(name: "synthetic")],
                              constraints: [], paretoCost: .latency, seed: 1, sequenceLength: 16)
        let study = try SQLiteStudyStorage.create(at: folder.appendingPathComponent("front.db"), settings: s)
        defer { study.close() }
        let shapes = [(1, 16), (2, 16), (1, 32), (2, 32)]
        let table: [(objective: Double, predicted: Double, measured: Double)] = [(3, 10, 3), (2, 8, 6), (1.5, 9, 2), (1, 100, 1)]
        for (n, (depth, hidden)) in shapes.enumerated() {
            let g = [depth - 1, hidden == 16 ? 0 : 1, 0, 0], arch = tiny.decode(g)
            XCTAssertEqual([arch.depth, arch.hidden], [depth, hidden])
            try study.append(Trial(number: n, genome: g, architecture: arch, objectives: ["synthetic": table[n].objective],
                                   costs: Costs(params: arch.parameterCount, flops: 1, latencyMs: table[n].predicted), state: .complete, seconds: 0))
        }
        XCTAssertEqual(StudyReport.paretoFront(try study.trials(), settings: s).map(\.number), [1, 0])
        let runner = try SearchRunner(space: tiny, objectives: [Synthetic()], settings: s)
        var measured: [Int] = []
        let front = try runner.measureFront(study: study) { arch in
            let n = shapes.firstIndex { $0 == (arch.depth, arch.hidden) }!
            measured.append(n)
            return table[n].measured
        }
        XCTAssertEqual(measured, [1, 0, 2])
        XCTAssertEqual(front.map(\.number), [2, 0])
        XCTAssertEqual(front.map { $0.costs.measuredLatencyMs }, [2, 3])
        XCTAssertEqual(try study.trials().filter { $0.costs.measuredLatencyMs != nil }.map(\.number).sorted(), [0, 1, 2])
    }
}
