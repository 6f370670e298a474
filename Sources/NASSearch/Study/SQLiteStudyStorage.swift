import CSQLite
import Foundation
import NASModels
#if canImport(Glibc)
import Glibc
#endif

// A study file is an SQLite 3 database with three tables:
//
//   swiftnas_study(key TEXT PRIMARY KEY, value TEXT NOT NULL)
//     "format"   → "swiftnas-study" (the marker that makes an SQLite file a study)
//     "settings" → the StudySettings as compact JSON with sorted keys:
//                  {"constraints": [{"cost": "params", "max": 10000000.0}], "evaluation": {"batch": "8"},
//                   "format": 1, "objectives": [{"maximize": true, "name": "w-pca"}], "paretoCost": "params",
//                   "seed": 1, "sequenceLength": 128, "space": {…the search space's JSON, verbatim…},
//                   "strategy": "nsga2"}
//                  (constraint bounds and "populationSize" are optional; a seed above Int.max is a decimal string)
//
//     "schema"   → "2" (absent in studies written before trial states and failure reasons: schema 1,
//                  upgraded in place by the first writer)
//
//   trials(number INTEGER PRIMARY KEY, genome TEXT NOT NULL, architecture TEXT NOT NULL,
//          objectives TEXT NOT NULL, costs TEXT NOT NULL, state TEXT NOT NULL, seconds REAL NOT NULL,
//          failure TEXT)
//     number        0, 1, 2, … without gaps, in the order the strategy proposed them
//     genome        JSON array of choice indices: [3, 0, 1, 2]
//     architecture  the Architecture as JSON (an architecture file's object, compact)
//     objectives    JSON object {name: number | null}; null stands for a non-finite value (a failed
//                   trial) and is read back as NaN
//     costs         JSON object {"params": int, "flops": int, "latency_ms"?: number,
//                   "measured_latency_ms"?: number} (absent: unknown)
//     state         "running" (created at ask time, being evaluated) | "complete" | "failed"
//     seconds       wall-clock seconds of the evaluation (0 while running)
//     failure       why a failed trial failed (NULL otherwise; schema 2)
//
//   latency_samples(id INTEGER PRIMARY KEY, architecture TEXT NOT NULL, latency_ms REAL NOT NULL)
//     measured latencies (architecture JSON as above), the training data of a latency predictor
//
// Durability: rollback journal (journal_mode=DELETE) with synchronous=FULL, so that a transaction is on
// disk when its COMMIT returns; each trial is one transaction, and a process killed at any moment leaves
// every trial it had stored. A new study is built in a temporary file and then linked into place, so a
// killed `create` leaves no half-made study under the name.
//
// One writer: a running trial found by a writer was left by a writer that was killed (the lock proves
// it gone); the resumed search re-runs it under its number (the replay proposes its genome again), so a
// killed search resumes to the trajectory of an uninterrupted one. SQLite never fails a trial for a
// missed heartbeat nor re-queues one: that is the PostgreSQL storage's business.

/// A study in an SQLite file (format above): the durable record of one search — its settings and every
/// trial. Each change is one transaction, trials are numbered without gaps, so that a killed search
/// resumes from exactly what was stored.
///
/// One connection; use it from one thread at a time. Several processes may open the same file (e.g.
/// `swiftnas study show` while a search writes): SQLite locks the file for the length of a transaction
/// and readers wait for it. Only one may open it for writing: a writable storage holds an exclusive lock
/// on the file until it is closed (`StudyWriterLock`), and a second writer is refused (`.locked`) before
/// anything is read or written; several workers on one study need `PostgresStudyStorage`.
public final class SQLiteStudyStorage: StudyStorage {
    /// The marker stored under `format` in `swiftnas_study`.
    public static let marker = "swiftnas-study"
    /// The table layout this build writes (stored under `schema`; absent means 1).
    static let schema = 2

    /// The study file.
    public let url: URL
    /// The settings the study was created with.
    public let settings: StudySettings
    /// Whether writes are refused.
    public let isReadOnly: Bool

    private let connection: SQLiteConnection
    /// The writer's lock (nil when read-only); released after the connection closes.
    private let writerLock: StudyWriterLock?
    /// Whether the trials table has the `failure` column (schema 2; a read-only open of a schema-1 file has not).
    private let hasFailureColumn: Bool
    /// The study file as given (relative paths stay relative), as messages name it.
    public var path: String { url.relativePath }
    public var location: String { path }
    /// nil: one writer, whose lock proves it alive.
    public var heartbeatTimeout: Double? { nil }

    private init(url: URL, settings: StudySettings, readOnly: Bool, connection: SQLiteConnection, writerLock: StudyWriterLock?,
                 hasFailureColumn: Bool) {
        self.url = url; self.settings = settings; self.isReadOnly = readOnly; self.connection = connection
        self.writerLock = writerLock; self.hasFailureColumn = hasFailureColumn
    }

    deinit { close() }

    /// Closes the file (and drops the writer's lock). Later calls throw `StudyError` of kind `.closed`;
    /// closing twice is harmless.
    public func close() {
        connection.close()
        writerLock?.release()
    }

    // MARK: - Creating and opening

    /// Creates a new study at `url` holding `settings` and no trials, and opens it for writing. Refuses an
    /// existing file (`.alreadyExists`) and a missing folder. The study appears under its name complete
    /// or not at all.
    public static func create(at url: URL, settings: StudySettings) throws -> SQLiteStudyStorage {
        let path = url.relativePath
        if FileManager.default.fileExists(atPath: url.path) {
            throw StudyError(.alreadyExists, path: path,
                             message: "study \(path) already exists; open it, or choose another file")
        }
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw StudyError(.storage, path: path, message: "cannot create study \(path): folder \(folder) does not exist")
        }
        // A journal left by a deleted study would be rolled back into the new one as if it were hot.
        if FileManager.default.fileExists(atPath: url.path + "-journal") {
            throw StudyError(.alreadyExists, path: path, message: "cannot create study \(path): a stale \(path)-journal is in the way "
                             + "(left by a study that was deleted); remove it first")
        }
        let settingsText: String
        do {
            settingsText = try settings.storedJSON().serialized(pretty: false)
        } catch {
            throw StudyError(.storage, path: path, message: "cannot create study \(path): the settings cannot be stored (\(error))")
        }

        let temp = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            unlink(temp)
            unlink(temp + "-journal")
        }
        do {
            let db = try SQLiteConnection(path: temp, mode: .create)
            defer { db.close() }
            try db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL")
            try db.transaction {
                try db.exec("""
                    CREATE TABLE swiftnas_study(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE trials(number INTEGER PRIMARY KEY, genome TEXT NOT NULL, architecture TEXT NOT NULL,
                                        objectives TEXT NOT NULL, costs TEXT NOT NULL, state TEXT NOT NULL,
                                        seconds REAL NOT NULL, failure TEXT);
                    CREATE TABLE latency_samples(id INTEGER PRIMARY KEY, architecture TEXT NOT NULL,
                                                 latency_ms REAL NOT NULL);
                    """)
                let insert = try db.prepare("INSERT INTO swiftnas_study(key, value) VALUES (?, ?)")
                for (key, value) in [("format", marker), ("settings", settingsText), ("schema", String(schema))] {
                    try insert.bind(key, at: 1)
                    try insert.bind(value, at: 2)
                    try insert.step()
                    insert.reset()
                }
            }
        } catch {
            throw failure(error, path: path, doing: "creating the study")
        }
        // Publish. link() refuses an existing name where rename() would replace it; file systems without
        // hard links fall back to rename after a last check.
        if link(temp, url.path) != 0 {
            let linkError = errno
            if linkError == EEXIST || FileManager.default.fileExists(atPath: url.path) {
                throw StudyError(.alreadyExists, path: path,
                                 message: "study \(path) already exists; open it, or choose another file")
            }
            guard rename(temp, url.path) == 0 else {
                throw StudyError(.storage, path: path,
                                 message: "cannot create study \(path): \(String(cString: strerror(errno)))")
            }
        }
        let folderDescriptor = Glibc.open(folder, O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 { _ = fsync(folderDescriptor); Glibc.close(folderDescriptor) }
        return try open(at: url)
    }

    /// Opens an existing study. Refuses, with a `StudyError` naming the file: a missing file, a file that
    /// is not an SQLite database, an SQLite database that is not a study, a study of a newer format, and
    /// stored settings that cannot be read. A writable open is refused (`.locked`, the file untouched) while
    /// another writable storage of the file is open, in this process or another.
    public static func open(at url: URL, readOnly: Bool = false) throws -> SQLiteStudyStorage {
        let path = url.relativePath
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw StudyError(.notFound, path: path, message: "study \(path): file not found")
        }
        guard !isFolder.boolValue else {
            throw StudyError(.notFound, path: path, message: "study \(path) is a folder, expected a study file")
        }
        // The lock first: a refused writer must not have SQLite open the file (nor roll back a journal).
        let lock = readOnly ? nil : try StudyWriterLock.acquire(url, path: path)
        let connection: SQLiteConnection
        do {
            connection = try SQLiteConnection(path: url.path, mode: readOnly ? .readOnly : .readWrite)
        } catch {
            lock?.release()
            throw failure(error, path: path, doing: "opening the study")
        }
        do {
            if !readOnly { try connection.exec("PRAGMA synchronous = FULL") }
            let settings = try readSettings(connection, path: path)
            var hasFailureColumn = try Self.hasFailureColumn(connection)
            if !readOnly && !hasFailureColumn {
                // Schema 1 → 2: the failure column; the rows keep their meaning (complete or failed).
                try connection.transaction {
                    try connection.exec("ALTER TABLE trials ADD COLUMN failure TEXT")
                    try connection.exec("INSERT OR REPLACE INTO swiftnas_study(key, value) VALUES ('schema', '\(schema)')")
                }
                hasFailureColumn = true
            }
            return SQLiteStudyStorage(url: url, settings: settings, readOnly: readOnly, connection: connection, writerLock: lock,
                                      hasFailureColumn: hasFailureColumn)
        } catch {
            connection.close()
            lock?.release()
            throw failure(error, path: path, doing: "opening the study")
        }
    }

    /// Opens the study at `url` when the file exists, and creates it otherwise. An existing study must
    /// have been created with exactly `settings`; if not, the error names the first field that differs,
    /// e.g. "study runs/s.db was created with seed 1, not 2; use another --study file or the same settings".
    public static func openOrCreate(at url: URL, settings: StudySettings) throws -> SQLiteStudyStorage {
        guard FileManager.default.fileExists(atPath: url.path) else { return try create(at: url, settings: settings) }
        let study = try open(at: url)
        if let difference = study.settings.firstDifference(from: settings) {
            study.close()
            throw StudyError(.settingsMismatch, path: study.path, message: "study \(study.path) was created with "
                             + "\(difference); use another --study file or the same settings")
        }
        return study
    }

    /// Whether the trials table has the `failure` column (schema 2).
    private static func hasFailureColumn(_ db: SQLiteConnection) throws -> Bool {
        let columns = try db.prepare("PRAGMA table_info(trials)")
        while try columns.step() { if columns.text(1) == "failure" { return true } }
        return false
    }

    /// Checks the tables and the marker, and reads the settings.
    private static func readSettings(_ db: SQLiteConnection, path: String) throws -> StudySettings {
        var tables: Set<String> = []
        let list = try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        while try list.step() { if let name = list.text(0) { tables.insert(name) } }
        guard tables.contains("swiftnas_study") else {
            throw StudyError(.notAStudy, path: path, message: "\(path) is not a SwiftNAS study (no swiftnas_study table)")
        }
        var values: [String: String] = [:]
        let rows = try db.prepare("SELECT key, value FROM swiftnas_study")
        while try rows.step() {
            if let key = rows.text(0), let value = rows.text(1) { values[key] = value }
        }
        if let schemaText = values["schema"], (Int(schemaText) ?? Int.max) > schema {
            throw StudyError(.newerFormat, path: path, message: "study \(path) was written by a newer SwiftNAS "
                             + "(table schema \(schemaText); this build reads schema \(schema) and older)")
        }
        guard values["format"] == marker else {
            throw StudyError(.notAStudy, path: path,
                             message: "\(path) is not a SwiftNAS study (no \"\(marker)\" format marker in swiftnas_study)")
        }
        guard let text = values["settings"] else {
            throw StudyError(.corrupt, path: path, message: "study \(path) is damaged: no settings in swiftnas_study")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: text) } catch {
            throw StudyError(.corrupt, path: path, message: "study \(path) is damaged: its settings are not valid JSON (\(error))")
        }
        if case .object(let members) = json, case .int(let format)? = members["format"], format > StudySettings.currentFormat {
            throw StudyError(.newerFormat, path: path, message: "study \(path) was written by a newer SwiftNAS "
                             + "(study format \(format); this build reads format \(StudySettings.currentFormat) and older)")
        }
        let settings: StudySettings
        do { settings = try StudySettings(storedJSON: json) } catch let e as RecordError {
            throw StudyError(.corrupt, path: path, message: "study \(path) is damaged: its settings \(e.message)")
        }
        for table in ["trials", "latency_samples"] where !tables.contains(table) {
            throw StudyError(.corrupt, path: path, message: "study \(path) is damaged: no \(table) table")
        }
        return settings
    }

    // MARK: - Trials

    /// The number the next appended trial must have (the number of stored trials).
    public func nextTrialNumber() throws -> Int {
        let db = try readable()
        return try perform("reading the trials") { try Self.nextNumber(db) }
    }

    private static func nextNumber(_ db: SQLiteConnection) throws -> Int {
        let query = try db.prepare("SELECT COALESCE(MAX(number) + 1, 0) FROM trials")
        try query.step()
        return query.int(0)
    }

    /// Every stored trial, ordered by number. A row that cannot be read throws `.corrupt`, naming the
    /// trial and the column.
    public func trials(from first: Int) throws -> [Trial] {
        let db = try readable()
        return try perform("reading the trials") {
            let query = try db.prepare("""
                SELECT number, genome, architecture, objectives, costs, state, seconds, \(hasFailureColumn ? "failure" : "NULL")
                FROM trials WHERE number >= ? ORDER BY number
                """)
            try query.bind(first, at: 1)
            var trials: [Trial] = []
            while try query.step() {
                let number = query.int(0)
                func column(_ index: Int32, _ name: String) throws -> String {
                    guard let text = query.text(index) else { throw RecordError("is NULL", column: name) }
                    return text
                }
                do {
                    let genome = try StudyRecord.genome(column(1, "genome"))
                    let architecture = try StudyRecord.architecture(column(2, "architecture"), path: path)
                    let objectives = try StudyRecord.objectives(column(3, "objectives"))
                    let costs = try StudyRecord.costs(column(4, "costs"))
                    let stateText = try column(5, "state")
                    guard let state = Trial.State(rawValue: stateText), state != .waiting else {
                        throw RecordError("is \(JSONValue.quoted(stateText)), expected \"running\", \"complete\" or \"failed\"",
                                          column: "state")
                    }
                    trials.append(Trial(number: number, genome: genome, architecture: architecture, objectives: objectives,
                                        costs: costs, state: state, seconds: query.double(6), failure: query.text(7)))
                } catch let e as RecordError {
                    throw corruptTrial(number, e.column ?? "?", e.message)
                }
            }
            return trials
        }
    }

    private func corruptTrial(_ number: Int, _ column: String, _ message: String) -> StudyError {
        StudyError(.corrupt, path: path, message: "study \(path) is damaged: trial \(number), column \(column), \(message)")
    }

    /// Stores one finished trial, in its own transaction (a search creates at ask time and finishes
    /// instead; this is for tools and tests). `trial.number` must be the next number (no gaps, no
    /// duplicates), its `seconds` not NaN. When this returns, the trial is on disk.
    public func append(_ trial: Trial) throws {
        let db = try writable(doing: "store trial \(trial.number)")
        guard !trial.seconds.isNaN else {
            throw StudyError(.invalidTrial, path: path, message: "study \(path): cannot store trial \(trial.number): seconds is NaN")
        }
        let columns: (genome: String, architecture: String, objectives: String, costs: String)
        do {
            columns = (try StudyRecord.json(trial.genome.map { JSONValue.int($0) }),
                       try StudyRecord.architectureText(trial.architecture),
                       try StudyRecord.objectivesJSON(trial.objectives).serialized(pretty: false),
                       try StudyRecord.costsJSON(trial.costs).serialized(pretty: false))
        } catch {
            throw StudyError(.invalidTrial, path: path, message: "study \(path): cannot store trial \(trial.number): \(error)")
        }
        try perform("storing trial \(trial.number)") {
            try db.transaction {
                let next = try Self.nextNumber(db)
                guard trial.number == next else {
                    let message = (0..<next).contains(trial.number)
                        ? "study \(path) already has trial \(trial.number) (the next trial is \(next))"
                        : "study \(path): cannot store trial \(trial.number), the next trial is \(next) (trials are numbered from 0 without gaps)"
                    throw StudyError(.invalidTrial, path: path, message: message)
                }
                let insert = try db.prepare("""
                    INSERT INTO trials(number, genome, architecture, objectives, costs, state, seconds, failure)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                try insert.bind(trial.number, at: 1)
                try insert.bind(columns.genome, at: 2)
                try insert.bind(columns.architecture, at: 3)
                try insert.bind(columns.objectives, at: 4)
                try insert.bind(columns.costs, at: 5)
                try insert.bind(trial.state.rawValue, at: 6)
                try insert.bind(trial.seconds, at: 7)
                try insert.bind(trial.failure, at: 8)
                try insert.step()
            }
        }
    }

    /// SQLite re-queues nothing (see the top of this file): always nil.
    public func claimWaitingTrial(worker: String) throws -> Trial? {
        _ = try writable(doing: "claim a trial")
        return nil
    }

    public func createTrial(genome: Genome, architecture: Architecture, costs: Costs, worker: String, limit: Int) throws -> TrialCreation {
        let db = try writable(doing: "create a trial")
        let columns: (genome: String, architecture: String, costs: String)
        do {
            columns = (try StudyRecord.json(genome.map { JSONValue.int($0) }), try StudyRecord.architectureText(architecture),
                       try StudyRecord.costsJSON(costs).serialized(pretty: false))
        } catch {
            throw StudyError(.invalidTrial, path: path, message: "study \(path): cannot store a trial: \(error)")
        }
        return try perform("creating a trial") {
            try db.transaction {
                let holder = try db.prepare("SELECT number FROM trials WHERE architecture = ? LIMIT 1")
                try holder.bind(columns.architecture, at: 1)
                if try holder.step() { return .taken(byTrial: holder.int(0)) }
                let next = try Self.nextNumber(db)
                if next >= limit { return .full }   // one writer: every stored trial counts or runs
                let insert = try db.prepare("""
                    INSERT INTO trials(number, genome, architecture, objectives, costs, state, seconds)
                    VALUES (?, ?, ?, '{}', ?, 'running', 0)
                    """)
                try insert.bind(next, at: 1)
                try insert.bind(columns.genome, at: 2)
                try insert.bind(columns.architecture, at: 3)
                try insert.bind(columns.costs, at: 4)
                try insert.step()
                return .created(number: next)
            }
        }
    }

    /// Nothing to do: the writer's lock, not a heartbeat, proves the writer alive.
    public func heartbeat(trial number: Int, worker: String) throws {}

    /// Stores the result of running trial `trial.number`. The worker is not checked: the single writer owns
    /// every running trial, including one its killed predecessor left (re-run under its number).
    public func finishTrial(_ trial: Trial, worker: String) throws -> Bool {
        let db = try writable(doing: "store trial \(trial.number)")
        let (objectives, costs) = try StudyRecord.result(of: trial, in: path)
        return try perform("storing trial \(trial.number)") {
            try db.transaction {
                let update = try db.prepare("""
                    UPDATE trials SET objectives = ?, costs = ?, state = ?, seconds = ?, failure = ?
                    WHERE number = ? AND state = 'running'
                    """)
                try update.bind(objectives, at: 1)
                try update.bind(costs, at: 2)
                try update.bind(trial.state.rawValue, at: 3)
                try update.bind(trial.seconds, at: 4)
                try update.bind(trial.failure, at: 5)
                try update.bind(trial.number, at: 6)
                try update.step()
                return db.changes == 1
            }
        }
    }

    /// Nothing is stale under one writer: always [].
    public func failStaleTrials() throws -> [Int] { [] }

    /// nil: no heartbeats under one writer.
    public func heartbeatConnection() throws -> StudyStorage? { nil }

    /// Replaces the costs of trial `number` (e.g. with a finalist's measured latency), in one transaction.
    public func updateCosts(of number: Int, _ costs: Costs) throws {
        let db = try writable(doing: "update trial \(number)")
        let text: String
        do { text = try StudyRecord.costsJSON(costs).serialized(pretty: false) } catch {
            throw StudyError(.invalidTrial, path: path, message: "study \(path): cannot store the costs of trial \(number): \(error)")
        }
        try perform("updating trial \(number)") {
            try db.transaction {
                let update = try db.prepare("UPDATE trials SET costs = ? WHERE number = ?")
                try update.bind(text, at: 1)
                try update.bind(number, at: 2)
                try update.step()
                if db.changes == 0 {
                    throw StudyError(.invalidTrial, path: path, message: "study \(path) has no trial \(number)")
                }
            }
        }
    }

    // MARK: - Latency samples

    /// Every stored latency measurement (architecture, milliseconds), in the order stored.
    public func latencySamples() throws -> [(Architecture, Double)] {
        let db = try readable()
        return try perform("reading the latency samples") {
            let query = try db.prepare("SELECT id, architecture, latency_ms FROM latency_samples ORDER BY id")
            var samples: [(Architecture, Double)] = []
            while try query.step() {
                let id = query.int(0)
                do {
                    guard let text = query.text(1) else { throw RecordError("is NULL", column: "architecture") }
                    samples.append((try StudyRecord.architecture(text, path: path), query.double(2)))
                } catch let e as RecordError {
                    throw StudyError(.corrupt, path: path,
                                     message: "study \(path) is damaged: latency sample \(id), column \(e.column ?? "?"), \(e.message)")
                }
            }
            return samples
        }
    }

    /// Stores latency measurements (milliseconds, not NaN) in one transaction: all of them or none.
    public func appendLatencySamples(_ samples: [(Architecture, Double)]) throws {
        let db = try writable(doing: "store latency samples")
        var rows: [(String, Double)] = []
        for (architecture, ms) in samples {
            guard !ms.isNaN else {
                throw StudyError(.invalidTrial, path: path, message: "study \(path): cannot store a latency sample of NaN ms")
            }
            do { rows.append((try StudyRecord.architectureText(architecture), ms)) } catch {
                throw StudyError(.invalidTrial, path: path, message: "study \(path): cannot store a latency sample: \(error)")
            }
        }
        try perform("storing latency samples") {
            try db.transaction {
                let insert = try db.prepare("INSERT INTO latency_samples(architecture, latency_ms) VALUES (?, ?)")
                for (text, ms) in rows {
                    try insert.bind(text, at: 1)
                    try insert.bind(ms, at: 2)
                    try insert.step()
                    insert.reset()
                }
            }
        }
    }

    // MARK: - Errors

    private func readable() throws -> SQLiteConnection {
        guard connection.isOpen else { throw StudyError(.closed, path: path, message: "study \(path) is closed") }
        return connection
    }

    private func writable(doing what: String) throws -> SQLiteConnection {
        let db = try readable()
        if isReadOnly {
            throw StudyError(.readOnly, path: path, message: "study \(path) was opened read-only: cannot \(what)")
        }
        return db
    }

    private func perform<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw Self.failure(error, path: path, doing: what) }
    }

    /// A `StudyError` for any error of a study operation (SQLite's codes turned into what they mean for
    /// the file; `StudyError`s pass through).
    static func failure(_ error: Error, path: String, doing what: String) -> StudyError {
        if let e = error as? StudyError { return e }
        guard let e = error as? SQLiteError else {
            return StudyError(.storage, path: path, message: "study \(path): \(what) failed: \(error)")
        }
        switch e.code {
        case SQLITE_NOTADB:
            return StudyError(.notADatabase, path: path, message: "\(path) is not a SwiftNAS study (not an SQLite database)")
        case SQLITE_CORRUPT:
            return StudyError(.corrupt, path: path, message: "study \(path) is damaged or truncated (SQLite: \(e.message))")
        case SQLITE_READONLY where e.extendedCode == SQLITE_READONLY | (3 << 8):   // SQLITE_READONLY_ROLLBACK
            return StudyError(.readOnly, path: path, message: "study \(path) has a transaction left unfinished by a killed "
                              + "writer, which a read-only open cannot roll back; open it once for writing (e.g. resume the "
                              + "search) (SQLite: \(e.message))")
        case SQLITE_READONLY, SQLITE_PERM:
            return StudyError(.readOnly, path: path, message: "study \(path) cannot be written: \(what) failed (SQLite: \(e.message))")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StudyError(.storage, path: path, message: "study \(path) is locked by another process: \(what) failed (SQLite: \(e.message))")
        case SQLITE_CANTOPEN:
            return StudyError(.storage, path: path, message: "cannot open study \(path) (SQLite: \(e.message))")
        case SQLITE_FULL:
            return StudyError(.storage, path: path, message: "study \(path): \(what) failed, the disk is full (SQLite: \(e.message))")
        default:
            return StudyError(.storage, path: path, message: "study \(path): \(what) failed (SQLite: \(e.message))")
        }
    }
}
