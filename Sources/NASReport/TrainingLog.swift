import Foundation
import NASModels

/// A training run's metrics log, `metrics.jsonl` (what `Trainer` appends): one JSON object per line,
/// `{"step": int, name: number | null, …}` — training entries (`loss`, `lr`, `grad_norm`, `tokens_per_s`,
/// `elapsed_s` and a step's own values such as `lm`, `kd_*`, `params_*`) and evaluation entries (`eval_*`).
/// `null` (a non-finite value) is read as NaN. A line that is not such an object is skipped and
/// counted (a run being written may end in a partial line).
public struct TrainingLog: Sendable {
    public struct Entry: Sendable {
        public var step: Int
        public var values: [String: Double]
    }

    public var entries: [Entry]
    /// Lines that could not be read.
    public var skippedLines: Int

    public init(text: String) {
        var entries: [Entry] = [], skipped = 0
        for line in text.split(whereSeparator: \.isNewline) where !line.allSatisfy(\.isWhitespace) {
            guard case .object(let object)? = try? JSONValue(parsing: String(line)), case .int(let step)? = object["step"] else {
                skipped += 1; continue
            }
            var values: [String: Double] = [:]
            for (key, value) in object where key != "step" {
                switch value {
                case .int(let v): values[key] = Double(v)
                case .double(let v): values[key] = v
                case .null: values[key] = .nan
                default: continue
                }
            }
            entries.append(Entry(step: step, values: values))
        }
        self.entries = entries
        skippedLines = skipped
    }

    /// Reads `metrics.jsonl` in `run`; a missing or unreadable file is an error naming it.
    public init(run: URL) throws {
        let file = run.appendingPathComponent("metrics.jsonl")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw ReportInputError(path: file.relativePath, message: "no metrics log (expected a training run folder with metrics.jsonl)")
        }
        self.init(text: String(decoding: data, as: UTF8.self))
    }

    /// Every metric name logged, sorted.
    public var names: [String] { Set(entries.flatMap(\.values.keys)).sorted() }

    /// (step, value) of `name` wherever it was logged.
    public func series(_ name: String) -> (steps: [Double], values: [Double]) {
        var steps: [Double] = [], values: [Double] = []
        for e in entries { if let v = e.values[name] { steps.append(Double(e.step)); values.append(v) } }
        return (steps, values)
    }

    /// Whether any entry holds `params_*`: a supernet run (`SupernetTraining` logs each member's size).
    public var isSupernet: Bool { entries.contains { $0.values.keys.contains { $0.hasPrefix("params_") } } }
}
