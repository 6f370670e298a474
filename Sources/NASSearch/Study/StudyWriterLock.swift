import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one-writer rule of a SQLite study: a writable `SQLiteStudyStorage` holds an exclusive `flock` on the study file
/// for as long as it is open, so a second writer (another `swiftnas search` on the same file, in any
/// process) is refused at once instead of interleaving trial numbers with the first. Read-only opens take
/// no lock (`study show` during a search is fine).
///
/// Why `flock` and not SQLite's own locks: SQLite locks only for the length of a transaction, so two
/// searches would both open the file and then race for each trial number. `flock` locks belong to the
/// open file description and are dropped by the kernel when the holder exits (kill -9 included), so a
/// killed search never leaves a stale lock. They do not interact with SQLite's POSIX (`fcntl`) locks on
/// Linux, but closing *any* descriptor of the file drops this process's POSIX locks, so the descriptor is
/// closed only after the SQLite connection (see `SQLiteStudyStorage.close`), and the lock is taken before SQLite opens.
final class StudyWriterLock {
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { release() }

    /// Takes the writer's lock of the study file at `url`, or throws `StudyError` (`.locked`) naming the
    /// file and, when the system says, the process that holds it.
    static func acquire(_ url: URL, path: String) throws -> StudyWriterLock {
        let fd = Glibc.open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw StudyError(.storage, path: path, message: "cannot open study \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(fd)
            guard code == EWOULDBLOCK else {
                throw StudyError(.storage, path: path, message: "cannot lock study \(path): \(String(cString: strerror(code)))")
            }
            let holder = holderDescription(of: url)
            throw StudyError(.locked, path: path, message: "\(path) is open for writing by another process\(holder): an SQLite "
                             + "study has one writer; several workers need a PostgreSQL study "
                             + "(--study postgresql://user@host:port/db?study=NAME)")
        }
        return StudyWriterLock(descriptor: fd)
    }

    /// Drops the lock (closing the descriptor). Call after the SQLite connection is closed.
    func release() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
    }

    /// " (pid 1234)" for the process holding an exclusive `flock` on the file, read from /proc/locks;
    /// " (this process)" when it is this one; "" when unknown.
    static func holderDescription(of url: URL) -> String {
        var info = stat()
        guard stat(url.path, &info) == 0,
              let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return "" }
        let dev = UInt64(info.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff), minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        let file = "\(String(major, radix: 16, uppercase: false).leftPadded(2)):"
            + "\(String(minor, radix: 16, uppercase: false).leftPadded(2)):\(info.st_ino)"
        // e.g. "3: FLOCK  ADVISORY  WRITE 4242 00:2a:1839 0 EOF"
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", fields[5] == Substring(file),
                  let pid = Int32(fields[4]) else { continue }
            return pid == getpid() ? " (this process)" : " (pid \(pid))"
        }
        return ""
    }
}

private extension String {
    /// The string with leading zeros up to `width` characters.
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
