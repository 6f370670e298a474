import Foundation
import NASReport

/// The folders given with `--runs`: each one, and its subfolders two levels down, that holds a training
/// run (`metrics.jsonl`) or a ranking (`ranking.json`). A view is addressed by the folder's index and its
/// path below it (`/folder/0/pt/sst2`), resolved through `PathGuard`.
public struct RunFolders: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Index of the `--runs` folder.
        public var root: Int
        /// Path below it ("" for the folder itself).
        public var path: String
        public var kind: String   // "training run" or "ranking"
        public var href: String { "/folder/\(root)" + (path.isEmpty ? "" : "/" + path) }
    }

    public var roots: [URL]
    public init(roots: [URL]) { self.roots = roots }

    /// Every run and ranking folder, in path order.
    public func entries() -> [Entry] {
        let fm = FileManager.default
        var out: [Entry] = []
        for (k, root) in roots.enumerated() {
            func visit(_ relative: String, depth: Int) {
                let url = relative.isEmpty ? root : root.appendingPathComponent(relative)
                if fm.fileExists(atPath: url.appendingPathComponent("ranking.json").path) {
                    out.append(Entry(root: k, path: relative, kind: "ranking"))
                } else if fm.fileExists(atPath: url.appendingPathComponent("metrics.jsonl").path) {
                    out.append(Entry(root: k, path: relative, kind: "training run"))
                }
                guard depth < 2, let names = try? fm.contentsOfDirectory(atPath: url.path) else { return }
                for name in names.sorted() where !name.hasPrefix(".") {
                    var isFolder: ObjCBool = false
                    let child = url.appendingPathComponent(name)
                    // Links are not followed while listing (a link out of the folder is never listed).
                    guard (try? child.resourceValues(forKeys: [.isSymbolicLinkKey]).isSymbolicLink) != true,
                          fm.fileExists(atPath: child.path, isDirectory: &isFolder), isFolder.boolValue else { continue }
                    visit(relative.isEmpty ? name : relative + "/" + name, depth: depth + 1)
                }
            }
            visit("", depth: 0)
        }
        return out
    }

    /// A token that changes when a metrics log or ranking of a listed folder changes (size and time).
    public func version() -> String {
        entries().map { e -> String in
            let folder = e.path.isEmpty ? roots[e.root] : roots[e.root].appendingPathComponent(e.path)
            let file = folder.appendingPathComponent(e.kind == "ranking" ? "ranking.json" : "metrics.jsonl")
            let a = try? FileManager.default.attributesOfItem(atPath: file.path)
            let size = (a?[.size] as? NSNumber)?.int64Value ?? -1
            let time = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(e.root)/\(e.path):\(size):\(time)"
        }.joined(separator: ",")
    }
}
