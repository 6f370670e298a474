import Foundation
import NASModels

// A PostgreSQL database holds any number of studies, in four tables created on first use:
//
//   swiftnas_schema(version INTEGER)          one row: the table layout (this build writes and reads 1)
//   swiftnas_studies(id SERIAL, name TEXT UNIQUE, settings TEXT, heartbeat_timeout DOUBLE PRECISION, created)
//     settings: the StudySettings as stored JSON (the same text an SQLite study keeps)
//   swiftnas_trials(study, number, genome, architecture, objectives, costs, state, seconds, failure,
//                   requeued_as, worker, heartbeat, created, finished; PRIMARY KEY (study, number))
//     the SQLite columns (same JSON forms), plus: state also "waiting"; requeued_as (a trial failed because
//     its worker died: the waiting trial that re-runs its genome); worker ("host:pid") and heartbeat (the
//     server's clock) of a running trial; a unique index on (study, md5(architecture)) over the trials
//     not re-queued, so no architecture is held twice whatever a client does
//   swiftnas_latency_samples(study, id BIGSERIAL, architecture, latency_ms)
//
// and two server-side functions, so that creating a trial and failing stale ones are one round trip
// each and hold their lock only while the server works:
//
//   swiftnas_create_trial(study, genome, architecture, costs, worker, limit) → (outcome, number)
//   swiftnas_fail_stale_trials(study) → the numbers failed and re-queued
//
// Concurrency: both functions take a transaction-level advisory lock per study
// (pg_advisory_xact_lock(7_364_527, study)), so trial numbers are taken one at a time, without gaps, and
// the "architecture already held?" and "study full?" checks see every trial committed before. Claiming a
// waiting trial is one UPDATE … FOR UPDATE SKIP LOCKED, so two workers never take the same one. Every
// other call is one statement (autocommit), hence atomic. All times are the server's (now()), so the
// workers' clocks do not matter.
//
// Schema creation takes a session advisory lock (7_364_527, 0), so workers starting together create the
// tables once; a database with a higher swiftnas_schema version is refused.

/// A study in a PostgreSQL database (format above), shared by any number of workers on any machines.
/// One connection (libpq); use it from one thread at a time — the heartbeat thread takes its own
/// (`heartbeatConnection`). Connection failures are `StudyError`s of kind `.unavailable`; the search
/// loop retries them with back-off.
public final class PostgresStudyStorage: StudyStorage {
    /// The table layout this build writes.
    static let schemaVersion = 1
    /// The advisory-lock class of SwiftNAS (the first key of every lock it takes).
    static let lockClass = 7_364_527

    public let address: PostgresAddress
    public let settings: StudySettings
    public let isReadOnly: Bool
    public let heartbeatTimeout: Double?
    /// The study's id in swiftnas_studies.
    let studyID: Int
    private let connection: PostgresConnection
    public var location: String { address.description }
    /// Statements sent to the server by this connection so far.
    public var roundTrips: Int { connection.roundTrips }

    private init(address: PostgresAddress, settings: StudySettings, readOnly: Bool, heartbeatTimeout: Double, studyID: Int,
                 connection: PostgresConnection) {
        self.address = address; self.settings = settings; self.isReadOnly = readOnly; self.heartbeatTimeout = heartbeatTimeout
        self.studyID = studyID; self.connection = connection
    }

    deinit { close() }

    public func close() { connection.close() }

    static func connect(_ address: PostgresAddress) throws -> PostgresConnection {
        var parameters = [("host", address.host), ("port", String(address.port)), ("dbname", address.database), ("user", address.user)]
        if let password = address.password { parameters.append(("password", password)) }
        do { return try PostgresConnection(parameters: parameters) } catch {
            throw failure(error, address.description, doing: "connecting")
        }
    }

    // MARK: - Creating and opening

    /// Opens the study named in `address`, creating the tables and the study when missing. An existing
    /// study must have been created with exactly `settings` (the error names the first field that
    /// differs) and, when `heartbeatTimeout` is given, with that timeout; nil takes the stored one
    /// (60 s for a new study).
    public static func openOrCreate(_ address: PostgresAddress, settings: StudySettings, heartbeatTimeout: Double?) throws -> PostgresStudyStorage {
        let where_ = address.description
        let settingsText: String
        do { settingsText = try settings.storedJSON().serialized(pretty: false) } catch {
            throw StudyError(.storage, path: where_, message: "cannot create study \(where_): the settings cannot be stored (\(error))")
        }
        let db = try connect(address)
        do {
            try createSchema(db, where_)
            try db.execute("""
                INSERT INTO swiftnas_studies(name, settings, heartbeat_timeout) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO NOTHING
                """, [address.study, settingsText, String(heartbeatTimeout ?? 60)])
            let study = try readStudy(db, address)
            if let difference = study.settings.firstDifference(from: settings) {
                throw StudyError(.settingsMismatch, path: where_, message: "study \(where_) was created with \(difference); "
                                 + "use another study name or the same settings")
            }
            if let heartbeatTimeout, heartbeatTimeout != study.timeout {
                throw StudyError(.settingsMismatch, path: where_, message: "study \(where_) was created with --heartbeat-timeout "
                                 + "\(study.timeout), not \(heartbeatTimeout); every worker of a study uses the stored timeout (omit the flag)")
            }
            return PostgresStudyStorage(address: address, settings: study.settings, readOnly: false, heartbeatTimeout: study.timeout,
                                        studyID: study.id, connection: db)
        } catch {
            db.close()
            throw failure(error, where_, doing: "opening the study")
        }
    }

    /// Opens an existing study; read-only refuses every write.
    public static func open(_ address: PostgresAddress, readOnly: Bool) throws -> PostgresStudyStorage {
        let where_ = address.description
        let db = try connect(address)
        do {
            let version = try db.execute("SELECT to_regclass('swiftnas_schema') IS NOT NULL").rows.first?.first ?? nil
            guard version == "t" else {
                throw StudyError(.notFound, path: where_, message: "study \(where_): the database \(address.database) holds no SwiftNAS studies")
            }
            try checkVersion(db, where_)
            let study = try readStudy(db, address)
            return PostgresStudyStorage(address: address, settings: study.settings, readOnly: readOnly, heartbeatTimeout: study.timeout,
                                        studyID: study.id, connection: db)
        } catch {
            db.close()
            throw failure(error, where_, doing: "opening the study")
        }
    }

    /// A second connection to the same study, for the heartbeat thread.
    public func heartbeatConnection() throws -> StudyStorage? {
        PostgresStudyStorage(address: address, settings: settings, readOnly: isReadOnly, heartbeatTimeout: heartbeatTimeout ?? 60,
                             studyID: studyID, connection: try Self.connect(address))
    }

    private static func readStudy(_ db: PostgresConnection, _ address: PostgresAddress) throws -> (id: Int, settings: StudySettings, timeout: Double) {
        let where_ = address.description
        let rows = try db.execute("SELECT id, settings, heartbeat_timeout FROM swiftnas_studies WHERE name = $1", [address.study]).rows
        guard let row = rows.first, let id = row[0].flatMap({ Int($0) }), let text = row[1], let timeout = row[2].flatMap({ Double($0) }) else {
            let names = try db.execute("SELECT name FROM swiftnas_studies ORDER BY name LIMIT 20").rows.compactMap { $0[0] }
            throw StudyError(.notFound, path: where_, message: "study \(where_): no study '\(address.study)' in database "
                             + "\(address.database) (its studies: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: text) } catch {
            throw StudyError(.corrupt, path: where_, message: "study \(where_) is damaged: its settings are not valid JSON (\(error))")
        }
        if case .object(let members) = json, case .int(let format)? = members["format"], format > StudySettings.currentFormat {
            throw StudyError(.newerFormat, path: where_, message: "study \(where_) was written by a newer SwiftNAS "
                             + "(study format \(format); this build reads format \(StudySettings.currentFormat) and older)")
        }
        do { return (id, try StudySettings(storedJSON: json), timeout) } catch let e as RecordError {
            throw StudyError(.corrupt, path: where_, message: "study \(where_) is damaged: its settings \(e.message)")
        }
    }

    private static func checkVersion(_ db: PostgresConnection, _ where_: String) throws {
        let version = try db.execute("SELECT max(version) FROM swiftnas_schema").rows.first?.first ?? nil
        guard let version, let v = Int(version) else {
            throw StudyError(.corrupt, path: where_, message: "study \(where_): swiftnas_schema holds no version")
        }
        if v > schemaVersion {
            throw StudyError(.newerFormat, path: where_, message: "study \(where_): the database's SwiftNAS tables are schema \(v), "
                             + "written by a newer SwiftNAS (this build reads schema \(schemaVersion))")
        }
    }

    /// Creates the tables and functions once (under a session advisory lock), or checks their version.
    private static func createSchema(_ db: PostgresConnection, _ where_: String) throws {
        try db.execute("SELECT pg_advisory_lock(\(lockClass), 0)")
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(\(lockClass), 0)") }
        let exists = try db.execute("SELECT to_regclass('swiftnas_schema') IS NOT NULL").rows.first?.first ?? nil
        if exists == "t" { return try checkVersion(db, where_) }
        try db.execute("BEGIN")
        do {
            for statement in schemaStatements { try db.execute(statement) }
            try db.execute("INSERT INTO swiftnas_schema(version) VALUES ($1)", [String(schemaVersion)])
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    static let schemaStatements = [
        "CREATE TABLE swiftnas_schema(version INTEGER NOT NULL)",
        """
        CREATE TABLE swiftnas_studies(id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, settings TEXT NOT NULL,
                                      heartbeat_timeout DOUBLE PRECISION NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now())
        """,
        """
        CREATE TABLE swiftnas_trials(
            study INTEGER NOT NULL REFERENCES swiftnas_studies(id), number INTEGER NOT NULL,
            genome TEXT NOT NULL, architecture TEXT NOT NULL, objectives TEXT NOT NULL, costs TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('running', 'waiting', 'complete', 'failed')),
            seconds DOUBLE PRECISION NOT NULL, failure TEXT, requeued_as INTEGER, worker TEXT, heartbeat TIMESTAMPTZ,
            created TIMESTAMPTZ NOT NULL DEFAULT now(), finished TIMESTAMPTZ,
            PRIMARY KEY (study, number))
        """,
        "CREATE UNIQUE INDEX swiftnas_trials_architecture ON swiftnas_trials(study, md5(architecture)) WHERE requeued_as IS NULL",
        "CREATE INDEX swiftnas_trials_state ON swiftnas_trials(study, state)",
        """
        CREATE TABLE swiftnas_latency_samples(study INTEGER NOT NULL REFERENCES swiftnas_studies(id), id BIGSERIAL PRIMARY KEY,
                                              architecture TEXT NOT NULL, latency_ms DOUBLE PRECISION NOT NULL)
        """,
        // A trial for p_worker, unless the architecture is held ('taken', by which trial) or the trials that
        // count plus the running and waiting ones reached p_limit ('full'). A retried call whose first
        // attempt was committed finds its own running trial and returns it as created.
        """
        CREATE FUNCTION swiftnas_create_trial(p_study INTEGER, p_genome TEXT, p_architecture TEXT, p_costs TEXT,
                                              p_worker TEXT, p_limit INTEGER)
        RETURNS TABLE(outcome TEXT, trial INTEGER) LANGUAGE plpgsql AS $$
        DECLARE holder RECORD; used INTEGER; next INTEGER;
        BEGIN
            PERFORM pg_advisory_xact_lock(\(lockClass), p_study);
            SELECT t.number, t.state, t.worker INTO holder FROM swiftnas_trials t
             WHERE t.study = p_study AND t.requeued_as IS NULL AND md5(t.architecture) = md5(p_architecture)
               AND t.architecture = p_architecture LIMIT 1;
            IF FOUND THEN
                IF holder.state = 'running' AND holder.worker = p_worker THEN
                    RETURN QUERY SELECT 'created'::TEXT, holder.number; RETURN;
                END IF;
                RETURN QUERY SELECT 'taken'::TEXT, holder.number; RETURN;
            END IF;
            SELECT count(*) INTO used FROM swiftnas_trials t WHERE t.study = p_study AND t.requeued_as IS NULL;
            IF used >= p_limit THEN RETURN QUERY SELECT 'full'::TEXT, NULL::INTEGER; RETURN; END IF;
            SELECT COALESCE(max(t.number) + 1, 0) INTO next FROM swiftnas_trials t WHERE t.study = p_study;
            INSERT INTO swiftnas_trials(study, number, genome, architecture, objectives, costs, state, seconds, worker, heartbeat)
            VALUES (p_study, next, p_genome, p_architecture, '{}', p_costs, 'running', 0, p_worker, now());
            RETURN QUERY SELECT 'created'::TEXT, next;
        END $$
        """,
        // Every running trial whose heartbeat is older than the study's timeout: failed with the reason, its
        // genome re-queued as a new waiting trial. Cheap when nothing is stale (no lock taken).
        """
        CREATE FUNCTION swiftnas_fail_stale_trials(p_study INTEGER) RETURNS SETOF INTEGER LANGUAGE plpgsql AS $$
        DECLARE timeout DOUBLE PRECISION; stale RECORD; next INTEGER;
        BEGIN
            SELECT s.heartbeat_timeout INTO timeout FROM swiftnas_studies s WHERE s.id = p_study;
            IF NOT EXISTS (SELECT 1 FROM swiftnas_trials t WHERE t.study = p_study AND t.state = 'running'
                           AND t.heartbeat < clock_timestamp() - make_interval(secs => timeout)) THEN
                RETURN;
            END IF;
            PERFORM pg_advisory_xact_lock(\(lockClass), p_study);
            FOR stale IN SELECT t.number, t.worker, t.heartbeat FROM swiftnas_trials t
                          WHERE t.study = p_study AND t.state = 'running'
                            AND t.heartbeat < clock_timestamp() - make_interval(secs => timeout) ORDER BY t.number LOOP
                SELECT COALESCE(max(t.number) + 1, 0) INTO next FROM swiftnas_trials t WHERE t.study = p_study;
                UPDATE swiftnas_trials t SET state = 'failed', requeued_as = next, finished = clock_timestamp(),
                       failure = format('worker %s sent no heartbeat for %s s (timeout %s s); its genome is re-queued as trial %s',
                                        stale.worker, round(extract(epoch FROM clock_timestamp() - stale.heartbeat)::NUMERIC, 1),
                                        timeout, next)
                 WHERE t.study = p_study AND t.number = stale.number;
                INSERT INTO swiftnas_trials(study, number, genome, architecture, objectives, costs, state, seconds)
                SELECT p_study, next, t.genome, t.architecture, '{}', t.costs, 'waiting', 0
                  FROM swiftnas_trials t WHERE t.study = p_study AND t.number = stale.number;
                RETURN NEXT stale.number;
            END LOOP;
        END $$
        """,
    ]

    // MARK: - Trials

    private static let trialColumns = "number, genome, architecture, objectives, costs, state, seconds, failure, requeued_as, worker"

    public func trials(from first: Int) throws -> [Trial] {
        try perform("reading the trials") {
            try connection.execute("SELECT \(Self.trialColumns) FROM swiftnas_trials WHERE study = $1 AND number >= $2 ORDER BY number",
                                   [String(studyID), String(first)]).rows.map(trial)
        }
    }

    /// A row of `trialColumns` as a trial; `.corrupt` names the trial and the column.
    private func trial(_ row: [String?]) throws -> Trial {
        let number = row[0].flatMap { Int($0) } ?? -1
        do {
            func column(_ i: Int, _ name: String) throws -> String {
                guard let text = row[i] else { throw RecordError("is NULL", column: name) }
                return text
            }
            let stateText = try column(5, "state")
            guard let state = Trial.State(rawValue: stateText) else {
                throw RecordError("is \(JSONValue.quoted(stateText)), expected running, waiting, complete or failed", column: "state")
            }
            guard let seconds = Double(try column(6, "seconds")) else { throw RecordError("is not a number", column: "seconds") }
            return Trial(number: number, genome: try StudyRecord.genome(column(1, "genome")),
                         architecture: try StudyRecord.architecture(column(2, "architecture"), path: location),
                         objectives: try StudyRecord.objectives(column(3, "objectives")), costs: try StudyRecord.costs(column(4, "costs")),
                         state: state, seconds: seconds, failure: row[7], requeuedAs: row[8].flatMap { Int($0) }, worker: row[9])
        } catch let e as RecordError {
            throw StudyError(.corrupt, path: location, message: "study \(location) is damaged: trial \(number), column "
                             + "\(e.column ?? "?"), \(e.message)")
        }
    }

    public func claimWaitingTrial(worker: String) throws -> Trial? {
        try writable("claim a trial")
        return try perform("claiming a waiting trial") {
            let rows = try connection.execute("""
                UPDATE swiftnas_trials SET state = 'running', worker = $2, heartbeat = now()
                 WHERE study = $1 AND state = 'waiting' AND number = (
                       SELECT number FROM swiftnas_trials WHERE study = $1 AND state = 'waiting'
                        ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING \(Self.trialColumns)
                """, [String(studyID), worker]).rows
            return try rows.first.map(trial)
        }
    }

    public func createTrial(genome: Genome, architecture: Architecture, costs: Costs, worker: String, limit: Int) throws -> TrialCreation {
        try writable("create a trial")
        let columns: [String?]
        do {
            columns = [String(studyID), try StudyRecord.json(genome.map { JSONValue.int($0) }),
                       try StudyRecord.architectureText(architecture), try StudyRecord.costsJSON(costs).serialized(pretty: false),
                       worker, String(limit)]
        } catch {
            throw StudyError(.invalidTrial, path: location, message: "study \(location): cannot store a trial: \(error)")
        }
        return try perform("creating a trial") {
            let row = try connection.execute("SELECT outcome, trial FROM swiftnas_create_trial($1, $2, $3, $4, $5, $6)", columns).rows.first
            switch (row?[0], row?[1].flatMap { Int($0) }) {
            case ("created"?, let n?): return .created(number: n)
            case ("taken"?, let n?): return .taken(byTrial: n)
            case ("full"?, _): return .full
            default: throw StudyError(.storage, path: location, message: "study \(location): swiftnas_create_trial answered \(String(describing: row))")
            }
        }
    }

    public func heartbeat(trial number: Int, worker: String) throws {
        try writable("send a heartbeat")
        try perform("sending a heartbeat") {
            try connection.execute("""
                UPDATE swiftnas_trials SET heartbeat = now() WHERE study = $1 AND number = $2 AND worker = $3 AND state = 'running'
                """, [String(studyID), String(number), worker])
        }
    }

    public func finishTrial(_ trial: Trial, worker: String) throws -> Bool {
        try writable("store trial \(trial.number)")
        let (objectives, costs) = try StudyRecord.result(of: trial, in: location)
        return try perform("storing trial \(trial.number)") {
            let changed = try connection.execute("""
                UPDATE swiftnas_trials SET objectives = $4, costs = $5, state = $6, seconds = $7, failure = $8, finished = now()
                 WHERE study = $1 AND number = $2 AND worker = $3 AND state = 'running'
                """, [String(studyID), String(trial.number), worker, objectives, costs, trial.state.rawValue,
                      String(trial.seconds), trial.failure]).changed
            if changed == 1 { return true }
            // A retry after a lost answer: the first attempt may have been committed.
            let stored = try connection.execute("""
                SELECT state, worker, seconds FROM swiftnas_trials WHERE study = $1 AND number = $2
                """, [String(studyID), String(trial.number)]).rows.first
            return stored?[0] == trial.state.rawValue && stored?[1] == worker && stored?[2].flatMap { Double($0) } == trial.seconds
        }
    }

    public func failStaleTrials() throws -> [Int] {
        try writable("fail stale trials")
        return try perform("failing stale trials") {
            try connection.execute("SELECT swiftnas_fail_stale_trials($1)", [String(studyID)]).rows.compactMap { $0[0].flatMap { Int($0) } }
        }
    }

    public func updateCosts(of number: Int, _ costs: Costs) throws {
        try writable("update trial \(number)")
        let text: String
        do { text = try StudyRecord.costsJSON(costs).serialized(pretty: false) } catch {
            throw StudyError(.invalidTrial, path: location, message: "study \(location): cannot store the costs of trial \(number): \(error)")
        }
        try perform("updating trial \(number)") {
            let changed = try connection.execute("UPDATE swiftnas_trials SET costs = $3 WHERE study = $1 AND number = $2",
                                                 [String(studyID), String(number), text]).changed
            if changed == 0 { throw StudyError(.invalidTrial, path: location, message: "study \(location) has no trial \(number)") }
        }
    }

    // MARK: - Latency samples

    public func latencySamples() throws -> [(Architecture, Double)] {
        try perform("reading the latency samples") {
            try connection.execute("SELECT id, architecture, latency_ms FROM swiftnas_latency_samples WHERE study = $1 ORDER BY id",
                                   [String(studyID)]).rows.map { row in
                do {
                    guard let text = row[1] else { throw RecordError("is NULL", column: "architecture") }
                    guard let ms = row[2].flatMap({ Double($0) }) else { throw RecordError("is not a number", column: "latency_ms") }
                    return (try StudyRecord.architecture(text, path: location), ms)
                } catch let e as RecordError {
                    throw StudyError(.corrupt, path: location, message: "study \(location) is damaged: latency sample "
                                     + "\(row[0] ?? "?"), column \(e.column ?? "?"), \(e.message)")
                }
            }
        }
    }

    public func appendLatencySamples(_ samples: [(Architecture, Double)]) throws {
        try writable("store latency samples")
        var architectures: [JSONValue] = [], latencies: [JSONValue] = []
        for (architecture, ms) in samples {
            guard ms.isFinite else {
                throw StudyError(.invalidTrial, path: location, message: "study \(location): cannot store a latency sample of \(ms) ms")
            }
            do { architectures.append(.string(try StudyRecord.architectureText(architecture))) } catch {
                throw StudyError(.invalidTrial, path: location, message: "study \(location): cannot store a latency sample: \(error)")
            }
            latencies.append(.double(ms))
        }
        // One statement (atomic): the samples as two JSON arrays unnested side by side.
        try perform("storing latency samples") {
            try connection.execute("""
                INSERT INTO swiftnas_latency_samples(study, architecture, latency_ms)
                SELECT $1, a.value, l.value::DOUBLE PRECISION
                  FROM json_array_elements_text($2::JSON) WITH ORDINALITY a(value, i)
                  JOIN json_array_elements_text($3::JSON) WITH ORDINALITY l(value, i) USING (i) ORDER BY i
                """, [String(studyID), try StudyRecord.json(architectures), try StudyRecord.json(latencies)])
        }
    }

    // MARK: - Errors

    private func writable(_ what: String) throws {
        if isReadOnly { throw StudyError(.readOnly, path: location, message: "study \(location) was opened read-only: cannot \(what)") }
    }

    @discardableResult
    private func perform<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw Self.failure(error, location, doing: what) }
    }

    /// A `StudyError` for any error of a study operation: a lost connection is `.unavailable` (retry).
    static func failure(_ error: Error, _ where_: String, doing what: String) -> StudyError {
        if let e = error as? StudyError { return e }
        guard let e = error as? PostgresError else {
            return StudyError(.storage, path: where_, message: "study \(where_): \(what) failed: \(error)")
        }
        if e.connectionLost {
            return StudyError(.unavailable, path: where_, message: "study \(where_): \(what) failed, the database server is unreachable (\(e))")
        }
        return StudyError(.storage, path: where_, message: "study \(where_): \(what) failed (PostgreSQL: \(e))")
    }
}
