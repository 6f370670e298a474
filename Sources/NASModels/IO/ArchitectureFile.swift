import Foundation
import NASTensor

// An architecture file: one `Architecture` as a JSON object, the keys those of its `Codable` form:
//
//   {"family": "encoder", "vocabSize": 30522, "maxPositions": 512, "hidden": 384,
//    "layers": [{"heads": 12, "qkv": 384, "ffn": 1536}, …]}
//
// Required: family ("encoder" | "decoder"), vocabSize, maxPositions, hidden, layers (each with heads,
// qkv, ffn; optional operation, ffnStack, hidden, bottleneck). Optional, with the family's defaults of
// `Architecture.init`: typeVocabSize (encoder 2, decoder 0), activation ("gelu" | "gelu_tanh" | "relu";
// encoder gelu, decoder gelu_tanh), layerNormEps (encoder 1e-12, decoder 1e-5), embeddingSize.

/// Why an architecture file (or an embedded architecture value) cannot be read or written. The message
/// names the file and the field, as a dotted path (`layers[2].qkv`), and says what was expected.
public struct ArchitectureFileError: Error, Equatable, LocalizedError, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        case cannotRead, invalidJSON, missingField, wrongType, invalidValue, writeFailed
    }

    public let kind: Kind
    /// The file concerned.
    public let path: String
    /// The field concerned, as a dotted path, when the failure is about one.
    public let field: String?
    /// What is wrong and what was expected.
    public let message: String

    public init(_ kind: Kind, path: String, field: String? = nil, message: String) {
        self.kind = kind; self.path = path; self.field = field; self.message = message
    }

    /// The message without the file: "field 'layers[2].qkv': …".
    public var detail: String {
        switch (kind, field) {
        case (.missingField, let f?): return "missing field '\(f)', \(message)"
        case (_, let f?): return "field '\(f)': \(message)"
        case (_, nil): return message
        }
    }

    public var description: String { "architecture \(path): \(detail)" }
    public var errorDescription: String? { description }
}

extension Architecture {
    /// Reads an architecture file (see the format above), fills the optional keys with the family's
    /// defaults, decodes and `validate()`s it. Every failure is an `ArchitectureFileError` naming the
    /// file and the field.
    public static func load(from url: URL) throws -> Architecture {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ArchitectureFileError(.cannotRead, path: path, message: "file not found")
        }
        guard !isDirectory.boolValue else {
            throw ArchitectureFileError(.cannotRead, path: path, message: "is a directory, expected a JSON file")
        }
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ArchitectureFileError(.cannotRead, path: path, message: "cannot read: \(error.localizedDescription)")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch {
            throw ArchitectureFileError(.invalidJSON, path: path, message: "not valid JSON (\(error)), expected a JSON object")
        }
        return try decode(json, path: path)
    }

    /// Decodes and validates an architecture from a JSON value; `path` names the file and `fieldPrefix`
    /// (e.g. `swiftnas_architecture`) the value's place in it, in error messages.
    public static func decode(_ json: JSONValue, path: String, fieldPrefix: String? = nil) throws -> Architecture {
        func field(_ f: String) -> String {
            guard let p = fieldPrefix else { return f }
            return f.isEmpty ? p : p + "." + f
        }
        guard case .object(var members) = json else {
            throw ArchitectureFileError(.wrongType, path: path, field: fieldPrefix,
                                        message: "is a JSON \(json.typeName), expected a JSON object")
        }
        // The optional keys, with the defaults of `Architecture.init`.
        if case .string(let name)? = members["family"], let family = Family(rawValue: name) {
            let defaults = Architecture(family: family, vocabSize: 1, maxPositions: 1, hidden: 1, layers: [])
            if members["typeVocabSize"] == nil { members["typeVocabSize"] = .int(defaults.typeVocabSize) }
            if members["activation"] == nil { members["activation"] = .string(defaults.activation.rawValue) }
            if members["layerNormEps"] == nil { members["layerNormEps"] = .double(Double("\(defaults.layerNormEps)")!) }
        }
        let filled = JSONValue.object(members)
        // Numbers first: Foundation's JSONDecoder reports a fraction where an integer belongs (or a number
        // out of Float's range) as "not valid JSON", without the field.
        try checkNumbers(filled, path: path, prefix: fieldPrefix)
        let arch: Architecture
        do {
            arch = try JSONDecoder().decode(Architecture.self, from: filled.serializedData(pretty: false))
        } catch let error as DecodingError {
            throw describe(error, in: filled, path: path, prefix: fieldPrefix)
        } catch {
            throw ArchitectureFileError(.invalidValue, path: path, field: fieldPrefix, message: "\(error)")
        }
        do {
            try arch.validate()
        } catch let invalid as Invalid {
            throw ArchitectureFileError(.invalidValue, path: path, field: field(invalid.field), message: invalid.message)
        }
        return arch
    }

    /// Writes the architecture as pretty JSON with sorted keys, atomically (temporary file + rename).
    public func save(to url: URL) throws {
        let path = url.path
        let text: String
        do {
            text = try JSONValue(encoding: self).serialized(pretty: true) + "\n"
        } catch {
            throw ArchitectureFileError(.writeFailed, path: path, message: "cannot encode: \(error)")
        }
        do {
            try AtomicFile.write(to: url) { out in try out.write(Array(text.utf8)) }
        } catch let failure as AtomicFile.Failure {
            throw ArchitectureFileError(.writeFailed, path: path, message: "write failed: \(failure.reason)")
        }
    }

    // MARK: - Decoding errors

    /// What each field holds, for "missing field" and "wrong type" messages.
    private static let expectations: [String: String] = [
        "family": "expected \"encoder\" or \"decoder\"",
        "vocabSize": "expected a positive integer",
        "maxPositions": "expected a positive integer",
        "typeVocabSize": "expected an integer ≥ 0",
        "hidden": "expected a positive integer",
        "embeddingSize": "expected a positive integer",
        "layers": "expected an array of layer objects {\"heads\", \"qkv\", \"ffn\"}",
        "activation": "expected \"gelu\", \"gelu_tanh\" or \"relu\"",
        "layerNormEps": "expected a positive number",
        "heads": "expected a positive integer",
        "qkv": "expected a positive integer (divisible by heads)",
        "ffn": "expected a positive integer",
        "ffnStack": "expected an array of positive integers",
        "bottleneck": "expected a positive integer",
        "operation": "expected \"sdp\", \"wma\", \"dft\", \"dct\" or \"conv<k>\"",
    ]

    /// `layers[2].qkv` from a coding path.
    static func dottedField(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                out += (out.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return out
    }

    /// The value at a coding path, when there is one.
    private static func value(at path: [CodingKey], in json: JSONValue) -> JSONValue? {
        var v = json
        for key in path {
            switch v {
            case .object(let o):
                guard let next = o[key.stringValue] else { return nil }
                v = next
            case .array(let a):
                guard let i = key.intValue, a.indices.contains(i) else { return nil }
                v = a[i]
            default:
                return nil
            }
        }
        return v
    }

    private static func expectation(of path: [CodingKey], type: Any.Type?) -> String {
        let last = path.last(where: { $0.intValue == nil })?.stringValue ?? ""
        if path.last?.intValue != nil, last == "ffnStack" { return "expected a positive integer" }
        if path.last?.intValue != nil, last == "layers" { return "expected a layer object {\"heads\", \"qkv\", \"ffn\"}" }
        if let e = expectations[last] { return e }
        switch type.map({ "\($0)" }) {
        case "Int"?: return "expected an integer"
        case "Float"?, "Double"?: return "expected a number"
        case "String"?: return "expected a string"
        default: return "expected a valid value"
        }
    }

    /// The integer fields hold integers, `layerNormEps` a number a Float can hold.
    private static func checkNumbers(_ json: JSONValue, path: String, prefix: String?) throws {
        func name(_ f: String) -> String { prefix.map { $0 + "." + f } ?? f }
        func integer(_ v: JSONValue?, _ field: String) throws {
            guard let v, v != .null else { return }
            switch v {
            case .int: return
            case .double(let d):
                throw ArchitectureFileError(.wrongType, path: path, field: name(field),
                                            message: "is \(d), expected an integer")
            default:
                return  // other types: reported by the decoder, with the expectation
            }
        }
        guard case .object(let top) = json else { return }
        for key in ["vocabSize", "maxPositions", "typeVocabSize", "hidden", "embeddingSize"] { try integer(top[key], key) }
        if case .double(let d)? = top["layerNormEps"] {
            let f = Float(d)
            if !f.isFinite || (d != 0 && f == 0) {
                throw ArchitectureFileError(.invalidValue, path: path, field: name("layerNormEps"),
                                            message: "is \(d), expected a positive number within Float's range")
            }
        }
        guard case .array(let layers)? = top["layers"] else { return }
        for (i, layer) in layers.enumerated() {
            guard case .object(let l) = layer else { continue }
            for key in ["heads", "qkv", "ffn", "hidden", "bottleneck"] { try integer(l[key], "layers[\(i)].\(key)") }
            if case .array(let stack)? = l["ffnStack"] {
                for (j, v) in stack.enumerated() { try integer(v, "layers[\(i)].ffnStack[\(j)]") }
            }
        }
    }

    private static func describe(_ error: DecodingError, in json: JSONValue, path: String,
                                 prefix: String?) -> ArchitectureFileError {
        func name(_ p: [CodingKey]) -> String? {
            let f = dottedField(p)
            guard let prefix else { return f.isEmpty ? nil : f }
            return f.isEmpty ? prefix : prefix + "." + f
        }
        func found(_ p: [CodingKey]) -> String {
            guard let v = value(at: p, in: json) else { return "" }
            switch v {
            case .string(let s): return "is \(JSONValue.quoted(s)), "
            case .int(let i): return "is \(i), "
            case .double(let d): return "is \(d), "
            default: return "is a JSON \(v.typeName), "
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let p = context.codingPath + [key]
            return ArchitectureFileError(.missingField, path: path, field: name(p),
                                         message: expectation(of: p, type: nil))
        case .typeMismatch(let type, let context):
            let p = context.codingPath
            let v = value(at: p, in: json)
            return ArchitectureFileError(.wrongType, path: path, field: name(p),
                                         message: "is a JSON \(v?.typeName ?? "value"), \(expectation(of: p, type: type))")
        case .valueNotFound(let type, let context):
            let p = context.codingPath
            return ArchitectureFileError(.wrongType, path: path, field: name(p),
                                         message: "is null, \(expectation(of: p, type: type))")
        case .dataCorrupted(let context):
            let p = context.codingPath
            guard !p.isEmpty else {
                return ArchitectureFileError(.invalidValue, path: path, field: prefix,
                                             message: "not a valid architecture: \(context.debugDescription)")
            }
            return ArchitectureFileError(.invalidValue, path: path, field: name(p),
                                         message: found(p) + expectation(of: p, type: nil))
        @unknown default:
            return ArchitectureFileError(.invalidValue, path: path, field: prefix, message: "\(error)")
        }
    }
}
