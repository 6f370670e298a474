import Foundation
import NASModels
import NASTensor

/// A search space cut into K compact sub-spaces by size, one supernet trained per sub-space (AutoDistil;
/// Xu et al., NeurIPS 2022: "tiny", "small" and "base" sub-spaces, each a (low, high, step) range of layers,
/// hidden size, MLP ratio and heads, so that sub-networks of very different sizes stop competing for the same
/// weights). The sub-spaces' hidden sizes are disjoint, so each architecture belongs to at most one.
///
/// A partition file is one JSON object `{"name": NAME, "subspaces": [SPACE, …]}`, each SPACE in the search-space
/// file format (`SearchSpaceFile.swift`); `partitioned(into:)` cuts any space automatically.
public struct SubspacePartition: Equatable, Sendable {
    public var name: String
    public var subspaces: [SearchSpace]

    /// Checks that there are sub-spaces, all of one family and vocabulary, with disjoint hidden sizes.
    public init(name: String, subspaces: [SearchSpace], path: String = "(built-in)") throws {
        func fail(_ field: String, _ message: String) -> SearchSpaceError { SearchSpaceError(path: path, field: field, message: message) }
        guard let first = subspaces.first else { throw fail("subspaces", "expected at least one sub-space") }
        for (i, s) in subspaces.enumerated() {
            guard s.family == first.family, s.vocabSize == first.vocabSize else {
                throw fail("subspaces[\(i)]", "is a \(s.family) of vocabulary \(s.vocabSize); sub-space 0 is a \(first.family) "
                           + "of vocabulary \(first.vocabSize): the sub-spaces of one partition share family and vocabulary")
            }
            for j in 0..<i where !Set(subspaces[j].hidden).isDisjoint(with: s.hidden) {
                let both = Set(subspaces[j].hidden).intersection(s.hidden).sorted()
                throw fail("subspaces[\(i)].hidden", "shares hidden size \(both[0]) with subspaces[\(j)]; the sub-spaces' hidden sizes "
                           + "must be disjoint, so that every architecture belongs to one sub-space")
            }
        }
        self.name = name
        self.subspaces = subspaces
    }

    /// The index of the sub-space that holds `arch` (its genome encodes there), or nil.
    public func subspace(holding arch: Architecture) -> Int? {
        subspaces.firstIndex { $0.encode(arch) != nil }
    }

    // MARK: - Automatic partition

    /// Cuts `space` into `k` sub-spaces by size: the sorted choices of every size gene (depth, hidden, qkv, FFN
    /// width or ratio, stacked FFN width) are split into k contiguous runs, and sub-space i takes run i of each —
    /// small with small, as AutoDistil's sub-spaces are. Heads, operations and FFN counts stay whole. A gene with
    /// fewer than k choices gives neighbouring sub-spaces the same choice; hidden sizes (disjoint) need k of them.
    public static func partition(_ space: SearchSpace, into k: Int) throws -> SubspacePartition {
        func fail(_ field: String, _ message: String) -> SearchSpaceError {
            SearchSpaceError(path: space.name, field: field, message: message)
        }
        guard k >= 1 else { throw fail("subspaces", "expected at least 1 sub-space, got \(k)") }
        guard space.blocks == nil else { throw fail("blocks", "a space of whole-layer blocks has no size order to cut") }
        guard space.hidden.count >= k else {
            throw fail("hidden", "\(space.hidden.count) hidden size(s) cannot be cut into \(k) disjoint sub-spaces")
        }
        func run(_ values: [Int], _ i: Int) -> [Int] {
            let sorted = values.sorted(), n = sorted.count
            let lo = i * n / k
            return Array(sorted[lo..<max((i + 1) * n / k, lo + 1)])
        }
        let parts = try (0..<k).map { i -> SearchSpace in
            var s = space
            s.name = "\(space.name)-\(i + 1)of\(k)"
            s.depth = run(space.depth, i)
            s.hidden = run(space.hidden, i)
            s.qkv = space.qkv.map { run($0, i) }
            s.ffn = space.ffn.map { run($0, i) }
            s.ffnRatio = space.ffnRatio.map { run($0, i) }
            s.ffnStackWidth = space.ffnStackWidth.map { run($0, i) }
            do { try s.validate(path: s.name) } catch let error as SearchSpaceError {
                throw fail("subspaces[\(i)]" + (error.field.map { ".\($0)" } ?? ""), error.message)
            }
            return s
        }
        return try SubspacePartition(name: "\(space.name)-\(k)", subspaces: parts, path: space.name)
    }

    // MARK: - Files

    /// A sub-space run folder (`supernet train --subspaces`) holds the partition in this file and sub-space i's
    /// supernet run in `runName(i)`.
    public static let fileName = "subspaces.json"
    public static func runName(_ i: Int) -> String { "subspace-\(i + 1)" }

    /// The partition as JSON (the file format above).
    public var json: JSONValue {
        .object(["name": .string(name), "subspaces": .array(subspaces.map(\.json))])
    }

    /// Reads and validates a partition file; errors name the file and the field (`subspaces[1].hidden`).
    public static func load(from url: URL) throws -> SubspacePartition {
        guard let json = try partitionJSON(at: url) else {
            throw SearchSpaceError(path: url.path, field: "subspaces", message: "missing: a partition file is {\"name\", \"subspaces\": [space, …]}")
        }
        return try SubspacePartition(json: json, path: url.path)
    }

    /// The file's JSON when it is a partition file (an object with "subspaces"); nil for any other JSON object.
    public static func partitionJSON(at url: URL) throws -> JSONValue? {
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SearchSpaceError(path: url.path, message: "cannot read the file (expected a JSON search-space or partition file)")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: data) } catch { throw SearchSpaceError(path: url.path, message: "not valid JSON (\(error))") }
        guard case .object(let o) = json, o["subspaces"] != nil else { return nil }
        return json
    }

    public init(json: JSONValue, path: String) throws {
        func fail(_ field: String?, _ message: String) -> SearchSpaceError { SearchSpaceError(path: path, field: field, message: message) }
        guard case .object(let o) = json else { throw fail(nil, "expected a JSON object {\"name\", \"subspaces\"}") }
        if let unknown = o.keys.sorted().first(where: { !["name", "subspaces"].contains($0) }) {
            throw fail(unknown, "unknown field; allowed: name, subspaces")
        }
        guard case .string(let name)? = o["name"], !name.isEmpty else { throw fail("name", "expected a non-empty string") }
        guard case .array(let items)? = o["subspaces"], !items.isEmpty else {
            throw fail("subspaces", "expected a non-empty array of search spaces")
        }
        let spaces = try items.enumerated().map { i, item in
            do { return try SearchSpace(json: item, path: path) } catch let error as SearchSpaceError {
                throw fail("subspaces[\(i)]" + (error.field.map { ".\($0)" } ?? ""), error.message)
            }
        }
        try self.init(name: name, subspaces: spaces, path: path)
    }
}
