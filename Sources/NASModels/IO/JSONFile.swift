import Foundation

/// The one way a Codable JSON file is read and written: decoding errors name the file and the field (dotted
/// path, `configurations[3].bits`) and what was expected; writes go through `AtomicFile` (pretty, sorted keys).
public enum JSONFile {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let file: String
        public let field: String?
        public let message: String
        public init(file: String, field: String?, _ message: String) { (self.file, self.field, self.message) = (file, field, message) }
        public var description: String { "\(file): " + (field.map { "field '\($0)' " } ?? "") + message }
    }

    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw Failure(file: url.path, field: nil, "cannot be read (\(error.localizedDescription))") }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            func name(_ path: [CodingKey]) -> String? {
                let parts = path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }
                let joined = parts.joined()
                return joined.isEmpty ? nil : String(joined.drop { $0 == "." })
            }
            switch error {
            case .keyNotFound(let key, let context): throw Failure(file: url.path, field: name(context.codingPath + [key]), "is missing")
            case .typeMismatch(let t, let context): throw Failure(file: url.path, field: name(context.codingPath), "has the wrong type, expected \(t)")
            case .valueNotFound(let t, let context): throw Failure(file: url.path, field: name(context.codingPath), "is null, expected \(t)")
            case .dataCorrupted(let context):
                throw Failure(file: url.path, field: name(context.codingPath), context.codingPath.isEmpty ? "is not valid JSON" : context.debugDescription)
            @unknown default: throw Failure(file: url.path, field: nil, "\(error)")
            }
        }
    }

    public static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(value) + Data("\n".utf8), to: url)
    }
}
