import Foundation
import XCTest
@testable import NASModels
@testable import NASSearch
import NASTensor

/// The PostgreSQL storage against a real server: `make test` starts one (Tests/postgres-server.sh) and
/// names it in SWIFTNAS_TEST_POSTGRES_URL; without it these tests skip with a note.
final class PostgresStudyTests: XCTestCase {
    /// A new study name on the test server, or a skip.
    func address(_ name: String = #function) throws -> PostgresAddress {
        guard let base = ProcessInfo.processInfo.environment["SWIFTNAS_TEST_POSTGRES_URL"] else {
            throw XCTSkip("no PostgreSQL server: SWIFTNAS_TEST_POSTGRES_URL is unset (`make test` starts one)")
        }
        let study = name.filter { $0.isLetter } + "-" + UUID().uuidString.prefix(8)
        guard case .postgres(let address) = try StudyLocation(parsing: "\(base)?study=\(study)") else { throw XCTSkip("not a URL") }
        return address
    }

    func settings(strategy: String = "ga", seed: UInt64 = 3) -> StudySettings {
        StudySettings(space: SearchSpace.autoTinyBERT.json, strategy: strategy, populationSize: 10,
                      objectives: [ObjectiveSpec(name: "synthetic")], constraints: [Constraint(.params, max: 8e6)], seed: seed,
                      sequenceLength: 128)
    }

    func studyError(_ body: () throws -> Void) -> StudyError? {
        do { try body() } catch let e as StudyError { return e } catch { XCTFail("not a StudyError: \(error)") }
        return nil
    }

    func testCreateJoinAndCheckSettingsAsOnResume() throws {
        let address = try self.address()
        let first = try PostgresStudyStorage.openOrCreate(address, settings: settings(), heartbeatTimeout: 5)
        defer { first.close() }
        XCTAssertEqual(first.heartbeatTimeout, 5)
        let joined = try PostgresStudyStorage.openOrCreate(address, settings: settings(), heartbeatTimeout: nil)
        XCTAssertEqual(joined.heartbeatTimeout, 5, "a worker without the flag takes the stored timeout")
        XCTAssertEqual(joined.studyID, first.studyID)
        joined.close()
        let seed = studyError { _ = try PostgresStudyStorage.openOrCreate(address, settings: self.settings(seed: 4), heartbeatTimeout: nil) }
        XCTAssertEqual(seed?.kind, .settingsMismatch)
        XCTAssertTrue(seed?.message.contains("seed 3, not 4") ?? false, seed?.message ?? "")
        let timeout = studyError { _ = try PostgresStudyStorage.openOrCreate(address, settings: self.settings(), heartbeatTimeout: 9) }
        XCTAssertTrue(timeout?.message.contains("--heartbeat-timeout 5.0, not 9.0") ?? false, timeout?.message ?? "")
        var other = address
        other.study = "no-such-study"
        let missing = studyError { _ = try PostgresStudyStorage.open(other, readOnly: true) }
        XCTAssertEqual(missing?.kind, .notFound)
        XCTAssertTrue(missing?.message.contains(address.study) ?? false, "names the studies there: \(missing?.message ?? "")")
        let reader = try StudyStorages.openForReading(.postgres(address))
        XCTAssertEqual(reader.settings, settings())
        XCTAssertEqual(studyError { _ = try reader.createTrial(genome: [0], architecture: SearchSpace.autoTinyBERT.largest,
                                                               costs: Costs(params: 1, flops: 1), worker: "w", limit: 9) }?.kind, .readOnly)
        reader.close()
    }

    /// Create, take, fill, heartbeat, fail stale, re-queue, claim — the life of a trial across workers.
    func testTrialLifecycleAcrossWorkers() throws {
        let address = try self.address()
        let a = try PostgresStudyStorage.openOrCreate(address, settings: settings(), heartbeatTimeout: 0.3)
        let b = try PostgresStudyStorage.openOrCreate(address, settings: settings(), heartbeatTimeout: nil)
        defer { a.close(); b.close() }
        let space = SearchSpace.autoTinyBERT
        var rng = RandomGenerator(seed: 1)
        let genomes = (0..<3).map { _ in space.sample(using: &rng) }
        let costs = Costs(params: 10, flops: 20)
        XCTAssertEqual(try a.createTrial(genome: genomes[0], architecture: space.decode(genomes[0]), costs: costs, worker: "a", limit: 2),
                       .created(number: 0))
        XCTAssertEqual(try a.createTrial(genome: genomes[0], architecture: space.decode(genomes[0]), costs: costs, worker: "a", limit: 2),
                       .created(number: 0), "a retried creation finds its own trial")
        XCTAssertEqual(try b.createTrial(genome: genomes[0], architecture: space.decode(genomes[0]), costs: costs, worker: "b", limit: 2),
                       .taken(byTrial: 0))
        XCTAssertEqual(try b.createTrial(genome: genomes[1], architecture: space.decode(genomes[1]), costs: costs, worker: "b", limit: 2),
                       .created(number: 1))
        XCTAssertEqual(try b.createTrial(genome: genomes[2], architecture: space.decode(genomes[2]), costs: costs, worker: "b", limit: 2),
                       .full)
        // b keeps its trial alive; a's goes stale.
        for _ in 0..<5 { usleep(100_000); try b.heartbeat(trial: 1, worker: "b") }
        XCTAssertEqual(try b.failStaleTrials(), [0])
        var trials = try b.trials()
        XCTAssertEqual(trials.map(\.state), [.failed, .running, .waiting])
        XCTAssertEqual(trials[0].requeuedAs, 2)
        XCTAssertTrue(trials[0].failure?.hasPrefix("worker a sent no heartbeat for") ?? false, trials[0].failure ?? "")
        XCTAssertTrue(trials[0].failure?.hasSuffix("re-queued as trial 2") ?? false, trials[0].failure ?? "")
        XCTAssertEqual(trials[2].genome, genomes[0])
        XCTAssertFalse(trials[0].counts)
        // The late result of the stale trial is refused; the waiting copy is claimed once.
        let late = Trial(number: 0, genome: genomes[0], architecture: space.decode(genomes[0]), objectives: ["synthetic": 1],
                         costs: costs, state: .complete, seconds: 1)
        XCTAssertFalse(try a.finishTrial(late, worker: "a"))
        let claimed = try a.claimWaitingTrial(worker: "a2")
        XCTAssertEqual(claimed?.number, 2)
        XCTAssertEqual(claimed?.worker, "a2")
        XCTAssertNil(try b.claimWaitingTrial(worker: "b"))
        var done = late
        done.number = 2
        XCTAssertFalse(try a.finishTrial(done, worker: "a"), "only the worker holding it may finish it")
        XCTAssertTrue(try a.finishTrial(done, worker: "a2"))
        XCTAssertTrue(try a.finishTrial(done, worker: "a2"), "a retried finish whose first attempt was stored succeeds")
        trials = try a.trials()
        XCTAssertEqual(trials.map(\.state), [.failed, .running, .complete])
        XCTAssertEqual(trials[2].objectives, ["synthetic": 1])
        XCTAssertEqual(try b.trials(from: 1).map(\.number), [1, 2], "a worker re-reads from its oldest unfinished trial")
        // Latency samples, all or none.
        try a.appendLatencySamples([(space.decode(genomes[1]), 1.5), (space.decode(genomes[2]), 2.5)])
        XCTAssertEqual(try b.latencySamples().map(\.1), [1.5, 2.5])
        XCTAssertEqual(try b.latencySamples().map(\.0), [space.decode(genomes[1]), space.decode(genomes[2])])
    }

    /// One worker on a new PostgreSQL study proposes exactly what the one-writer SQLite search proposes.
    func testOneWorkerFollowsTheSQLiteTrajectory() throws {
        let address = try self.address()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for strategy in SearchStrategies.names {
            let s = settings(strategy: strategy)
            var named = address
            named.study += "-" + strategy
            let sqlite = try SQLiteStudyStorage.create(at: folder.appendingPathComponent("\(strategy).db"), settings: s)
            let postgres = try PostgresStudyStorage.openOrCreate(named, settings: s, heartbeatTimeout: 30)
            defer { sqlite.close(); postgres.close() }
            let alone = try SearchRunner(space: .autoTinyBERT, objectives: [SearchRunnerTests.Synthetic()], settings: s).run(study: sqlite, trials: 35)
            let worker = try SearchRunner(space: .autoTinyBERT, objectives: [SearchRunnerTests.Synthetic()], settings: s).run(study: postgres, trials: 35)
            XCTAssertEqual(worker.map(\.genome), alone.map(\.genome), strategy)
            XCTAssertEqual(worker.map(\.objectives), alone.map(\.objectives), strategy)
        }
    }

    /// Four workers (threads, one connection each) on one study: exactly the requested trials, numbers
    /// without gaps, no architecture twice.
    func testConcurrentWorkersNeverShareATrial() throws {
        let address = try self.address()
        let s = settings(strategy: "regularized-evolution")
        _ = try PostgresStudyStorage.openOrCreate(address, settings: s, heartbeatTimeout: 30)
        final class Failures: @unchecked Sendable { let lock = NSLock(); var items: [String] = [] }
        let group = DispatchGroup()
        let failures = Failures()
        for _ in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let storage = try PostgresStudyStorage.openOrCreate(address, settings: s, heartbeatTimeout: nil)
                    defer { storage.close() }
                    try SearchRunner(space: .autoTinyBERT, objectives: [SearchRunnerTests.Synthetic()], settings: s).run(study: storage, trials: 60)
                } catch {
                    failures.lock.lock(); failures.items.append("\(error)"); failures.lock.unlock()
                }
            }.start()
        }
        group.wait()
        XCTAssertEqual(failures.items, [])
        let trials = try PostgresStudyStorage.open(address, readOnly: true).trials()
        XCTAssertEqual(trials.map(\.number), Array(0..<60))
        XCTAssertTrue(trials.allSatisfy { $0.state == .complete })
        XCTAssertEqual(Set(trials.map(\.architecture)).count, 60)
    }

    /// An unreachable server: `.unavailable` at once when opening; the search loop retries with back-off,
    /// then gives up with a message naming the study and how long it tried.
    func testUnreachableServerIsRetriedThenReported() throws {
        var address = try self.address()
        let storage = try PostgresStudyStorage.openOrCreate(address, settings: settings(), heartbeatTimeout: 30)
        storage.close()
        address.port = 1   // nothing listens there
        let refused = studyError { _ = try PostgresStudyStorage.open(address, readOnly: true) }
        XCTAssertEqual(refused?.kind, .unavailable)
        XCTAssertTrue(refused?.message.contains("unreachable") ?? false, refused?.message ?? "")

        let runner = try SearchRunner(space: .autoTinyBERT, objectives: [SearchRunnerTests.Synthetic()], settings: settings())
        runner.retrySeconds = 1.2
        var notes: [String] = []
        runner.onNote = { notes.append($0) }
        var attempts = 0
        XCTAssertThrowsError(try runner.retrying(storage) { () -> Int in
            attempts += 1
            throw refused!
        }) { error in
            XCTAssertTrue("\(error)".contains("stayed unreachable"), "\(error)")
        }
        XCTAssertEqual(attempts, 2, "0.5 s, then 1 s would pass the 1.2 s budget")
        XCTAssertEqual(notes.count, 1)
    }
}
