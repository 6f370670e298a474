import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NASModels
@testable import NASSearch
import XCTest

/// Study storage (SQLite) and the study reports, in a fresh temporary folder per test.
final class StudyTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-study-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: - Fixtures

    private func settings(seed: UInt64 = 1, maxParams: Double = 10_000_000, maximize: Bool = true,
                          objective: String = "w-pca") -> StudySettings {
        StudySettings(space: .object(["name": .string("tiny"), "depth": .array([.int(2), .int(4)]), "ratio": .double(1.0)]),
                      strategy: "random", objectives: [ObjectiveSpec(name: objective, maximize: maximize)],
                      constraints: [Constraint(.params, max: maxParams)], paretoCost: .params, seed: seed,
                      sequenceLength: 128, evaluation: ["batch": "8", "corpus": "wikitext-2"])
    }

    private func arch(hidden: Int = 64, depth: Int = 2) -> Architecture {
        Architecture.uniform(.encoder, vocabSize: 1000, maxPositions: 128, hidden: hidden, depth: depth, heads: 2,
                             ffn: 4 * hidden)
    }

    private func trial(_ number: Int, _ value: Double, params: Int, state: Trial.State = .complete,
                       objective: String = "w-pca") -> Trial {
        Trial(number: number, genome: [number % 3, 1, 0], architecture: arch(hidden: 32 * (number % 4 + 1)),
              objectives: [objective: value], costs: Costs(params: params, flops: 10 * params), state: state,
              seconds: 0.25 * Double(number + 1))
    }

    private func url(_ name: String = "s.db") -> URL { dir.appendingPathComponent(name) }

    /// Runs `body`, which must throw a `StudyError`, and returns it.
    private func studyError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> StudyError? {
        do {
            try body()
            XCTFail("expected a StudyError, nothing was thrown", file: file, line: line)
        } catch let error as StudyError {
            return error
        } catch {
            XCTFail("expected a StudyError, got \(type(of: error)): \(error)", file: file, line: line)
        }
        return nil
    }

    /// Writes raw SQL into a study (or any SQLite file), bypassing `SQLiteStudyStorage`.
    private func sql(_ statements: String, at url: URL) throws {
        let db = try SQLiteConnection(path: url.path, mode: .create)
        defer { db.close() }
        try db.exec(statements)
    }

    // MARK: - Round trips

    func testTrialsRoundTripIncludingFailedTrialAndMeasuredLatency() throws {
        let study = try SQLiteStudyStorage.create(at: url(), settings: settings())
        var failed = trial(2, .nan, params: 3_000_000, state: .failed)
        failed.objectives["other"] = .infinity
        var predicted = trial(1, 4.5, params: 2_000_000)
        predicted.costs.latencyMs = 3.25
        let stored = [trial(0, 12.125, params: 1_234_567), predicted, failed]
        for t in stored { try study.append(t) }
        var measured = predicted.costs
        measured.measuredLatencyMs = 3.5
        try study.updateCosts(of: 1, measured)
        study.close()

        let reopened = try SQLiteStudyStorage.open(at: url(), readOnly: true)
        let read = try reopened.trials()
        XCTAssertEqual(read.count, 3)
        XCTAssertEqual(read[0], stored[0])
        XCTAssertEqual(read[1].costs, Costs(params: 2_000_000, flops: 20_000_000, latencyMs: 3.25, measuredLatencyMs: 3.5))
        XCTAssertEqual(read[1].objectives, ["w-pca": 4.5])
        XCTAssertEqual(read[2].state, .failed)
        XCTAssertEqual(read[2].architecture, failed.architecture)
        XCTAssertEqual(read[2].genome, failed.genome)
        XCTAssertEqual(read[2].seconds, 0.75)
        XCTAssertEqual(Set(read[2].objectives.keys), ["w-pca", "other"])
        XCTAssertTrue(read[2].objectives["w-pca"]!.isNaN)
        XCTAssertTrue(read[2].objectives["other"]!.isNaN, "non-finite values are stored as null and read as NaN")
        XCTAssertEqual(reopened.settings, settings())
    }

    func testSettingsRoundTripExactly() throws {
        var s = settings(seed: UInt64.max)
        s.constraints = [Constraint(.params, min: 1e6, max: 1e7), Constraint(.latency, max: 2.5)]
        s.paretoCost = .latency
        s.evaluation = [:]
        try SQLiteStudyStorage.create(at: url(), settings: s).close()
        let study = try SQLiteStudyStorage.open(at: url())
        XCTAssertEqual(study.settings, s)
        XCTAssertEqual(study.settings.space, .object(["name": .string("tiny"), "depth": .array([.int(2), .int(4)]),
                                                      "ratio": .double(1.0)]), "the space JSON is kept verbatim")
    }

    func testAppendRefusesGapsAndDuplicates() throws {
        let study = try SQLiteStudyStorage.create(at: url(), settings: settings())
        try study.append(trial(0, 1, params: 100))
        let gap = studyError { try study.append(self.trial(2, 1, params: 100)) }
        XCTAssertEqual(gap?.kind, .invalidTrial)
        XCTAssertTrue(gap?.message.contains("cannot store trial 2, the next trial is 1") ?? false, gap?.message ?? "")
        let duplicate = studyError { try study.append(self.trial(0, 1, params: 100)) }
        XCTAssertEqual(duplicate?.kind, .invalidTrial)
        XCTAssertTrue(duplicate?.message.contains("already has trial 0") ?? false, duplicate?.message ?? "")
        let negative = studyError { try study.append(self.trial(-1, 1, params: 100)) }
        XCTAssertEqual(negative?.kind, .invalidTrial)
        try study.append(trial(1, 2, params: 100))
        XCTAssertEqual(try study.trials().map(\.number), [0, 1])
        XCTAssertEqual(try study.nextTrialNumber(), 2)

        let missing = studyError { try study.updateCosts(of: 7, Costs(params: 1, flops: 1)) }
        XCTAssertEqual(missing?.message, "study \(url().path) has no trial 7")
        let nan = studyError { var t = self.trial(2, 1, params: 1); t.seconds = .nan; try study.append(t) }
        XCTAssertEqual(nan?.kind, .invalidTrial)
        XCTAssertEqual(try study.nextTrialNumber(), 2, "a refused trial stores nothing")
    }

    func testReadOnlyAndClosedStudiesRefuseWrites() throws {
        try SQLiteStudyStorage.create(at: url(), settings: settings()).close()
        let readOnly = try SQLiteStudyStorage.open(at: url(), readOnly: true)
        let error = studyError { try readOnly.append(self.trial(0, 1, params: 1)) }
        XCTAssertEqual(error?.kind, .readOnly)
        XCTAssertTrue(error?.message.contains("read-only") ?? false)
        readOnly.close()
        XCTAssertEqual(studyError { _ = try readOnly.trials() }?.kind, .closed)
    }

    /// One writer at a time: a second writable open (here in the same process: flock locks belong to the
    /// open file description) is refused, naming the file and the holder, and leaves the file as it was;
    /// readers still open; once the writer closes, another writer may open.
    func testASecondWriterIsRefusedUntilTheFirstCloses() throws {
        let writer = try SQLiteStudyStorage.create(at: url(), settings: settings())
        try writer.append(trial(0, 1.5, params: 10))
        let before = try Data(contentsOf: url())
        let refused = studyError { _ = try SQLiteStudyStorage.open(at: self.url()) }
        XCTAssertEqual(refused?.kind, .locked)
        XCTAssertTrue(refused?.message.contains("\(url().relativePath) is open for writing by another process") ?? false, "\(String(describing: refused))")
        XCTAssertTrue(refused?.message.contains("(this process)") ?? false, "the holder is named: \(String(describing: refused))")
        XCTAssertTrue(refused?.message.contains("PostgreSQL") ?? false)
        XCTAssertEqual(studyError { _ = try SQLiteStudyStorage.openOrCreate(at: self.url(), settings: self.settings()) }?.kind, .locked)
        XCTAssertEqual(try Data(contentsOf: url()), before, "the refused opens left the file unchanged")
        let reader = try SQLiteStudyStorage.open(at: url(), readOnly: true)
        XCTAssertEqual(try reader.trials().count, 1)
        // The writer still writes while a refused writer and a reader came and went.
        try writer.append(trial(1, 2.5, params: 20))
        reader.close()
        writer.close()
        let next = try SQLiteStudyStorage.open(at: url())
        XCTAssertEqual(try next.trials().count, 2)
        next.close()
    }

    func testReopenSeesEverythingAndCommittedTrialsAreVisibleAtOnce() throws {
        let writer = try SQLiteStudyStorage.create(at: url(), settings: settings())
        try writer.append(trial(0, 1.5, params: 10))
        // A second connection (as `study show` during a search) sees the committed trial immediately.
        let reader = try SQLiteStudyStorage.open(at: url(), readOnly: true)
        XCTAssertEqual(try reader.trials().map(\.number), [0])
        let samples = [(arch(hidden: 32), 1.25), (arch(hidden: 64, depth: 3), 2.5)]
        try writer.appendLatencySamples(samples)
        try writer.append(trial(1, 2.5, params: 20))
        XCTAssertEqual(try reader.trials().count, 2)
        reader.close()
        writer.close()

        let again = try SQLiteStudyStorage.open(at: url())
        XCTAssertEqual(try again.trials(), [trial(0, 1.5, params: 10), trial(1, 2.5, params: 20)])
        let read = try again.latencySamples()
        XCTAssertEqual(read.map(\.0), samples.map(\.0))
        XCTAssertEqual(read.map(\.1), [1.25, 2.5])
        try again.append(trial(2, 3, params: 30))
        XCTAssertEqual(try again.trials().count, 3)
        XCTAssertEqual(studyError { try again.appendLatencySamples([(self.arch(), .nan)]) }?.kind, .invalidTrial)
        XCTAssertEqual(try again.latencySamples().count, 2)
    }

    func testCreateIsAtomicAndRefusesAnExistingFile() throws {
        try SQLiteStudyStorage.create(at: url(), settings: settings()).close()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["s.db"],
                       "no temporary or journal file is left beside the study")
        let error = studyError { _ = try SQLiteStudyStorage.create(at: self.url(), settings: self.settings()) }
        XCTAssertEqual(error?.kind, .alreadyExists)
        XCTAssertTrue(error?.message.contains("already exists") ?? false)
        let noFolder = studyError { _ = try SQLiteStudyStorage.create(at: self.dir.appendingPathComponent("none/s.db"), settings: self.settings()) }
        XCTAssertTrue(noFolder?.message.contains("does not exist") ?? false, noFolder?.message ?? "")
    }

    func testOpenOrCreateRefusesChangedSettingsNamingTheField() throws {
        let created = try SQLiteStudyStorage.openOrCreate(at: url(), settings: settings(seed: 1))
        try created.append(trial(0, 1, params: 1))
        created.close()

        let seed = studyError { _ = try SQLiteStudyStorage.openOrCreate(at: self.url(), settings: self.settings(seed: 2)) }
        XCTAssertEqual(seed?.kind, .settingsMismatch)
        XCTAssertEqual(seed?.message, "study \(url().path) was created with seed 1, not 2; use another --study file or the same settings")
        let budget = studyError { _ = try SQLiteStudyStorage.openOrCreate(at: self.url(), settings: self.settings(maxParams: 5e6)) }
        XCTAssertTrue(budget?.message.contains("created with constraints params ≤ 10M, not params ≤ 5M") ?? false,
                      budget?.message ?? "")
        let direction = studyError { _ = try SQLiteStudyStorage.openOrCreate(at: self.url(), settings: self.settings(maximize: false)) }
        XCTAssertTrue(direction?.message.contains("objectives w-pca (maximized), not w-pca (minimized)") ?? false,
                      direction?.message ?? "")
        var evaluation = settings()
        evaluation.evaluation["batch"] = "16"
        let batch = studyError { _ = try SQLiteStudyStorage.openOrCreate(at: self.url(), settings: evaluation) }
        XCTAssertTrue(batch?.message.contains("evaluation batch = \"8\", not \"16\"") ?? false, batch?.message ?? "")

        let resumed = try SQLiteStudyStorage.openOrCreate(at: url(), settings: settings(seed: 1))
        XCTAssertEqual(try resumed.trials().count, 1)
    }

    // MARK: - Foreign and damaged files

    func testMissingFile() {
        let error = studyError { _ = try SQLiteStudyStorage.open(at: self.url("none.db")) }
        XCTAssertEqual(error?.kind, .notFound)
        XCTAssertEqual(error?.message, "study \(url("none.db").path): file not found")
    }

    func testTextFileIsNotADatabase() throws {
        let file = url("notes.txt")
        try Data(String(repeating: "this is a text file, not a study\n", count: 40).utf8).write(to: file)
        for readOnly in [false, true] {
            let error = studyError { _ = try SQLiteStudyStorage.open(at: file, readOnly: readOnly) }
            XCTAssertEqual(error?.kind, .notADatabase)
            XCTAssertEqual(error?.message, "\(file.path) is not a SwiftNAS study (not an SQLite database)")
        }
        let mismatch = studyError { _ = try SQLiteStudyStorage.openOrCreate(at: file, settings: self.settings()) }
        XCTAssertEqual(mismatch?.kind, .notADatabase)
    }

    func testRandomBytesAreNotADatabase() throws {
        var rng = SystemRandomNumberGenerator()
        let file = url("random.bin")
        try Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: file)
        let error = studyError { _ = try SQLiteStudyStorage.open(at: file) }
        XCTAssertEqual(error?.kind, .notADatabase)
        XCTAssertTrue(error?.message.contains("not an SQLite database") ?? false)
    }

    func testSQLiteDatabaseWithOtherTablesIsNotAStudy() throws {
        let file = url("other.sqlite")
        try sql("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('Ada')", at: file)
        let error = studyError { _ = try SQLiteStudyStorage.open(at: file) }
        XCTAssertEqual(error?.kind, .notAStudy)
        XCTAssertEqual(error?.message, "\(file.path) is not a SwiftNAS study (no swiftnas_study table)")

        let empty = url("empty.db")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        XCTAssertEqual(studyError { _ = try SQLiteStudyStorage.open(at: empty) }?.kind, .notAStudy)

        let unmarked = url("unmarked.db")
        try sql("CREATE TABLE swiftnas_study(key TEXT PRIMARY KEY, value TEXT NOT NULL)", at: unmarked)
        let noMarker = studyError { _ = try SQLiteStudyStorage.open(at: unmarked) }
        XCTAssertEqual(noMarker?.kind, .notAStudy)
        XCTAssertTrue(noMarker?.message.contains("no \"swiftnas-study\" format marker") ?? false)
    }

    func testTruncatedStudyGivesAStudyError() throws {
        let study = try SQLiteStudyStorage.create(at: url(), settings: settings())
        for n in 0..<200 { try study.append(trial(n, Double(n), params: 1000 + n)) }
        study.close()
        let full = try Data(contentsOf: url())
        XCTAssertGreaterThan(full.count, 16384)
        for length in [full.count / 2, 4096 + 100, 60] {
            let cut = url("cut-\(length).db")
            try full.prefix(length).write(to: cut)
            let error = studyError {
                let s = try SQLiteStudyStorage.open(at: cut, readOnly: true)
                _ = try s.trials()
            }
            XCTAssertNotNil(error, "length \(length)")
            guard let error else { continue }
            XCTAssertTrue([.corrupt, .notADatabase, .notAStudy].contains(error.kind), "\(error.kind): \(error.message)")
            XCTAssertTrue(error.message.contains("damaged or truncated") || error.message.contains("not an SQLite database"),
                          error.message)
            XCTAssertTrue(error.message.contains(cut.path), error.message)
        }
    }

    func testNewerFormatIsRefused() throws {
        try SQLiteStudyStorage.create(at: url(), settings: settings()).close()
        try sql("UPDATE swiftnas_study SET value = json_set(value, '$.format', 99) WHERE key = 'settings'", at: url())
        let error = studyError { _ = try SQLiteStudyStorage.open(at: self.url()) }
        XCTAssertEqual(error?.kind, .newerFormat)
        XCTAssertTrue(error?.message.contains("newer SwiftNAS (study format 99; this build reads format 1") ?? false,
                      error?.message ?? "")
    }

    func testCorruptRowsNameTheTrialAndColumn() throws {
        let study = try SQLiteStudyStorage.create(at: url(), settings: settings())
        for n in 0..<3 { try study.append(trial(n, 1, params: 1)) }
        study.close()

        try sql("UPDATE trials SET architecture = '{\"family\": \"encoder\"}' WHERE number = 1", at: url())
        let architecture = studyError { _ = try SQLiteStudyStorage.open(at: self.url()).trials() }
        XCTAssertEqual(architecture?.kind, .corrupt)
        XCTAssertTrue(architecture?.message.contains("trial 1, column architecture, is not a valid architecture") ?? false,
                      architecture?.message ?? "")

        try sql("""
            UPDATE trials SET architecture = (SELECT architecture FROM trials WHERE number = 0) WHERE number = 1;
            UPDATE trials SET objectives = 'not json' WHERE number = 2
            """, at: url())
        let objectives = studyError { _ = try SQLiteStudyStorage.open(at: self.url()).trials() }
        XCTAssertTrue(objectives?.message.contains("trial 2, column objectives, is not valid JSON") ?? false,
                      objectives?.message ?? "")

        try sql("UPDATE trials SET objectives = '{}', state = 'lost' WHERE number = 2", at: url())
        let state = studyError { _ = try SQLiteStudyStorage.open(at: self.url()).trials() }
        XCTAssertTrue(state?.message.contains("trial 2, column state, is \"lost\"") ?? false, state?.message ?? "")

        try sql("UPDATE swiftnas_study SET value = '{\"format\": 1}' WHERE key = 'settings'", at: url())
        let settings = studyError { _ = try SQLiteStudyStorage.open(at: self.url()) }
        XCTAssertEqual(settings?.kind, .corrupt)
        XCTAssertTrue(settings?.message.contains("settings have no field") ?? false, settings?.message ?? "")
    }

    // MARK: - Reports

    /// Hand-made trials (score maximized, params ≤ 10M, Pareto cost params):
    ///
    ///     #  score  params   state
    ///     0    5     2.0M    complete
    ///     1    7     4.0M    complete
    ///     2    6     5.0M    complete   dominated by 1 (lower score, more params)
    ///     3    9     8.0M    complete
    ///     4   12    12.0M    complete   infeasible (> 10M)
    ///     5  NaN     1.0M    failed
    ///     6    9     9.0M    complete   dominated by 3 (same score, more params)
    ///     7    3     1.5M    complete
    ///     8  100     1.0M    failed     (a failed trial never counts, whatever its value)
    private func handMade() -> [Trial] {
        let rows: [(Double, Int, Trial.State)] = [
            (5, 2_000_000, .complete), (7, 4_000_000, .complete), (6, 5_000_000, .complete), (9, 8_000_000, .complete),
            (12, 12_000_000, .complete), (.nan, 1_000_000, .failed), (9, 9_000_000, .complete), (3, 1_500_000, .complete),
            (100, 1_000_000, .failed),
        ]
        return rows.enumerated().map { trial($0, $1.0, params: $1.1, state: $1.2, objective: "score") }
    }

    func testBest() {
        let s = settings(objective: "score")
        XCTAssertEqual(StudyReport.best(handMade(), settings: s, top: 3).map(\.number), [3, 6, 1])
        XCTAssertEqual(StudyReport.best(handMade(), settings: s, top: 100).map(\.number), [3, 6, 1, 2, 0, 7])
        XCTAssertEqual(StudyReport.best(handMade(), settings: s).map(\.number), [3])
        let minimized = settings(maximize: false, objective: "score")
        XCTAssertEqual(StudyReport.best(handMade(), settings: minimized, top: 3).map(\.number), [7, 0, 2])
        XCTAssertEqual(StudyReport.best(handMade(), settings: settings(maxParams: 1e6, objective: "score"), top: 3), [])
    }

    func testParetoFront() {
        let s = settings(objective: "score")
        XCTAssertEqual(StudyReport.paretoFront(handMade(), settings: s).map(\.number), [7, 0, 1, 3])
        // Without the budget trial 4 (12, 12M) joins the front.
        XCTAssertEqual(StudyReport.paretoFront(handMade(), settings: settings(maxParams: 1e9, objective: "score")).map(\.number),
                       [7, 0, 1, 3, 4])
        // Minimizing the score, trial 7 (3, 1.5M) dominates every other feasible trial.
        XCTAssertEqual(StudyReport.paretoFront(handMade(), settings: settings(maximize: false, objective: "score")).map(\.number),
                       [7])
    }

    func testExportJSONHasExactlyTheDocumentedKeys() throws {
        var trials = Array(handMade().prefix(6))
        trials[1].costs.latencyMs = 2.5
        trials[1].costs.measuredLatencyMs = 2.75
        let json = StudyReport.exportJSON(trials)
        guard case .object(let top) = json, case .array(let items)? = top["trials"] else { return XCTFail("\(json)") }
        XCTAssertEqual(Set(top.keys), ["trials"])
        XCTAssertEqual(items.count, 6)
        for (item, t) in zip(items, trials) {
            guard case .object(let o) = item else { return XCTFail("\(item)") }
            XCTAssertEqual(Set(o.keys), ["number", "architecture", "objectives", "costs", "state"])
            XCTAssertEqual(o["number"], .int(t.number))
            XCTAssertEqual(o["state"], .string(t.state.rawValue))
            XCTAssertEqual(try Architecture.decode(o["architecture"]!, path: "export"), t.architecture)
        }
        guard case .object(let o1) = items[1], case .object(let c1)? = o1["costs"],
              case .object(let o0) = items[0], case .object(let c0)? = o0["costs"],
              case .object(let o5) = items[5] else { return XCTFail() }
        XCTAssertEqual(c1, ["params": .int(4_000_000), "flops": .int(40_000_000), "latency_ms": .double(2.5),
                            "measured_latency_ms": .double(2.75)])
        XCTAssertEqual(Set(c0.keys), ["params", "flops"])
        XCTAssertEqual(o5["objectives"], .object(["score": .null]))
        XCTAssertEqual(o0["objectives"], .object(["score": .double(5)]))
        XCTAssertNoThrow(try json.serialized(), "the export is writable JSON")
    }

    /// A minimal RFC 4180 reader, to check the writer's quoting.
    private func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        return rows
    }

    func testExportCSVQuoting() throws {
        let name = "glue, \"avg\""
        var s = settings(objective: name)
        s.objectives.append(ObjectiveSpec(name: "params", maximize: false))
        var t0 = trial(0, 0.5, params: 1_000_000, objective: name)
        t0.objectives["params"] = 1e6
        t0.costs.latencyMs = 1.5
        var t1 = trial(1, .nan, params: 2_000_000, state: .failed, objective: name)
        t1.failure = "objective glue failed: boom, \"quoted\""
        let csv = StudyReport.exportCSV([t0, t1], settings: s)
        let lines = csv.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], "number,state,\"glue, \"\"avg\"\"\",params,params,flops,latency_ms,measured_latency_ms,depth,hidden,architecture,failure")
        XCTAssertTrue(lines[1].hasPrefix("0,complete,0.5,1000000.0,1000000,10000000,1.5,,2,32,\"{\"\"activation\"\":\"\"gelu\"\""),
                      String(lines[1]))
        XCTAssertTrue(csv.hasSuffix("\"\"quoted\"\"\"\n"), "the failure reason closes the row, quoted")
        let rows = parseCSV(csv)
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[0][2], name)
        XCTAssertTrue(rows.allSatisfy { $0.count == 12 }, "\(rows.map(\.count))")
        XCTAssertEqual(rows[2][11], t1.failure)
        XCTAssertEqual(rows[1][11], "", "no reason for a complete trial")
        XCTAssertEqual(rows[2][2], "", "a non-finite objective is an empty cell")
        XCTAssertEqual(rows[2][1], "failed")
        XCTAssertEqual(try Architecture.decode(JSONValue(parsing: rows[1][10]), path: "csv"), t0.architecture)
        XCTAssertEqual(StudyReport.csvField("plain"), "plain")
        XCTAssertEqual(StudyReport.csvField("a\nb"), "\"a\nb\"")
    }

    func testTable() {
        var trials = handMade()
        trials[1].costs.measuredLatencyMs = 3.5
        let text = StudyReport.table(trials, settings: settings(objective: "score"), limit: 6)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("#  state     score  params M  FLOPs G  latency ms  depth  hidden  layers"), lines[0])
        XCTAssertEqual(lines.count, 1 + 6 + 2)
        XCTAssertTrue(lines[2].contains("3.500*"), lines[2])
        XCTAssertTrue(lines[6].contains("failed") && lines[6].contains(" - "), lines[6])
        XCTAssertEqual(lines[7], "… 3 more")
        XCTAssertEqual(lines[8], "* measured latency")
        XCTAssertTrue(lines[1].hasSuffix("2× sdp h2 q32 f128"), lines[1])
    }

    func testLayerSummary() {
        var a = arch(hidden: 64, depth: 3)
        a.layers[2] = Architecture.Layer(heads: 4, qkv: 128, ffn: 256, ffnStack: [128])
        a.layers.append(Architecture.Layer(heads: 1, qkv: 64, ffn: 64, operation: .dft))
        XCTAssertEqual(StudyReport.layerSummary(a), "2× sdp h2 q64 f256 | 1× sdp h4 q128 f256+128 | 1× dft f64")
    }

    func testParetoSVG() throws {
        let svg = StudyReport.paretoSVG(handMade(), settings: settings(objective: "score"))
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertTrue(svg.contains("params ≤ 10M"), "the constraint is labelled")
        XCTAssertEqual(svg.components(separatedBy: "class=\"constraint\"").count - 1, 1)
        XCTAssertTrue(svg.contains("stroke-dasharray"))
        XCTAssertEqual(svg.components(separatedBy: "class=\"front\"").count - 1, 4)
        XCTAssertEqual(svg.components(separatedBy: "class=\"feasible\"").count - 1, 6)
        XCTAssertEqual(svg.components(separatedBy: "class=\"infeasible\"").count - 1, 1)
        XCTAssertTrue(svg.contains("class=\"front-line\" d=\"M "))
        XCTAssertTrue(svg.contains("2 failed or without a finite value not plotted"))

        // Well-formed XML.
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")

        // The constraint line sits at 10M on the x axis: between the 8M and 12M points.
        func xs(_ cls: String) -> [Double] {
            svg.components(separatedBy: "\n").filter { $0.contains("class=\"\(cls)\"") }.compactMap { line in
                let key = cls == "constraint" ? "x1=\"" : "cx=\""
                guard let r = line.range(of: key) else { return nil }
                return Double(line[r.upperBound...].prefix { $0 != "\"" })
            }
        }
        let line = try XCTUnwrap(xs("constraint").first)
        XCTAssertLessThan(try XCTUnwrap(xs("front").max()), line)           // 8M < 10M
        XCTAssertGreaterThan(try XCTUnwrap(xs("infeasible").first), line)   // 12M > 10M
    }

    func testEmptyStudyReports() {
        let s = settings()
        XCTAssertEqual(StudyReport.best([], settings: s), [])
        XCTAssertEqual(StudyReport.paretoFront([], settings: s), [])
        XCTAssertTrue(StudyReport.table([], settings: s).contains("(no trials)"))
        XCTAssertTrue(XMLParser(data: Data(StudyReport.paretoSVG([], settings: s).utf8)).parse())
        XCTAssertEqual(StudyReport.exportCSV([], settings: s).split(separator: "\n").count, 1)
    }
}

extension StudyTests {
    /// A writer killed in the middle of a transaction leaves the file and a hot journal: the copy of both
    /// taken then is exactly what a kill -9 leaves. Opening it for writing rolls the half-written trials
    /// back, and every trial committed before stays.
    func testHalfWrittenTransactionIsRolledBack() throws {
        let study = try SQLiteStudyStorage.create(at: url(), settings: settings())
        for n in 0..<5 { try study.append(trial(n, Double(n), params: 1000 + n)) }
        study.close()

        let writer = try SQLiteConnection(path: url().path, mode: .readWrite)
        try writer.exec("PRAGMA cache_size = 1; BEGIN IMMEDIATE")
        let insert = try writer.prepare("""
            INSERT INTO trials(number, genome, architecture, objectives, costs, state, seconds) VALUES (?, '[]', 'x', '{}', '{}', 'complete', 1.0)
            """)
        for n in 5..<400 {
            try insert.bind(n, at: 1)
            try insert.step()
            insert.reset()
        }
        let killed = url("killed.db")
        try FileManager.default.copyItem(at: url(), to: killed)
        try FileManager.default.copyItem(atPath: url().path + "-journal", toPath: killed.path + "-journal")
        try writer.exec("ROLLBACK")
        writer.close()

        let readOnly = studyError { _ = try SQLiteStudyStorage.open(at: killed, readOnly: true).trials() }
        XCTAssertEqual(readOnly?.kind, .readOnly)
        XCTAssertTrue(readOnly?.message.contains("left unfinished by a killed writer") ?? false, readOnly?.message ?? "")
        let resumed = try SQLiteStudyStorage.open(at: killed)
        XCTAssertEqual(try resumed.trials().map(\.number), [0, 1, 2, 3, 4])
        try resumed.append(trial(5, 5, params: 1005))
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.path + "-journal"))
    }

    /// The storage protocol on SQLite: a trial is created running at ask time, an architecture held is
    /// refused, the limit is kept, and a finish stores the state and the failure reason once.
    func testTrialLifecycleThroughTheStorageProtocol() throws {
        let study: StudyStorage = try SQLiteStudyStorage.create(at: url(), settings: settings())
        defer { study.close() }
        XCTAssertNil(study.heartbeatTimeout)
        let a = arch(hidden: 32), b = arch(hidden: 64)
        let costs = Costs(params: 10, flops: 100)
        XCTAssertEqual(try study.createTrial(genome: [0], architecture: a, costs: costs, worker: "w", limit: 2), .created(number: 0))
        XCTAssertEqual(try study.trials().map(\.state), [.running])
        XCTAssertEqual(try study.createTrial(genome: [0], architecture: a, costs: costs, worker: "w", limit: 2), .taken(byTrial: 0))
        XCTAssertEqual(try study.createTrial(genome: [1], architecture: b, costs: costs, worker: "w", limit: 2), .created(number: 1))
        XCTAssertEqual(try study.createTrial(genome: [2], architecture: arch(hidden: 96), costs: costs, worker: "w", limit: 2), .full)
        var failed = Trial(number: 1, genome: [1], architecture: b, objectives: ["w-pca": .nan], costs: costs, state: .failed,
                           seconds: 0.5, failure: "objective w-pca failed: no finite output")
        XCTAssertTrue(try study.finishTrial(failed, worker: "w"))
        XCTAssertFalse(try study.finishTrial(failed, worker: "w"), "a finished trial is not finished twice")
        let stored = try study.trials()
        XCTAssertEqual(stored[1].state, .failed)
        XCTAssertEqual(stored[1].failure, failed.failure)
        XCTAssertEqual(stored[1].seconds, 0.5)
        XCTAssertTrue(stored[1].objectives["w-pca"]!.isNaN)
        XCTAssertEqual(stored[0].state, .running)
        XCTAssertEqual(try study.trials(from: 1).map(\.number), [1])
        failed.state = .running
        XCTAssertThrowsError(try study.finishTrial(failed, worker: "w"), "running is not a finished state")
        // The failure reason is exported.
        guard case .object(let top) = StudyReport.exportJSON(stored), case .array(let items)? = top["trials"],
              case .object(let second) = items[1] else { return XCTFail("unexpected export") }
        XCTAssertEqual(second["failure"], .string("objective w-pca failed: no finite output"))
    }

    /// A study written before trial states and failure reasons (schema 1: no failure column, no schema
    /// key) is read as it was, and upgraded in place by its first writer.
    func testSchemaOneStudyIsReadAndUpgraded() throws {
        let study = try SQLiteStudyStorage.create(at: url(), settings: settings())
        for n in 0..<3 { try study.append(trial(n, Double(n), params: 1000 + n, state: n == 2 ? .failed : .complete)) }
        study.close()
        try sql("ALTER TABLE trials DROP COLUMN failure; DELETE FROM swiftnas_study WHERE key = 'schema'", at: url())
        let old = try SQLiteStudyStorage.open(at: url(), readOnly: true)
        XCTAssertEqual(try old.trials().map(\.state), [.complete, .complete, .failed])
        XCTAssertNil(try old.trials()[2].failure)
        old.close()
        let upgraded = try SQLiteStudyStorage.open(at: url())
        var t = trial(3, .nan, params: 1, state: .failed)
        t.failure = "objective w-pca gave nan"
        try upgraded.append(t)
        XCTAssertEqual(try upgraded.trials().last?.failure, t.failure)
        XCTAssertEqual(try upgraded.trials().map(\.number), [0, 1, 2, 3])
        upgraded.close()
        // A schema from a newer build is refused.
        try sql("UPDATE swiftnas_study SET value = '99' WHERE key = 'schema'", at: url())
        XCTAssertEqual(studyError { _ = try SQLiteStudyStorage.open(at: self.url(), readOnly: true) }?.kind, .newerFormat)
    }
}
