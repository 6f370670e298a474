import Foundation
import NASModels
import NASTensor

// A search-space file: one JSON object.
//
//   {"name": "my-space", "family": "encoder", "vocabSize": 30522, "maxPositions": 512,
//    "depth": {"min": 1, "max": 8}, "hidden": {"min": 128, "max": 768, "step": 16},
//    "layers": "shared", "heads": [1, 2, 4, 8], "qkv": {"min": 128, "max": 512, "step": 64},
//    "ffn": {"min": 256, "max": 2048, "step": 128}}
//
// Required: name, family ("encoder" | "decoder"), vocabSize, maxPositions, depth, hidden, layers
// ("shared" | "per-layer"). A choice list is an array of values or a range {"min", "max", "step" (default 1)}.
// Layer genes: either "blocks" (an array of {"heads", "ffn", optional "qkv", "bottleneck", "operation"})
// or "heads" with one of "ffn" / "ffnRatio", and optionally "qkv", "operation" ("sdp", "wma", "dft",
// "dct", "conv<k>"), "ffnCount" and "ffnStackWidth" (with "ffnCount"). Optional: embeddingSize, activation ("gelu" | "gelu_tanh" | "relu").

/// Why a search-space file cannot be used; names the file and the field, and what was expected.
public struct SearchSpaceError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let field: String?
    public let message: String

    public init(path: String, field: String? = nil, message: String) {
        self.path = path; self.field = field; self.message = message
    }

    public var description: String {
        "search space \(path): " + (field.map { "field '\($0)': " } ?? "") + message
    }
}

extension SearchSpace {
    /// The keys a space file may hold.
    static let keys: Set<String> = ["name", "family", "vocabSize", "maxPositions", "embeddingSize", "activation", "depth",
                                    "hidden", "layers", "blocks", "operation", "heads", "qkv", "ffn", "ffnRatio", "ffnCount",
                                    "ffnStackWidth"]

    /// Reads and validates a space file (format above).
    public static func load(from url: URL) throws -> SearchSpace {
        let path = url.path
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SearchSpaceError(path: path, message: "cannot read the file (expected a JSON search-space file)")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: data) } catch {
            throw SearchSpaceError(path: path, message: "not valid JSON (\(error))")
        }
        return try SearchSpace(json: json, path: path)
    }

    /// A space from its JSON form; `path` names the source in errors.
    public init(json: JSONValue, path: String) throws {
        func fail(_ field: String?, _ message: String) -> SearchSpaceError {
            SearchSpaceError(path: path, field: field, message: message)
        }
        guard case .object(let o) = json else { throw fail(nil, "expected a JSON object") }
        if let unknown = o.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw fail(unknown, "unknown field; allowed: \(Self.keys.sorted().joined(separator: ", "))")
        }
        func required(_ key: String) throws -> JSONValue {
            guard let v = o[key], v != .null else { throw fail(key, "missing") }
            return v
        }
        func string(_ key: String, allowed: [String]) throws -> String? {
            guard let v = o[key], v != .null else { return nil }
            guard case .string(let s) = v, allowed.contains(s) else {
                throw fail(key, "expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            return s
        }
        func positive(_ v: JSONValue, _ field: String) throws -> Int {
            guard case .int(let i) = v, i > 0 else { throw fail(field, "expected a positive integer, got \(Self.show(v))") }
            return i
        }
        func choices(_ key: String) throws -> [Int]? {
            guard let v = o[key], v != .null else { return nil }
            var values: [Int]
            switch v {
            case .array(let items):
                values = try items.enumerated().map { try positive($1, "\(key)[\($0)]") }
            case .object(let r):
                if let extra = r.keys.sorted().first(where: { !["min", "max", "step"].contains($0) }) {
                    throw fail("\(key).\(extra)", "unknown range field; allowed: min, max, step")
                }
                guard let lo = r["min"], let hi = r["max"] else { throw fail(key, "a range needs \"min\" and \"max\"") }
                let a = try positive(lo, key + ".min"), b = try positive(hi, key + ".max")
                let step = try r["step"].map { try positive($0, key + ".step") } ?? 1
                guard a <= b else { throw fail(key, "min \(a) is larger than max \(b)") }
                // Counted before it is expanded: {"min": 1, "max": 1e18} must be refused, not allocated.
                let count = (b - a) / step + 1
                guard count <= Self.maxChoices else {
                    throw fail(key, "range \(a)...\(b) step \(step) has \(count) choices, expected at most "
                               + "\(Self.maxChoices) (raise \"step\" or narrow the range)")
                }
                values = Array(stride(from: a, through: b, by: step))
            default:
                throw fail(key, "expected an array of positive integers or a range {\"min\", \"max\", \"step\"}")
            }
            guard !values.isEmpty else { throw fail(key, "needs at least one choice") }
            guard Set(values).count == values.count else { throw fail(key, "has repeated choices") }
            return values
        }
        guard case .string(let name) = try required("name"), !name.isEmpty else { throw fail("name", "expected a non-empty string") }
        let family = Architecture.Family(rawValue: try string("family", allowed: ["encoder", "decoder"]) ?? "")
        guard let family else { throw fail("family", "missing (expected \"encoder\" or \"decoder\")") }
        let layersValue = try string("layers", allowed: ["shared", "per-layer"])
        guard let layersValue, let layerGenes = LayerGenes(rawValue: layersValue) else {
            throw fail("layers", "missing (expected \"shared\" or \"per-layer\")")
        }
        let activation = try string("activation", allowed: ["gelu", "gelu_tanh", "relu"]).flatMap(Architecture.Activation.init)
        let operations: [Architecture.Operation]? = try o["operation"].map { v in
            guard case .array(let items) = v, !items.isEmpty else { throw fail("operation", "expected a non-empty array of operation names") }
            return try items.enumerated().map { i, item in
                guard case .string(let s) = item, let op = Architecture.Operation(s) else {
                    throw fail("operation[\(i)]", "expected \"sdp\", \"wma\", \"dft\", \"dct\" or \"conv<k>\" (odd k), got \(Self.show(item))")
                }
                return op
            }
        }
        let blocks: [Block]? = try o["blocks"].map { v in
            guard case .array(let items) = v, !items.isEmpty else { throw fail("blocks", "expected a non-empty array of block objects") }
            return try items.enumerated().map { i, item in
                let f = "blocks[\(i)]"
                guard case .object(let b) = item else { throw fail(f, "expected an object {\"heads\", \"ffn\", …}") }
                if let extra = b.keys.sorted().first(where: { !["heads", "qkv", "ffn", "bottleneck", "operation"].contains($0) }) {
                    throw fail("\(f).\(extra)", "unknown block field; allowed: heads, qkv, ffn, bottleneck, operation")
                }
                guard let heads = b["heads"], let ffn = b["ffn"] else { throw fail(f, "a block needs \"heads\" and \"ffn\"") }
                var op = Architecture.Operation.sdp
                if let v = b["operation"] {
                    guard case .string(let s) = v, let parsed = Architecture.Operation(s) else {
                        throw fail("\(f).operation", "expected \"sdp\", \"wma\", \"dft\", \"dct\" or \"conv<k>\"")
                    }
                    op = parsed
                }
                return Block(heads: try positive(heads, f + ".heads"), qkv: try b["qkv"].map { try positive($0, f + ".qkv") },
                             ffn: try positive(ffn, f + ".ffn"),
                             bottleneck: try b["bottleneck"].map { try positive($0, f + ".bottleneck") }, operation: op)
            }
        }
        guard let depth = try choices("depth") else { throw fail("depth", "missing") }
        guard let hidden = try choices("hidden") else { throw fail("hidden", "missing") }
        self.init(name: name, family: family, vocabSize: try positive(try required("vocabSize"), "vocabSize"),
                  maxPositions: try positive(try required("maxPositions"), "maxPositions"),
                  embeddingSize: try o["embeddingSize"].flatMap { $0 == .null ? nil : try positive($0, "embeddingSize") },
                  activation: activation, depth: depth, hidden: hidden, layers: layerGenes, blocks: blocks,
                  operation: operations, heads: try choices("heads"), qkv: try choices("qkv"), ffn: try choices("ffn"),
                  ffnRatio: try choices("ffnRatio"), ffnCount: try choices("ffnCount"),
                  ffnStackWidth: try choices("ffnStackWidth"))
        try validate(path: path)
    }

    /// The most choices a gene may have (a range is refused before it is materialised beyond this).
    public static let maxChoices = 4096

    static func show(_ v: JSONValue) -> String {
        (try? v.serialized(pretty: false)).map { $0.count > 40 ? String($0.prefix(40)) + "…" : $0 } ?? "?"
    }

    /// Checks that the choices describe architectures that can be built: one source of FFN widths,
    /// blocks exclusive with the per-gene choices, a heads choice dividing every qkv (or hidden),
    /// decoders with attention only, and the smallest and largest members valid.
    public func validate(path: String = "(built-in)") throws {
        func fail(_ field: String?, _ message: String) -> SearchSpaceError {
            SearchSpaceError(path: path, field: field, message: message)
        }
        if let blocks {
            for key in ["operation": operation != nil, "heads": heads != nil, "qkv": qkv != nil, "ffn": ffn != nil,
                        "ffnRatio": ffnRatio != nil, "ffnCount": ffnCount != nil,
                        "ffnStackWidth": ffnStackWidth != nil].filter(\.value).keys.sorted() {
                throw fail(key, "cannot be combined with \"blocks\" (a block fixes the whole layer)")
            }
            if family == .decoder, let i = blocks.firstIndex(where: { $0.bottleneck != nil || !$0.operation.isAttention }) {
                throw fail("blocks[\(i)]", "decoders take attention blocks without bottleneck only")
            }
            // Every block must build at every hidden size (heads | qkv, conv kernels, …).
            for (i, block) in blocks.enumerated() {
                for h in hidden {
                    let layer = Architecture.Layer(heads: block.heads, qkv: block.qkv ?? block.bottleneck ?? h, ffn: block.ffn,
                                                   operation: block.operation, bottleneck: block.bottleneck)
                    let arch = Architecture(family: family, vocabSize: vocabSize, maxPositions: maxPositions, hidden: h, layers: [layer])
                    do { try arch.validate() } catch {
                        throw fail("blocks[\(i)]", "is not a valid layer at hidden \(h): \(error)")
                    }
                }
            }
        } else {
            guard let heads else { throw fail("heads", "missing (or give \"blocks\")") }
            switch (ffn != nil, ffnRatio != nil) {
            case (false, false): throw fail("ffn", "missing: give \"ffn\" or \"ffnRatio\" (or \"blocks\")")
            case (true, true): throw fail("ffnRatio", "give either \"ffn\" or \"ffnRatio\", not both")
            default: break
            }
            if ffnStackWidth != nil && ffnCount == nil {
                throw fail("ffnStackWidth", "needs \"ffnCount\" (the stacked layers it sets the width of)")
            }
            for width in qkv ?? hidden where !heads.contains(where: { width % $0 == 0 }) {
                throw fail(qkv == nil ? "hidden" : "qkv", "\(width) is divisible by no choice of heads \(heads)")
            }
            if family == .decoder, let ops = operation, let i = ops.firstIndex(where: { !$0.isAttention }) {
                throw fail("operation[\(i)]", "\(ops[i]) mixes all positions; decoders take \"sdp\" or \"wma\" only")
            }
        }
        if maxDepth > 0, embeddingSize.map({ $0 <= 0 }) ?? false { throw fail("embeddingSize", "must be positive") }
        // The deepest member's layer list is sized before an extreme is decoded (MemoryBudget).
        do {
            try MemoryBudget.require(Size(maxDepth) * Architecture.bytesPerLayerObjects, for: "the deepest member (\(maxDepth) layers)")
        } catch { throw fail("depth", "\(maxDepth) is too large: \(error)") }
        // The extremes must build (catches e.g. a WMA head size or conv kernel the model refuses).
        for genome in [genes.map { _ in 0 }, genes.map { $0.choices - 1 }, extreme(largest: true), extreme(largest: false)] {
            do { try decode(repaired(genome)).validate() } catch {
                throw fail(nil, "a member of the space is not a valid architecture: \(error)")
            }
        }
    }

    /// The space as JSON (the file format above; ranges written as value lists).
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "family": .string(family.rawValue), "vocabSize": .int(vocabSize),
            "maxPositions": .int(maxPositions), "depth": .array(depth.map(JSONValue.int)),
            "hidden": .array(hidden.map(JSONValue.int)), "layers": .string(layers.rawValue),
        ]
        if let embeddingSize { o["embeddingSize"] = .int(embeddingSize) }
        if let activation { o["activation"] = .string(activation.rawValue) }
        for (key, values) in [("heads", heads), ("qkv", qkv), ("ffn", ffn), ("ffnRatio", ffnRatio), ("ffnCount", ffnCount),
                              ("ffnStackWidth", ffnStackWidth)] {
            if let values { o[key] = .array(values.map(JSONValue.int)) }
        }
        if let operation { o["operation"] = .array(operation.map { .string($0.description) }) }
        if let blocks {
            o["blocks"] = .array(blocks.map { b in
                var m: [String: JSONValue] = ["heads": .int(b.heads), "ffn": .int(b.ffn)]
                if let q = b.qkv { m["qkv"] = .int(q) }
                if let n = b.bottleneck { m["bottleneck"] = .int(n) }
                if b.operation != .sdp { m["operation"] = .string(b.operation.description) }
                return .object(m)
            })
        }
        return .object(o)
    }
}
