import Foundation
import NASSearch

/// What the views show of a study: its settings and every trial, read once, read-only.
///
/// `StudySnapshot.open(_:)` is the one place where the report and the dashboard open a study: a file path
/// (SQLite study, opened read-only — never written, not even to roll back a killed writer's transaction)
/// or a `postgresql://` URL (`StudyLocation`), read through a read-only PostgreSQL connection.
public struct StudySnapshot: Sendable {
    /// The study as pages show it: the path, or the URL without its password.
    public var location: String
    public var settings: StudySettings
    public var trials: [Trial]

    public init(location: String, settings: StudySettings, trials: [Trial]) {
        self.location = location; self.settings = settings; self.trials = trials
    }

    /// Reads the study at `location` read-only. Errors are `StudyError`s naming the study.
    public static func open(_ location: String) throws -> StudySnapshot {
        let study = try storage(location)
        defer { study.close() }
        return StudySnapshot(location: study.location, settings: study.settings, trials: try study.trials())
    }

    /// A token that changes when the study at `location` changes (the dashboard's refresh): a file's size
    /// and modification time; a PostgreSQL study's number of trials and of finished ones.
    public static func version(_ location: String) -> String {
        switch try? StudyLocation(parsing: location) {
        case .file(let url)?:
            guard let a = try? FileManager.default.attributesOfItem(atPath: url.path) else { return "missing" }
            return "\((a[.size] as? NSNumber)?.int64Value ?? -1):\((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        case .postgres?:
            guard let trials = try? open(location).trials else { return "unreadable" }
            return "\(trials.count):\(trials.filter { $0.state == .complete || $0.state == .failed }.count)"
        case nil: return "invalid"
        }
    }

    private static func storage(_ location: String) throws -> StudyStorage {
        switch try StudyLocation(parsing: location) {
        case .file(let url):
            do {
                return try SQLiteStudyStorage.open(at: url, readOnly: true)
            } catch let error as StudyError where error.kind == .readOnly {
                throw StudyError(.readOnly, path: location, message: "study \(location) holds an unfinished transaction of a killed "
                                 + "search; the report reads studies read-only and does not roll it back: resume the search "
                                 + "(or run `swiftnas study show \(location)`) first")
            }
        case .postgres(let address):
            return try PostgresStudyStorage.open(address, readOnly: true)
        }
    }

    /// The study's search space, when its stored JSON is one (nil for a space this build cannot read).
    public var space: SearchSpace? { try? SearchSpace(json: settings.space, path: location) }
}
