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
//   trials(number INTEGER PRIMARY KEY, genome TEXT NOT NULL, architecture TEXT NOT NULL,
//          objectives TEXT NOT NULL, costs TEXT NOT NULL, state TEXT NOT NULL, seconds REAL NOT NULL)
//     number        0, 1, 2, … without gaps, in the order the strategy proposed them
//     genome        JSON array of choice indices: [3, 0, 1, 2]
//     architecture  the Architecture as JSON (an architecture file's object, compact)
//     objectives    JSON object {name: number | null}; null stands for a non-finite value (a failed
//                   trial) and is read back as NaN
//     costs         JSON object {"params": int, "flops": int, "latency_ms"?: number,
//                   "measured_latency_ms"?: number} (absent: unknown)
//     state         "complete" | "failed"
//     seconds       wall-clock seconds of the evaluation
//
//   latency_samples(id INTEGER PRIMARY KEY, architecture TEXT NOT NULL, latency_ms REAL NOT NULL)
//     measured latencies (architecture JSON as above), the training data of a latency predictor
//
// Durability: rollback journal (journal_mode=DELETE) with synchronous=FULL, so that a transaction is on
// disk when its COMMIT returns; each trial is one transaction, and a process killed at any moment leaves
// every trial it had stored. A new study is built in a temporary file and then linked into place, so a
// killed `create` leaves no half-made study under the name.

/// Why a study file cannot be created, opened, read or written. `description` names the file and what is
/// wrong, e.g. "runs/s.db is not a SwiftNAS study (not an SQLite database)".
public struct StudyError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Equatable, Sendable {
        /// The file does not exist (or is a folder).
        case notFound
        /// `create` found a file under the name.
        case alreadyExists
        /// The file is not an SQLite database.
        case notADatabase
        /// An SQLite database without the study table or marker.
        case notAStudy
        /// Written by a newer SwiftNAS (a higher study format).
        case newerFormat
        /// A table, row or column cannot be read (damaged, truncated or hand-edited file).
        case corrupt
        /// `openOrCreate` found a study made with other settings.
        case settingsMismatch
        /// A trial (or sample) that cannot be stored: a number out of sequence, an unknown number, NaN.
        case invalidTrial
        /// A write to a study opened read-only (or a file that cannot be written).
        case readOnly
        /// The study was closed.
        case closed
        /// Another `Study` (in this or another process) has the file open for writing.
        case locked
        /// Any other failure of the file system or of SQLite.
        case storage
    }

    public let kind: Kind
    /// The study file, as given.
    public let path: String
    /// The whole message, naming the file.
    public let message: String

    public init(_ kind: Kind, path: String, message: String) {
        self.kind = kind; self.path = path; self.message = message
    }

    public var description: String { message }
    public var errorDescription: String? { message }
}

/// A study: the durable record of one search — its settings and every trial, in an SQLite file (format
/// above). Trials are appended one transaction each, numbered without gaps, so that a killed search
/// resumes from exactly what was stored.
///
/// A `Study` is one connection; use it from one thread at a time. Several processes may open the same
/// file (e.g. `swiftnas study show` while a search writes): SQLite locks the file for the length of a
/// transaction and readers wait for it. Only one may open it for writing: a writable `Study` holds an
/// exclusive lock on the file until it is closed (`StudyWriterLock`), and a second writer is refused
/// (`.locked`) before anything is read or written; several workers on one study need the PostgreSQL
/// storage.
public final class Study {
    /// The marker stored under `format` in `swiftnas_study`.
    public static let marker = "swiftnas-study"

    /// The study file.
    public let url: URL
    /// The settings the study was created with.
    public let settings: StudySettings
    /// Whether writes are refused.
    public let isReadOnly: Bool

    private let connection: SQLiteConnection
    /// The writer's lock (nil when read-only); released after the connection closes.
    private let writerLock: StudyWriterLock?
    /// The study file as given (relative paths stay relative), as messages name it.
    public var path: String { url.relativePath }

    private init(url: URL, settings: StudySettings, readOnly: Bool, connection: SQLiteConnection, writerLock: StudyWriterLock?) {
        self.url = url; self.settings = settings; self.isReadOnly = readOnly; self.connection = connection
        self.writerLock = writerLock
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
    public static func create(at url: URL, settings: StudySettings) throws -> Study {
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
                                        seconds REAL NOT NULL);
                    CREATE TABLE latency_samples(id INTEGER PRIMARY KEY, architecture TEXT NOT NULL,
                                                 latency_ms REAL NOT NULL);
                    """)
                let insert = try db.prepare("INSERT INTO swiftnas_study(key, value) VALUES (?, ?)")
                for (key, value) in [("format", marker), ("settings", settingsText)] {
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
    /// another writable `Study` of the file is open, in this process or another.
    public static func open(at url: URL, readOnly: Bool = false) throws -> Study {
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
            return Study(url: url, settings: settings, readOnly: readOnly, connection: connection, writerLock: lock)
        } catch {
            connection.close()
            lock?.release()
            throw failure(error, path: path, doing: "opening the study")
        }
    }

    /// Opens the study at `url` when the file exists, and creates it otherwise. An existing study must
    /// have been created with exactly `settings`; if not, the error names the first field that differs,
    /// e.g. "study runs/s.db was created with seed 1, not 2; use another --study file or the same settings".
    public static func openOrCreate(at url: URL, settings: StudySettings) throws -> Study {
        guard FileManager.default.fileExists(atPath: url.path) else { return try create(at: url, settings: settings) }
        let study = try open(at: url)
        if let difference = study.settings.firstDifference(from: settings) {
            study.close()
            throw StudyError(.settingsMismatch, path: study.path, message: "study \(study.path) was created with "
                             + "\(difference); use another --study file or the same settings")
        }
        return study
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
    public func trials() throws -> [Trial] {
        let db = try readable()
        return try perform("reading the trials") {
            let query = try db.prepare("""
                SELECT number, genome, architecture, objectives, costs, state, seconds FROM trials ORDER BY number
                """)
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
                    guard let state = Trial.State(rawValue: stateText) else {
                        throw RecordError("is \(JSONValue.quoted(stateText)), expected \"complete\" or \"failed\"",
                                          column: "state")
                    }
                    trials.append(Trial(number: number, genome: genome, architecture: architecture, objectives: objectives,
                                        costs: costs, state: state, seconds: query.double(6)))
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

    /// Stores one trial, in its own transaction. `trial.number` must be the next number (no gaps, no
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
                    INSERT INTO trials(number, genome, architecture, objectives, costs, state, seconds)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                try insert.bind(trial.number, at: 1)
                try insert.bind(columns.genome, at: 2)
                try insert.bind(columns.architecture, at: 3)
                try insert.bind(columns.objectives, at: 4)
                try insert.bind(columns.costs, at: 5)
                try insert.bind(trial.state.rawValue, at: 6)
                try insert.bind(trial.seconds, at: 7)
                try insert.step()
            }
        }
    }

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

// MARK: - Stored forms

/// A value of a stored row or of the settings that cannot be read: what is wrong, and where.
struct RecordError: Error, CustomStringConvertible {
    let message: String
    let column: String?
    init(_ message: String, column: String? = nil) { self.message = message; self.column = column }
    var description: String { message }
}

/// The JSON forms of a trial's columns (see the format at the top of this file). `StudyReport`'s JSON
/// export uses the same objective and cost objects.
enum StudyRecord {
    /// A number as JSON: finite values as numbers, others as null.
    static func number(_ value: Double) -> JSONValue { value.isFinite ? .double(value) : .null }

    /// `{name: number | null}`.
    static func objectivesJSON(_ objectives: [String: Double]) -> JSONValue {
        .object(objectives.mapValues(number))
    }

    /// `{"params": int, "flops": int, "latency_ms"?: number, "measured_latency_ms"?: number}`.
    static func costsJSON(_ costs: Costs) -> JSONValue {
        var members: [String: JSONValue] = ["params": .int(costs.params), "flops": .int(costs.flops)]
        if let ms = costs.latencyMs { members["latency_ms"] = number(ms) }
        if let ms = costs.measuredLatencyMs { members["measured_latency_ms"] = number(ms) }
        return .object(members)
    }

    /// The architecture's JSON object (its `Codable` form, as in an architecture file).
    static func architectureJSON(_ architecture: Architecture) throws -> JSONValue {
        try JSONValue(encoding: architecture)
    }

    static func architectureText(_ architecture: Architecture) throws -> String {
        try architectureJSON(architecture).serialized(pretty: false)
    }

    static func json(_ items: [JSONValue]) throws -> String { try JSONValue.array(items).serialized(pretty: false) }

    private static func parse(_ text: String, column: String) throws -> JSONValue {
        do { return try JSONValue(parsing: text) } catch {
            throw RecordError("is not valid JSON (\(error))", column: column)
        }
    }

    /// A JSON number (or null, read as NaN) as a Double.
    private static func double(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .null: return .nan
        default: return nil
        }
    }

    static func genome(_ text: String) throws -> Genome {
        guard case .array(let items) = try parse(text, column: "genome") else {
            throw RecordError("is not a JSON array of integers", column: "genome")
        }
        return try items.map { item in
            guard case .int(let i) = item else { throw RecordError("holds a JSON \(item.typeName), expected integers", column: "genome") }
            return i
        }
    }

    static func architecture(_ text: String, path: String) throws -> Architecture {
        let json = try parse(text, column: "architecture")
        do {
            return try json.decode(Architecture.self)
        } catch {
            // The architecture file's decoder says which field is wrong.
            do { _ = try Architecture.decode(json, path: path) } catch let e as ArchitectureFileError {
                throw RecordError("is not a valid architecture: \(e.detail)", column: "architecture")
            } catch {}
            throw RecordError("is not a valid architecture (\(error))", column: "architecture")
        }
    }

    static func objectives(_ text: String) throws -> [String: Double] {
        guard case .object(let members) = try parse(text, column: "objectives") else {
            throw RecordError("is not a JSON object {name: number | null}", column: "objectives")
        }
        return try members.mapValues { value in
            guard let d = double(value) else {
                throw RecordError("holds a JSON \(value.typeName), expected numbers or null", column: "objectives")
            }
            return d
        }
    }

    static func costs(_ text: String) throws -> Costs {
        guard case .object(let members) = try parse(text, column: "costs") else {
            throw RecordError("is not a JSON object {\"params\", \"flops\", …}", column: "costs")
        }
        func integer(_ key: String) throws -> Int {
            guard case .int(let i)? = members[key] else {
                throw RecordError("has no integer \"\(key)\"", column: "costs")
            }
            return i
        }
        func optional(_ key: String) throws -> Double? {
            guard let value = members[key] else { return nil }
            guard let d = double(value) else { throw RecordError("\"\(key)\" is a JSON \(value.typeName), expected a number", column: "costs") }
            return d
        }
        return Costs(params: try integer("params"), flops: try integer("flops"),
                     latencyMs: try optional("latency_ms"), measuredLatencyMs: try optional("measured_latency_ms"))
    }
}

extension StudySettings {
    /// The settings as stored (format at the top of this file). The search space's JSON is kept verbatim,
    /// so that the settings read back equal the ones stored.
    func storedJSON() throws -> JSONValue {
        func bound(_ value: Double?, _ name: String) throws -> JSONValue? {
            guard let value else { return nil }
            guard value.isFinite else { throw RecordError("a constraint's \(name) is \(value)") }
            return .double(value)
        }
        let constraints: [JSONValue] = try constraints.map { c in
            var members: [String: JSONValue] = ["cost": .string(c.cost.rawValue)]
            members["min"] = try bound(c.min, "min")
            members["max"] = try bound(c.max, "max")
            return .object(members)
        }
        var members: [String: JSONValue] = [
            "format": .int(format),
            "space": space,
            "strategy": .string(strategy),
            "objectives": .array(objectives.map { .object(["name": .string($0.name), "maximize": .bool($0.maximize)]) }),
            "constraints": .array(constraints),
            "paretoCost": .string(paretoCost.rawValue),
            "seed": seed <= UInt64(Int.max) ? .int(Int(seed)) : .string(String(seed)),
            "sequenceLength": .int(sequenceLength),
            "evaluation": .object(evaluation.mapValues { .string($0) }),
        ]
        if let populationSize { members["populationSize"] = .int(populationSize) }
        return .object(members)
    }

    /// Reads the stored form; a `RecordError` names the field.
    init(storedJSON json: JSONValue) throws {
        guard case .object(let m) = json else { throw RecordError("are a JSON \(json.typeName), expected an object") }
        func field(_ key: String) throws -> JSONValue {
            guard let v = m[key] else { throw RecordError("have no field '\(key)'") }
            return v
        }
        func wrong(_ key: String, _ expected: String) -> RecordError {
            RecordError("field '\(key)' is a JSON \((m[key] ?? .null).typeName), expected \(expected)")
        }
        func string(_ key: String) throws -> String {
            guard case .string(let s) = try field(key) else { throw wrong(key, "a string") }
            return s
        }
        func integer(_ key: String) throws -> Int {
            guard case .int(let i) = try field(key) else { throw wrong(key, "an integer") }
            return i
        }
        func number(_ v: JSONValue?, _ key: String) throws -> Double? {
            switch v {
            case nil, .null?: return nil
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            default: throw RecordError("field '\(key)' is a JSON \(v!.typeName), expected a number")
            }
        }
        guard case .array(let objectiveItems) = try field("objectives") else { throw wrong("objectives", "an array") }
        let objectives = try objectiveItems.enumerated().map { i, item -> ObjectiveSpec in
            guard case .object(let o) = item, case .string(let name)? = o["name"], case .bool(let maximize)? = o["maximize"] else {
                throw RecordError("field 'objectives[\(i)]' is not {\"name\": string, \"maximize\": boolean}")
            }
            return ObjectiveSpec(name: name, maximize: maximize)
        }
        guard case .array(let constraintItems) = try field("constraints") else { throw wrong("constraints", "an array") }
        let constraints = try constraintItems.enumerated().map { i, item -> Constraint in
            guard case .object(let o) = item, case .string(let name)? = o["cost"], let cost = CostKind(rawValue: name) else {
                throw RecordError("field 'constraints[\(i)]' is not {\"cost\": \"params\" | \"flops\" | \"latency\", \"min\"?, \"max\"?}")
            }
            return Constraint(cost, min: try number(o["min"], "constraints[\(i)].min"),
                              max: try number(o["max"], "constraints[\(i)].max"))
        }
        guard let paretoCost = CostKind(rawValue: try string("paretoCost")) else {
            throw RecordError("field 'paretoCost' is not \"params\", \"flops\" or \"latency\"")
        }
        let seed: UInt64
        switch try field("seed") {
        case .int(let i) where i >= 0: seed = UInt64(i)
        case .string(let s) where UInt64(s) != nil: seed = UInt64(s)!
        default: throw wrong("seed", "a non-negative integer")
        }
        guard case .object(let evaluationMembers) = try field("evaluation") else { throw wrong("evaluation", "an object") }
        let evaluation = try evaluationMembers.mapValues { v -> String in
            guard case .string(let s) = v else { throw wrong("evaluation", "an object of strings") }
            return s
        }
        var populationSize: Int?
        if let v = m["populationSize"] {
            guard case .int(let p) = v, p > 0 else { throw wrong("populationSize", "a positive integer") }
            populationSize = p
        }
        self.init(space: try field("space"), strategy: try string("strategy"), populationSize: populationSize, objectives: objectives,
                  constraints: constraints, paretoCost: paretoCost, seed: seed,
                  sequenceLength: try integer("sequenceLength"), evaluation: evaluation)
        format = try integer("format")
    }

    /// The first field (in declaration order) in which `self` — the stored settings — differs from
    /// `other`, as "seed 1, not 2"; nil when they are equal.
    func firstDifference(from other: StudySettings) -> String? {
        func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: ", ") }
        func objectiveList(_ o: [ObjectiveSpec]) -> String {
            list(o.map { "\($0.name) (\($0.maximize ? "maximized" : "minimized"))" })
        }
        if format != other.format { return "study format \(format), not \(other.format)" }
        if space != other.space {
            if case .object(let a) = space, case .object(let b) = other.space,
               case .string(let x)? = a["name"], case .string(let y)? = b["name"], x != y {
                return "search space \(JSONValue.quoted(x)), not \(JSONValue.quoted(y))"
            }
            return "a different search space definition"
        }
        if strategy != other.strategy { return "strategy \(strategy), not \(other.strategy)" }
        if populationSize != other.populationSize {
            func show(_ p: Int?) -> String { p.map(String.init) ?? "the strategy's default" }
            return "population size \(show(populationSize)), not \(show(other.populationSize))"
        }
        if objectives != other.objectives { return "objectives \(objectiveList(objectives)), not \(objectiveList(other.objectives))" }
        if constraints != other.constraints {
            return "constraints \(list(constraints.map(\.description))), not \(list(other.constraints.map(\.description)))"
        }
        if paretoCost != other.paretoCost { return "Pareto cost \(paretoCost.rawValue), not \(other.paretoCost.rawValue)" }
        if seed != other.seed { return "seed \(seed), not \(other.seed)" }
        if sequenceLength != other.sequenceLength { return "sequence length \(sequenceLength), not \(other.sequenceLength)" }
        if evaluation != other.evaluation {
            let key = Set(evaluation.keys).union(other.evaluation.keys).sorted().first { evaluation[$0] != other.evaluation[$0] }!
            func show(_ v: String?) -> String { v.map { JSONValue.quoted($0) } ?? "unset" }
            return "evaluation \(key) = \(show(evaluation[key])), not \(show(other.evaluation[key]))"
        }
        return nil
    }
}
