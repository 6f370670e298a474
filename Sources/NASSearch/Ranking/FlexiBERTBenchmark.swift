import Foundation
import NASModels

/// One encoder layer of a FlexiBERT benchmark row, as labelled in the file.
///
/// These are the *labels*; see the benchmark README (caveats 1–2) for how they probably relate to the
/// models that were actually trained. Turning a row into a model is the model builder's decision.
public struct FlexiBERTLayerSpec: Equatable, Hashable, Sendable {
    /// `operation_type` + `operation_parameter`: SA/SDP, SA/WMA, LT/DFT, LT/DCT or DSC/kernel.
    public typealias Operation = Architecture.Operation

    public var operation: Operation
    /// `num_operation_heads`.
    public var heads: Int
    /// `feed_forward_dimension` (in the trained models only the width of the *extra* stacked FFN
    /// layers when `numFeedForward` = 3; README caveat 2).
    public var feedForwardDimension: Int
    /// `num_feed_forward`: stacked FFN dense layers (1 or 3).
    public var numFeedForward: Int

    public init(operation: Operation, heads: Int, feedForwardDimension: Int, numFeedForward: Int) {
        self.operation = operation
        self.heads = heads
        self.feedForwardDimension = feedForwardDimension
        self.numFeedForward = numFeedForward
    }
}

/// One architecture of the FlexiBERT benchmark with its GLUE dev scores (× 100).
public struct FlexiBERTRow: Equatable, Sendable {
    /// Upstream array index (even in the dev half).
    public var id: Int
    /// Keys: `FlexiBERTBenchmark.taskNames` (the 8 GLUE tasks and `glue`, their mean), all present.
    public var scores: [String: Double]
    /// `hparams.model_hparam_overrides.hidden_size` (128 or 256 in the published file).
    public var hiddenSize: Int
    /// `…nas_config.encoder_layers`, bottom to top.
    public var layers: [FlexiBERTLayerSpec]

    public init(id: Int, scores: [String: Double], hiddenSize: Int, layers: [FlexiBERTLayerSpec]) {
        self.id = id
        self.scores = scores
        self.hiddenSize = hiddenSize
        self.layers = layers
    }

    /// The mean GLUE dev score, the usual ranking target.
    public var glue: Double { scores["glue"] ?? .nan }
}

/// A malformed benchmark file, naming the file, the row (array index and id) and the field path.
public struct FlexiBERTBenchmarkError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// Array index of the offending row (nil for a file-level problem).
    public let row: Int?
    /// The row's `id` when it could be read.
    public let id: Int?
    /// Dotted path inside the row, e.g. `hparams.model_hparam_overrides.hidden_size`.
    public let path: String
    public let message: String

    public var description: String {
        var s = file + ": "
        if let row { s += "row \(row)" + (id.map { " (id \($0))" } ?? "") + ": " }
        if !path.isEmpty { s += path + ": " }
        return s + message
    }
}

/// Reader for the FlexiBERT benchmark JSON (`shared/data/flexibert/benchmark-dev.json`): a JSON array
/// of rows, format in that folder's README. Parsing is strict (`JSONValue`: duplicate keys, bad UTF-8
/// refused) and every row is validated; the first problem is thrown as a `FlexiBERTBenchmarkError`.
/// Fields not needed here (`time_to_train`, the constant training `hparams`, …) are ignored.
public enum FlexiBERTBenchmark {
    /// The 8 GLUE tasks in the file, then `glue` (their plain mean).
    public static let taskNames = ["cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts", "glue"]

    /// The dev half's location relative to the package root.
    public static let devRelativePath = "../shared/data/flexibert/benchmark-dev.json"

    /// Reads and validates a benchmark file.
    public static func load(from url: URL) throws -> [FlexiBERTRow] {
        try RowReader.load(from: url, id: \.id) { try $0.read($1) }
    }

    /// Parses and validates benchmark JSON; `file` names the source in error messages.
    public static func parse(_ data: Data, file: String) throws -> [FlexiBERTRow] {
        try RowReader.parse(data, file: file, id: \.id) { try $0.read($1) }
    }

    /// A short rendering of a JSON value for "got …" in messages: strings quoted, scalars as written,
    /// containers by type.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return JSONValue.quoted(s.count > 40 ? String(s.prefix(40)) + "…" : s)
        case .int(let i): return String(i)
        case .double(let d): return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

private typealias RowReader = BenchmarkRowReader<FlexiBERTBenchmarkError>

/// Reads one FlexiBERT row.
private extension BenchmarkRowReader where Failure == FlexiBERTBenchmarkError {
    mutating func read(_ value: JSONValue) throws -> FlexiBERTRow {
        let top = try object(value, "")
        // The id first, so that every later message can name it.
        let idValue = try member(top, "id", "")
        guard case .int(let id) = idValue, id >= 0 else {
            throw error("id", "expected a non-negative integer, got \(FlexiBERTBenchmark.describe(idValue))")
        }
        self.id = id

        let scoreObject = try object(try member(top, "scores", ""), "scores")
        var scores: [String: Double] = [:]
        for task in FlexiBERTBenchmark.taskNames {
            scores[task] = try finiteNumber(try member(scoreObject, task, "scores"), "scores." + task)
        }
        let taskMean = FlexiBERTBenchmark.taskNames.dropLast().reduce(0) { $0 + scores[$1]! } / 8
        guard abs(taskMean - scores["glue"]!) <= 0.01 else {
            throw error("scores.glue", "\(scores["glue"]!) is not the mean of the 8 task scores (\(taskMean))")
        }

        let hparams = try object(try member(top, "hparams", ""), "hparams")
        let overridesPath = "hparams.model_hparam_overrides"
        let overrides = try object(try member(hparams, "model_hparam_overrides", "hparams"), overridesPath)
        let hiddenSize = try positiveInt(try member(overrides, "hidden_size", overridesPath),
                                         overridesPath + ".hidden_size")
        let nasPath = overridesPath + ".nas_config"
        let nas = try object(try member(overrides, "nas_config", overridesPath), nasPath)
        let layersPath = nasPath + ".encoder_layers"
        let layersValue = try member(nas, "encoder_layers", nasPath)
        guard case .array(let layerValues) = layersValue else {
            throw error(layersPath, "expected an array, got \(FlexiBERTBenchmark.describe(layersValue))")
        }
        guard !layerValues.isEmpty else { throw error(layersPath, "no layers") }
        var layers: [FlexiBERTLayerSpec] = []
        for (k, layerValue) in layerValues.enumerated() {
            layers.append(try layer(layerValue, "\(layersPath)[\(k)]"))
        }
        return FlexiBERTRow(id: id, scores: scores, hiddenSize: hiddenSize, layers: layers)
    }

    func layer(_ value: JSONValue, _ path: String) throws -> FlexiBERTLayerSpec {
        let fields = try object(value, path)
        let typeValue = try member(fields, "operation_type", path)
        let parameter = try member(fields, "operation_parameter", path)
        let parameterPath = path + ".operation_parameter"
        let operation: FlexiBERTLayerSpec.Operation
        switch typeValue {
        case .string("SA"):
            switch parameter {
            case .string("SDP"): operation = .sdp
            case .string("WMA"): operation = .wma
            default:
                throw error(parameterPath, "expected SDP or WMA for SA, got \(FlexiBERTBenchmark.describe(parameter))")
            }
        case .string("LT"):
            switch parameter {
            case .string("DFT"): operation = .dft
            case .string("DCT"): operation = .dct
            default:
                throw error(parameterPath, "expected DFT or DCT for LT, got \(FlexiBERTBenchmark.describe(parameter))")
            }
        case .string("DSC"):
            guard case .int(let kernel) = parameter, kernel > 0 else {
                throw error(parameterPath,
                            "expected a positive integer kernel size for DSC, got \(FlexiBERTBenchmark.describe(parameter))")
            }
            operation = .dynamicConv(kernel: kernel)
        default:
            throw error(path + ".operation_type",
                        "expected SA, LT or DSC, got \(FlexiBERTBenchmark.describe(typeValue))")
        }
        return FlexiBERTLayerSpec(
            operation: operation,
            heads: try positiveInt(try member(fields, "num_operation_heads", path), path + ".num_operation_heads"),
            feedForwardDimension: try positiveInt(try member(fields, "feed_forward_dimension", path),
                                                  path + ".feed_forward_dimension"),
            numFeedForward: try positiveInt(try member(fields, "num_feed_forward", path), path + ".num_feed_forward"))
    }
}
