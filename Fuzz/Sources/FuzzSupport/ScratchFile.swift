import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private folder for the inputs of file-based parsers: one per process, in /dev/shm when it is
/// writable (a RAM file system; every input is written once), removed when the process exits normally.
public enum Scratch {
    public static let folder: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array((base + "/swiftnas-fuzz-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("fuzz harness: cannot create a scratch folder in \(base)") }
        let path = String(cString: made)
        atexit { _ = try? FileManager.default.removeItem(atPath: Scratch.folder) }
        return path
    }()

    /// Writes `bytes` to `folder/name` (creating subfolders), replacing what was there; returns its URL.
    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, to name: String) -> URL {
        let path = folder + "/" + name
        let parent = (path as NSString).deletingLastPathComponent
        if parent != folder { mkdir(parent, 0o700) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("fuzz harness: cannot write \(path): errno \(errno)") }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { fatalError("fuzz harness: short write to \(path): errno \(errno)") }
            done += n
        }
        close(fd)
        return URL(fileURLWithPath: path)
    }
}
