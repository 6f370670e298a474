import Foundation
import NASModels
import NASTensor

/// A benchmark file's public error: the file, the row (array index and, once read, its id), the dotted
/// field path inside the row and the message. `FlexiBERTBenchmarkError` and `LTSBenchmarkError` are two.
protocol BenchmarkRowError: Error {
    associatedtype ID: Hashable
    init(file: String, row: Int?, id: ID?, path: String, message: String)
}

extension FlexiBERTBenchmarkError: BenchmarkRowError {}
extension LTSBenchmarkError: BenchmarkRowError {}

/// Validates one row of a benchmark JSON file, remembering its index and (once read) its id for error
/// messages; `Failure` is the benchmark's error type. Each benchmark reads its own fields with these helpers.
struct BenchmarkRowReader<Failure: BenchmarkRowError> {
    let file: String
    let row: Int
    var id: Failure.ID?

    init(file: String, row: Int) {
        self.file = file
        self.row = row
    }

    /// Reads and validates a benchmark file: a JSON array of rows, each read by `read`, ids unique.
    static func load<Row>(from url: URL, id: (Row) -> Failure.ID,
                          read: (inout Self, JSONValue) throws -> Row) throws -> [Row] {
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw Failure(file: url.path, row: nil, id: nil, path: "", message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path, id: id, read: read)
    }

    /// Parses and validates benchmark JSON; `file` names the source in error messages.
    static func parse<Row>(_ data: Data, file: String, id: (Row) -> Failure.ID,
                           read: (inout Self, JSONValue) throws -> Row) throws -> [Row] {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: data)
        } catch {
            throw Failure(file: file, row: nil, id: nil, path: "", message: "invalid JSON: \(error)")
        }
        guard case .array(let items) = document else {
            throw Failure(file: file, row: nil, id: nil, path: "",
                          message: "expected a JSON array of rows, got \(FlexiBERTBenchmark.describe(document))")
        }
        guard !items.isEmpty else { throw Failure(file: file, row: nil, id: nil, path: "", message: "no rows") }
        var rows: [Row] = []
        var firstRowOfID: [Failure.ID: Int] = [:]
        rows.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            var reader = Self(file: file, row: index)
            let row = try read(&reader, item)
            if let earlier = firstRowOfID[id(row)] { throw reader.error("id", "duplicate id (also row \(earlier))") }
            firstRowOfID[id(row)] = index
            rows.append(row)
        }
        return rows
    }

    func error(_ path: String, _ message: String) -> Failure {
        Failure(file: file, row: row, id: id, path: path, message: message)
    }

    func object(_ value: JSONValue, _ path: String) throws -> [String: JSONValue] {
        guard case .object(let members) = value else {
            throw error(path, "expected an object, got \(FlexiBERTBenchmark.describe(value))")
        }
        return members
    }

    func member(_ object: [String: JSONValue], _ key: String, _ parent: String) throws -> JSONValue {
        let path = parent.isEmpty ? key : parent + "." + key
        guard let value = object[key] else { throw error(path, "missing") }
        return value
    }

    /// A JSON integer literal (`4.0` or `"4"` is refused).
    func int(_ value: JSONValue, _ path: String) throws -> Int {
        guard case .int(let i) = value else {
            throw error(path, "expected an integer, got \(FlexiBERTBenchmark.describe(value))")
        }
        return i
    }

    /// A positive JSON integer literal.
    func positiveInt(_ value: JSONValue, _ path: String) throws -> Int {
        let i = try int(value, path)
        guard i > 0 else { throw error(path, "expected a positive integer, got \(i)") }
        return i
    }

    /// A list of `count` positive integers (one per layer).
    func positiveInts(_ value: JSONValue, count: Int, _ path: String) throws -> [Int] {
        guard case .array(let items) = value else {
            throw error(path, "expected an array of \(count) positive integers, got \(FlexiBERTBenchmark.describe(value))")
        }
        guard items.count == count else {
            throw error(path, "expected \(count) entries (one per layer, n_layer = \(count)), got \(items.count)")
        }
        return try items.enumerated().map { try positiveInt($1, "\(path)[\($0)]") }
    }

    /// A finite number, integer or not.
    func finiteNumber(_ value: JSONValue, _ path: String) throws -> Double {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d) where d.isFinite: return d
        default: throw error(path, "expected a number, got \(FlexiBERTBenchmark.describe(value))")
        }
    }

    /// A finite number > 0 (perplexities, parameter counts; upstream LTS writes counts as `6631088.0`).
    func positiveNumber(_ value: JSONValue, _ path: String) throws -> Double {
        let d: Double
        switch value {
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw error(path, "expected a number, got \(FlexiBERTBenchmark.describe(value))")
        }
        guard d.isFinite && d > 0 else { throw error(path, "expected a finite positive number, got \(d)") }
        return d
    }
}
