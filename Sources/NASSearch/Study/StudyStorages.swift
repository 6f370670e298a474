import Foundation

/// Opening a study wherever it lives (`StudyLocation`): the one way the CLI, the search loop and the
/// dashboard get a `StudyStorage`.
public enum StudyStorages {
    /// Opens the study at `location` for a search: an SQLite file is created when missing (and locked for
    /// its one writer), a PostgreSQL study is created or joined. An existing study must have been created
    /// with exactly `settings` — the error names the first field that differs, as on resume — and, for
    /// PostgreSQL, with `heartbeatTimeout` when given (nil: the stored one; 60 s for a new study).
    public static func openOrCreate(_ location: StudyLocation, settings: StudySettings, heartbeatTimeout: Double? = nil) throws -> StudyStorage {
        switch location {
        case .file(let url): return try SQLiteStudyStorage.openOrCreate(at: url, settings: settings)
        case .postgres(let address): return try PostgresStudyStorage.openOrCreate(address, settings: settings, heartbeatTimeout: heartbeatTimeout)
        }
    }

    /// Opens an existing study to read it (while searches write to it). An SQLite study left with an
    /// unfinished transaction by a killed writer — which only a writing connection can roll back — is
    /// opened for writing once, when no writer holds it, to roll it back to its last committed trial.
    public static func openForReading(_ location: StudyLocation) throws -> StudyStorage {
        switch location {
        case .file(let url):
            do {
                return try SQLiteStudyStorage.open(at: url, readOnly: true)
            } catch let error as StudyError where error.kind == .readOnly {
                return try SQLiteStudyStorage.open(at: url, readOnly: false)
            }
        case .postgres(let address):
            return try PostgresStudyStorage.open(address, readOnly: true)
        }
    }

    /// The settings and every trial of the study at `location` (a path or a `postgresql://` URL), read
    /// once; `StudyError`s name the study.
    public static func read(_ location: String) throws -> (settings: StudySettings, trials: [Trial]) {
        let study = try openForReading(try StudyLocation(parsing: location))
        defer { study.close() }
        return (study.settings, try study.trials())
    }
}
