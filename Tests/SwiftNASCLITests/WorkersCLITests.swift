import Foundation
import XCTest
import NASModels
import NASSearch

/// `swiftnas search` as four worker processes on one PostgreSQL study (the server `make test` starts,
/// named in SWIFTNAS_TEST_POSTGRES_URL; without it the test skips with a note): two workers are killed
/// with SIGKILL in the middle of a trial and the server is stopped and restarted mid-run, and the study
/// still ends with exactly the requested trials, no architecture twice, every failure with its reason.
final class WorkersCLITests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("workers-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A worker process with its output in a file (four of them would fill pipes nobody reads).
    func startWorker(_ arguments: [String], log: URL) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = try CLIProcess.executable
        p.arguments = arguments
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    /// Runs the test server's control script (`stop` or `start`).
    func server(_ command: String, script: String, dir: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: script)
        p.arguments = [command, dir]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "postgres-server.sh \(command)")
    }

    func testFourWorkersSurviveKilledWorkersAndAServerRestart() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let base = environment["SWIFTNAS_TEST_POSTGRES_URL"], let script = environment["SWIFTNAS_TEST_POSTGRES_SCRIPT"],
              let dir = environment["SWIFTNAS_TEST_POSTGRES_DIR"] else {
            throw XCTSkip("no PostgreSQL server: SWIFTNAS_TEST_POSTGRES_URL is unset (`make test` starts one)")
        }
        let url = "\(base)?study=workers-\(UUID().uuidString.prefix(8))"
        guard case .postgres(let address) = try StudyLocation(parsing: url) else { return XCTFail(url) }
        let space = try CLIProcess.write("""
            {"name": "workers", "family": "encoder", "vocabSize": 40, "maxPositions": 64, "depth": [1, 2, 3, 4],
             "hidden": [48, 64, 96, 128], "layers": "per-layer", "heads": [2, 4], "ffn": [64, 128, 192, 256]}
            """, "space.json", in: folder)
        let corpus = try CLIProcess.corpus(in: folder)
        let target = 40
        let arguments = ["search", "--space", space.path, "--objective", "w-pca", "--strategy", "ga", "--population", "8",
                         "--trials", String(target), "--seed", "7", "--study", url, "--corpus", corpus.path, "--sequence-length", "64",
                         "--batch-size", "8", "--threads", "1", "--max-params", "200000", "--out", folder.path,
                         "--heartbeat-timeout", "2", "--storage-retry", "90"]
        let logs = (0..<4).map { folder.appendingPathComponent("worker\($0).log") }
        var workers = try logs.map { try startWorker(arguments, log: $0) }
        defer { for w in workers where w.isRunning { kill(w.processIdentifier, SIGKILL) } }
        let host = ProcessInfo.processInfo.hostName

        func snapshot() -> [Trial] {
            guard let study = try? PostgresStudyStorage.open(address, readOnly: true) else { return [] }
            defer { study.close() }
            return (try? study.trials()) ?? []
        }
        func waitFor(_ what: String, timeout: Double = 240, _ condition: ([Trial]) -> Bool) {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if condition(snapshot()) { return }
                usleep(20_000)
            }
            XCTFail("timed out waiting for \(what)")
        }

        // Kill two workers, each while its trial runs (checked after the kill: the trial is left running).
        waitFor("6 complete trials") { $0.count { $0.state == .complete } >= 6 }
        var killed: [String] = []
        let killDeadline = Date().addingTimeInterval(120)
        while killed.count < 2 && Date() < killDeadline {
            let running = Set(snapshot().filter { $0.state == .running }.compactMap(\.worker))
            guard let victim = workers.first(where: { $0.isRunning && running.contains("\(host):\($0.processIdentifier)") }) else {
                usleep(10_000); continue
            }
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            let name = "\(host):\(victim.processIdentifier)"
            if snapshot().contains(where: { $0.state == .running && $0.worker == name }) { killed.append(name) }
            workers.removeAll { $0 === victim }
            if workers.count < 2 { workers.append(try startWorker(arguments, log: folder.appendingPathComponent("extra\(killed.count).log"))) }
        }
        XCTAssertEqual(killed.count, 2, "two workers killed mid-trial")

        // Stop the server mid-run and start it again.
        waitFor("18 complete trials") { $0.count { $0.state == .complete } >= 18 }
        try server("stop", script: script, dir: dir)
        usleep(1_500_000)
        try server("start", script: script, dir: dir)

        for w in workers { w.waitUntilExit() }
        var outputs = ""
        for log in try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil) where log.pathExtension == "log" {
            outputs += (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        for w in workers { XCTAssertEqual(w.terminationStatus, 0, outputs) }
        XCTAssertTrue(outputs.contains("database unreachable; retrying"), outputs)

        // The study as `study export` shows it.
        let (status, export) = try CLIProcess.run(["study", "export", url, "--format", "json"])
        XCTAssertEqual(status, 0, export)
        guard case .object(let top) = try JSONValue(parsing: export), case .array(let items)? = top["trials"] else {
            return XCTFail("unexpected export: \(export.prefix(300))")
        }
        let trials = try PostgresStudyStorage.open(address, readOnly: true).trials()
        XCTAssertEqual(items.count, trials.count)
        let complete = trials.filter { $0.state == .complete }
        XCTAssertEqual(complete.count, target, "exactly the requested trials")
        XCTAssertEqual(trials.count(where: \.counts), target)
        XCTAssertEqual(Set(complete.map(\.architecture)).count, target, "no architecture twice")
        XCTAssertEqual(trials.map(\.number), Array(0..<trials.count), "numbers without gaps")
        XCTAssertTrue(trials.allSatisfy { $0.state == .complete || $0.state == .failed }, "nothing left running or waiting")
        for case .object(let item) in items {
            guard item["state"] == .string("failed") else { continue }
            guard case .string(let reason)? = item["failure"] else { XCTFail("a failure without its reason: \(item)"); continue }
            XCTAssertFalse(reason.isEmpty)
        }
        for name in killed {
            let lost = trials.filter { $0.worker == name }
            XCTAssertTrue(lost.contains { $0.state == .failed && ($0.failure ?? "").contains("worker \(name) sent no heartbeat") },
                          "the killed worker's trial failed with the reason: \(lost.map { ($0.number, $0.state, $0.failure) })")
            for t in lost where t.state == .failed {
                // Follow the re-queued copies (a copy may itself have been taken by the other killed worker).
                var copy = try XCTUnwrap(t.requeuedAs.map { trials[$0] })
                while let next = copy.requeuedAs { copy = trials[next] }
                XCTAssertEqual(copy.genome, t.genome)
                XCTAssertEqual(copy.state, .complete, "the re-queued genome was evaluated")
            }
        }
    }

    /// A worker whose database cannot be reached retries with back-off for --storage-retry seconds, then
    /// exits non-zero saying so (no server needed: nothing listens on port 1).
    func testAnUnreachableDatabaseEndsTheWorkerWithAClearMessage() throws {
        let space = try CLIProcess.write("""
            {"name": "tiny", "family": "encoder", "vocabSize": 40, "maxPositions": 64, "depth": [1, 2], "hidden": [48, 64],
             "layers": "shared", "heads": [2], "ffn": [64, 128]}
            """, "space.json", in: folder)
        let start = Date()
        let (status, output) = try CLIProcess.run([
            "search", "--space", space.path, "--objective", "params", "--trials", "5", "--corpus", try CLIProcess.corpus(in: folder).path,
            "--sequence-length", "32", "--study", "postgresql://nobody@127.0.0.1:1/none?study=s", "--storage-retry", "2",
            "--out", folder.path,
        ])
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("database unreachable; retrying in 0.5 s"), output)
        XCTAssertTrue(output.contains("study postgresql://nobody@127.0.0.1:1/none?study=s: the database stayed unreachable for"), output)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 1.5, "it retried before giving up")
    }

    /// A wrong URL is refused naming the part at fault, before any work; the heartbeat flag is refused on an
    /// SQLite study (one writer, no heartbeats).
    func testBadStudyArgumentsAreRefusedNamingThePart() throws {
        let common = ["search", "--space", "autotinybert", "--trials", "5"]
        var (status, output) = try CLIProcess.run(common + ["--study", "postgresql://nas@127.0.0.1:5432/studies"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("no study name (add ?study=NAME)"), output)
        (status, output) = try CLIProcess.run(common + ["--study", "postgresql://nas:secret@127.0.0.1:70000/s?study=a"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("port '70000' is not a number from 1 to 65535"), output)
        // The argument parser quotes the argument as typed; SwiftNAS's own message hides the password.
        XCTAssertTrue(output.contains("--study postgresql://nas:***@127.0.0.1:70000/s?study=a: port"), output)
        (status, output) = try CLIProcess.run(common + ["--study", folder.appendingPathComponent("s.db").path, "--heartbeat-timeout", "5"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--heartbeat-timeout applies to a PostgreSQL study"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("s.db").path))
    }
}
