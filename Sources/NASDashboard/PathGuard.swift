import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Resolves a path taken from a request inside one of the folders the dashboard was given, and refuses
/// anything that would leave it: each component is percent-decoded once (so `%2e%2e` is `..`), and a
/// component that is `.` or `..`, empty after decoding, or holds `/`, `\` or NUL is refused; the result's
/// real path (symbolic links resolved by `realpath(3)`) must be the folder's real path or lie below it,
/// so a link inside the folder that points out of it is refused too.
public enum PathGuard {
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        /// The request names a path outside the folder (or a malformed component).
        case outside(String)
        /// Inside the folder, but nothing is there.
        case notFound(String)

        public var description: String {
            switch self {
            case .outside(let p): return "\(p): the path leaves the folder the dashboard serves"
            case .notFound(let p): return "\(p): not found"
            }
        }
    }

    /// The real path of `components` below `root`.
    public static func resolve(_ components: [Substring], inside root: URL) throws -> URL {
        let shown = components.joined(separator: "/")
        var decoded: [String] = []
        for raw in components {
            guard let c = raw.removingPercentEncoding else { throw Refusal.outside(shown) }
            if c.isEmpty || c == "." || c == ".." || c.contains("/") || c.contains("\\") || c.contains("\0") {
                throw Refusal.outside(shown)
            }
            decoded.append(c)
        }
        guard let base = realPath(root.path) else { throw Refusal.notFound(root.path) }
        let candidate = decoded.reduce(base) { $0 + "/" + $1 }
        guard let real = realPath(candidate) else { throw Refusal.notFound(shown) }
        guard real == base || real.hasPrefix(base == "/" ? "/" : base + "/") else { throw Refusal.outside(shown) }
        return URL(fileURLWithPath: real)
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
