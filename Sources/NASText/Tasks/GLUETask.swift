/// The GLUE tasks SwiftNAS fine-tunes and evaluates on (Wang et al., "GLUE: A Multi-Task Benchmark
/// and Analysis Platform for Natural Language Understanding", ICLR 2019).
///
/// The raw value is GLUE's own task-folder name (`SST-2`, `CoLA`, …), so a task encodes to JSON and
/// names its data folder the same way.
public enum GLUETask: String, CaseIterable, Codable, Sendable {
    /// Stanford Sentiment Treebank, binary sentiment of one sentence. Metric: accuracy.
    case sst2 = "SST-2"
    /// Corpus of Linguistic Acceptability, grammaticality of one sentence. Metric: Matthews correlation.
    case cola = "CoLA"
    /// Microsoft Research Paraphrase Corpus, is a sentence pair a paraphrase. Metrics: F1, accuracy.
    case mrpc = "MRPC"
    /// Recognizing Textual Entailment, does sentence 1 entail sentence 2. Metric: accuracy.
    case rte = "RTE"
    /// Semantic Textual Similarity Benchmark, similarity of a pair scored 0–5 (regression).
    /// Metrics: Pearson and Spearman correlation.
    case stsb = "STS-B"

    /// The task named `name`, compared case-insensitively and ignoring `-`, `_` and spaces, so
    /// "SST-2", "sst2", "cola", "sts-b" and "STS_B" are all accepted. Nil for an unknown name.
    public init?(name: String) {
        let key = Self.normalized(name)
        guard let task = Self.allCases.first(where: { Self.normalized($0.rawValue) == key }) else {
            return nil
        }
        self = task
    }

    private static func normalized(_ name: String) -> String {
        String(name.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " })
    }

    /// True for STS-B, whose label is a real-valued score; false for the classification tasks.
    public var isRegression: Bool { self == .stsb }

    /// Outputs of the task head: the number of classes, or 1 for the regression score.
    public var numLabels: Int { isRegression ? 1 : 2 }

    /// Names of the head's outputs, indexed by class id (`labelNames[id]`); for STS-B the one
    /// output is the similarity `score`. RTE's order follows GLUE's convention (0 = entailment).
    public var labelNames: [String] {
        switch self {
        case .sst2: return ["negative", "positive"]
        case .cola: return ["unacceptable", "acceptable"]
        case .mrpc: return ["not_equivalent", "equivalent"]
        case .rte: return ["entailment", "not_entailment"]
        case .stsb: return ["score"]
        }
    }

    /// True when an example is a pair of sentences (MRPC, RTE, STS-B).
    public var isPair: Bool {
        switch self {
        case .sst2, .cola: return false
        case .mrpc, .rte, .stsb: return true
        }
    }

    /// The metrics GLUE reports for the task, the primary one first: `accuracy` (SST-2, RTE),
    /// `mcc` (CoLA), `f1` then `accuracy` (MRPC), `pearson` then `spearman` (STS-B).
    public var metricNames: [String] {
        switch self {
        case .sst2, .rte: return ["accuracy"]
        case .cola: return ["mcc"]
        case .mrpc: return ["f1", "accuracy"]
        case .stsb: return ["pearson", "spearman"]
        }
    }

    /// The metric used to compare models on this task: the first of `metricNames`.
    public var primaryMetric: String { metricNames[0] }

    /// Every metric of `metricNames`, keyed by name.
    ///
    /// For a classification task, `predictions` and `labels` are class ids (rounded to the nearest
    /// integer; a non-finite prediction matches no label, so it is always wrong). For
    /// STS-B they are scores. Both arrays must have the same length (see `TaskMetrics` for the
    /// value on empty or constant input).
    public func evaluate(predictions: [Float], labels: [Float]) -> [String: Double] {
        precondition(predictions.count == labels.count,
                     "GLUETask.evaluate: \(predictions.count) predictions for \(labels.count) labels")
        var metrics: [String: Double] = [:]
        if isRegression {
            metrics["pearson"] = TaskMetrics.pearson(predictions, labels)
            metrics["spearman"] = TaskMetrics.spearman(predictions, labels)
            return metrics
        }
        // Distinct sentinels, so a NaN prediction never matches a NaN label.
        let predicted = predictions.map { Self.classId($0, invalid: -1) }
        let truth = labels.map { Self.classId($0, invalid: -2) }
        for name in metricNames {
            switch name {
            case "accuracy": metrics[name] = TaskMetrics.accuracy(predictions: predicted, labels: truth)
            case "f1": metrics[name] = TaskMetrics.f1(predictions: predicted, labels: truth)
            case "mcc": metrics[name] = TaskMetrics.matthewsCorrelation(predictions: predicted, labels: truth)
            default: preconditionFailure("GLUETask.evaluate: no metric named \(name)")
            }
        }
        return metrics
    }

    /// The class id a float stands for: the nearest integer, or `invalid` (no class) when it is not
    /// finite or implausibly large.
    private static func classId(_ value: Float, invalid: Int) -> Int {
        let rounded = value.rounded()
        guard rounded.isFinite, abs(rounded) < 1e9 else { return invalid }
        return Int(rounded)
    }
}
