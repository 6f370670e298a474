import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// Writes a file all-or-nothing: the bytes go to a temporary file in the destination's folder, which
/// is flushed to disk and then renamed over the destination. A reader sees the old file or the whole
/// new one, and a failure (or a throw from the caller's body) leaves no partial file behind.
public enum AtomicFile {
    /// Why a write failed (callers may wrap it in their own error type, naming the file).
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Writes `data` to `url` all-or-nothing.
    public static func write(_ data: Data, to url: URL) throws {
        do { try write(to: url) { try $0.write(data) } } catch let f as Failure {
            throw Failure(reason: "\(url.path): \(f.reason)")
        }
    }

    /// A sink for bytes, handed to the body of `write(to:_:)`.
    struct Writer {
        fileprivate let fd: Int32
        fileprivate(set) var bytesWritten = 0

        mutating func write(_ buffer: UnsafeRawBufferPointer) throws {
            guard var p = buffer.baseAddress else { return }
            var left = buffer.count
            while left > 0 {
                let n = systemWrite(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(reason: "write failed: \(String(cString: strerror(errno)))")
                }
                p += n
                left -= n
                bytesWritten += n
            }
        }

        mutating func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        mutating func write(_ data: Data) throws {
            try data.withUnsafeBytes { try write($0) }
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Runs `body` against a temporary file beside `url`, then renames it to `url`.
    static func write(to url: URL, _ body: (inout Writer) throws -> Void) throws {
        let target = url.standardizedFileURL
        let dir = target.deletingLastPathComponent().path
        let temp = dir + "/." + target.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Failure(reason: "cannot create temporary file \(temp): \(errnoText())")
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        var writer = Writer(fd: fd)
        try body(&writer)
        guard fsync(fd) == 0 else { throw Failure(reason: "fsync of \(temp) failed: \(errnoText())") }
        closed = true
        guard close(fd) == 0 else { throw Failure(reason: "close of \(temp) failed: \(errnoText())") }
        guard rename(temp, target.path) == 0 else {
            throw Failure(reason: "cannot rename \(temp) to \(target.path): \(errnoText())")
        }
        renamed = true
        // Make the rename itself durable (best effort: some file systems refuse fsync on a folder).
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}
