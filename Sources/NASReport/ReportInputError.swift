/// Why a run or ranking folder cannot be shown: the file and what is wrong, e.g.
/// "runs/pt/metrics.jsonl: no metrics log (expected a training run folder with metrics.jsonl)".
/// (A study that cannot be read is a `StudyError`.)
public struct ReportInputError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}
