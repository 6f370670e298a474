import Foundation
import NASModels
import NASTensor

/// Which ranking benchmark a file holds, told from its first row: FlexiBERT rows (encoders with GLUE
/// scores) carry `hparams`; LTS rows (decoders with WikiText-103 perplexity) carry `config` and
/// `valid_ppl`. Anything else is refused with an error naming the file and what was expected.
public enum RankingBenchmarkKind: String, Sendable {
    case flexiBERT = "flexibert"
    case lts

    /// The kind of benchmark `data` (the contents of `file`) holds.
    public static func detect(_ data: Data, file: String) throws -> RankingBenchmarkKind {
        func fail(_ message: String) -> RankingBenchmarkKindError { RankingBenchmarkKindError(file: file, message: message) }
        let document: JSONValue
        do {
            document = try JSONValue(parsing: data)
        } catch {
            throw fail("invalid JSON: \(error)")
        }
        guard case .array(let items) = document, let first = items.first else {
            throw fail("expected a non-empty JSON array of benchmark rows, got \(FlexiBERTBenchmark.describe(document))")
        }
        guard case .object(let row) = first else {
            throw fail("row 0: expected an object, got \(FlexiBERTBenchmark.describe(first))")
        }
        if row["hparams"] != nil { return .flexiBERT }
        if row["config"] != nil && row["valid_ppl"] != nil { return .lts }
        throw fail("row 0 is neither a FlexiBERT row (with \"hparams\") nor an LTS row (with \"config\" and "
            + "\"valid_ppl\"); its keys: \(row.keys.sorted().joined(separator: ", "))")
    }

    /// The kind of benchmark in the file at `url`.
    public static func detect(contentsOf url: URL) throws -> RankingBenchmarkKind {
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw RankingBenchmarkKindError(file: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        return try detect(data, file: url.path)
    }
}

/// A file that is not a ranking benchmark SwiftNAS knows.
public struct RankingBenchmarkKindError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}
