import Foundation
import NASSearch

/// What the views show of a study: its settings and every trial, read once, read-only.
///
/// `StudySnapshot.open(_:)` is the one place where the report and the dashboard open a study: a file path
/// (SQLite study, opened read-only — never written, not even to roll back a killed writer's transaction)
/// or a `postgresql://` / `postgres://` URL, which this build cannot read yet and refuses with a clear
/// `StudyError`.
public struct StudySnapshot: Sendable {
    /// The study as the user named it.
    public var location: String
    public var settings: StudySettings
    public var trials: [Trial]

    public init(location: String, settings: StudySettings, trials: [Trial]) {
        self.location = location; self.settings = settings; self.trials = trials
    }

    /// Reads the study at `location` read-only. Errors are `StudyError`s naming the study.
    public static func open(_ location: String) throws -> StudySnapshot {
        let lower = location.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            throw StudyError(.storage, path: location, message: "\(redacted(location)): PostgreSQL studies are not available in "
                             + "this build of SwiftNAS; give the path of an SQLite study file")
        }
        if lower.contains("://") {
            throw StudyError(.notFound, path: location, message: "\(location): not a study file path or a postgresql:// URL")
        }
        let study: Study
        do {
            study = try Study.open(at: URL(fileURLWithPath: location), readOnly: true)
        } catch let error as StudyError where error.kind == .readOnly {
            throw StudyError(.readOnly, path: location, message: "study \(location) holds an unfinished transaction of a killed "
                             + "search; the report reads studies read-only and does not roll it back: resume the search "
                             + "(or run `swiftnas study show \(location)`) first")
        }
        defer { study.close() }
        return StudySnapshot(location: location, settings: study.settings, trials: try study.trials())
    }

    /// A study location for pages and messages: a URL's password (if any) replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = "***"
        return parts.string ?? url
    }

    /// The study's search space, when its stored JSON is one (nil for a space this build cannot read).
    public var space: SearchSpace? { try? SearchSpace(json: settings.space, path: location) }
}
