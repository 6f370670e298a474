import Foundation

/// Why a study cannot be created, opened, read or written. `description` names the study (a file, or a
/// PostgreSQL URL) and what is wrong, e.g. "runs/s.db is not a SwiftNAS study (not an SQLite database)".
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
        /// A `--study` argument that is neither a file path nor a valid `postgresql://` URL.
        case invalidLocation
        /// The database server cannot be reached (refused, gone, timed out): worth retrying.
        case unavailable
        /// Any other failure of the file system or of the database.
        case storage
    }

    public let kind: Kind
    /// The study, as given (a file path, or a URL without its password).
    public let path: String
    /// The whole message, naming the study.
    public let message: String

    public init(_ kind: Kind, path: String, message: String) {
        self.kind = kind; self.path = path; self.message = message
    }

    public var description: String { message }
    public var errorDescription: String? { message }
}
