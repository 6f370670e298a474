import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a report file could not be written.
public struct RankingWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Writes `data` all-or-nothing: to a temporary file in the destination's folder, flushed, then
/// renamed over `url`. A reader sees the old file or the whole new one; a failure leaves no temp file.
func writeAtomically(_ data: Data, to url: URL) throws {
    let target = url.standardizedFileURL
    let dir = target.deletingLastPathComponent().path
    let temp = dir + "/." + target.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    func failure(_ what: String) -> RankingWriteError {
        RankingWriteError(path: target.path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure("cannot create temporary file \(temp)") }
    var isOpen = true, renamed = false
    defer {
        if isOpen { close(fd) }
        if !renamed { unlink(temp) }
    }
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        guard var p = raw.baseAddress else { return }
        var left = raw.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write failed")
            }
            p += n
            left -= n
        }
    }
    guard fsync(fd) == 0 else { throw failure("fsync failed") }
    isOpen = false
    guard close(fd) == 0 else { throw failure("close failed") }
    guard rename(temp, target.path) == 0 else { throw failure("cannot rename \(temp)") }
    renamed = true
}
