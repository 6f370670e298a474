import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A folder a command writes into (a training run, an export, search results). `check` tells, before any
/// work starts, whether the folder can be created (or, when it exists, written into), so that a long run
/// does not fail at its first checkpoint; `create` makes it; both fail with a sentence that names the
/// path and the problem ("runs/x: cannot create the output folder: a file exists at this path") instead
/// of Foundation's NSCocoaErrorDomain codes, which `describe` translates for any other file error.
public enum OutputFolder {
    /// Why an output folder (or a file in it) cannot be written.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        /// The path as given (relative paths stay relative).
        public let path: String
        public let message: String
        public init(path: String, message: String) { self.path = path; self.message = message }
        public var description: String { "\(path): \(message)" }
    }

    /// Checks that `url` is a writable folder, or that it can be created: the nearest existing ancestor is
    /// a folder this process may write into. Creates nothing.
    public static func check(_ url: URL) throws {
        let fm = FileManager.default
        let shown = url.relativePath
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw Failure(path: shown, message: "cannot create the output folder: a file exists at this path")
            }
            guard access(url.path, W_OK | X_OK) == 0 else {
                throw Failure(path: shown, message: "the output folder exists but cannot be written into (\(errnoText()))")
            }
            return
        }
        var ancestor = url.standardizedFileURL.deletingLastPathComponent()
        while !fm.fileExists(atPath: ancestor.path, isDirectory: &isFolder) && ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard isFolder.boolValue else {
            throw Failure(path: shown, message: "cannot create the output folder: \(ancestor.path) is a file, not a folder")
        }
        guard access(ancestor.path, W_OK | X_OK) == 0 else {
            throw Failure(path: shown, message: "cannot create the output folder: \(ancestor.path) cannot be written into (\(errnoText()))")
        }
    }

    /// Creates `url` (and missing parents) unless it is a folder already; failures as sentences.
    public static func create(_ url: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue { return }
        try check(url)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw Failure(path: url.relativePath, message: "cannot create the output folder: \(describe(error))")
        }
    }

    /// Makes the new folder `url` whole or not at all: refuses an existing path, checks it can be made,
    /// lets `fill` write into a staging folder beside it, then renames the staging folder into place (a
    /// failure or a kill leaves no half-written folder under the name; the staging folder is removed).
    public static func createNew(_ url: URL, _ fill: (URL) throws -> Void) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: url.path) else { throw Failure(path: url.relativePath, message: "already exists; choose a new folder") }
        try check(url)
        let staging = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        defer { try? fm.removeItem(at: staging) }
        try create(staging)
        try fill(staging)
        guard rename(staging.path, url.path) == 0 else {
            throw Failure(path: url.relativePath, message: "cannot move the folder into place: \(errnoText())")
        }
    }

    /// A file-system error as a short phrase ("permission denied", "no space left on the device", …):
    /// Foundation's CocoaError codes and POSIX errors translated, anything else as it describes itself.
    public static func describe(_ error: Error) -> String {
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
            case .fileWriteFileExists: return "a file exists at this path"
            case .fileWriteOutOfSpace: return "no space left on the device"
            case .fileWriteVolumeReadOnly: return "the file system is read-only"
            case .fileNoSuchFile, .fileReadNoSuchFile: return "a folder on the way does not exist"
            case .fileWriteInvalidFileName, .fileReadInvalidFileName: return "the name is not valid here"
            default: break
            }
            if let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                return String(cString: strerror(Int32(underlying.code))).lowercased()
            }
        }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)).lowercased() }
        if let failure = error as? Failure { return failure.message }
        return "\(error)"
    }

    static func errnoText() -> String { String(cString: strerror(errno)).lowercased() }
}
