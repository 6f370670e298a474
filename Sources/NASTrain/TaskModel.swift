import Foundation
import NASModels
import NASTensor
import NASText

/// A sentence-level task model: backbone + `SequenceClassificationHead`, as a fine-tuning checkpoint
/// stores it (config.json's `swiftnas_task` = {"kind", "task", "numLabels", "pooling"}).
public struct TaskModel {
    /// The backbone.
    public let model: Transformer
    /// The classification (or regression) head on the backbone's output.
    public let head: SequenceClassificationHead
    /// The task the head was trained for.
    public let task: GLUETask

    public init(model: Transformer, head: SequenceClassificationHead, task: GLUETask) {
        self.model = model; self.head = head; self.task = task
    }

    /// The `swiftnas_task` value of a checkpoint of this model.
    public static func taskJSON(_ task: GLUETask, pooling: SequenceClassificationHead.Pooling) -> JSONValue {
        .object(["kind": .string(task.isRegression ? "regression" : "classification"), "task": .string(task.rawValue),
                 "numLabels": .int(task.numLabels), "pooling": .string(pooling.rawValue)])
    }

    /// The `swiftnas_task` object of a checkpoint's config.json (nil when absent).
    public static func storedTask(in folder: URL) throws -> [String: JSONValue]? {
        let url = folder.appendingPathComponent("config.json")
        guard case .object(let o) = try JSONValue(parsing: try Data(contentsOf: url)) else { return nil }
        guard case .object(let task)? = o["swiftnas_task"] else { return nil }
        return task
    }

    /// Loads a fine-tuned checkpoint (backbone and head); a checkpoint without `swiftnas_task` is a
    /// `TrainingInputError`.
    public static func load(_ folder: URL) throws -> TaskModel {
        guard let stored = try storedTask(in: folder), case .string(let name)? = stored["task"], let task = GLUETask(name: name),
              case .string(let poolingName)? = stored["pooling"], let pooling = SequenceClassificationHead.Pooling(rawValue: poolingName) else {
            throw TrainingInputError(file: folder.appendingPathComponent("config.json").path, field: "swiftnas_task",
                                     "no fine-tuned task (field 'swiftnas_task' with \"task\" and \"pooling\"); "
                                     + "this is not a `swiftnas finetune` checkpoint")
        }
        // numLabels follows from the task; a stored value that disagrees marks a damaged or hand-edited file.
        if let stored = stored["numLabels"], stored != .int(task.numLabels) {
            throw TrainingInputError(file: folder.appendingPathComponent("config.json").path, field: "swiftnas_task.numLabels",
                                     "is \((try? stored.serialized(pretty: false)) ?? "?"), expected \(task.numLabels) for \(task.rawValue)")
        }
        let (model, _, _) = try Checkpoint.loadTransformer(from: folder)
        var rng = RandomGenerator(seed: 0)
        let head = SequenceClassificationHead(model.maxArchitecture, numLabels: task.numLabels, pooling: pooling, rng: &rng)
        _ = try Checkpoint.load(head, from: try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors")))
        return TaskModel(model: model, head: head, task: task)
    }

    /// Writes a new fine-tuning checkpoint folder of this model (backbone, head, `swiftnas_task`, and a copy of
    /// `vocabulary`) that `load` reads back: whole or not at all (`OutputFolder.createNew`).
    public func save(to folder: URL, vocabulary: URL) throws {
        try OutputFolder.createNew(folder) { staging in
            try Checkpoint.save(model, extra: [head], vocabulary: vocabulary, to: staging)
            try TrainingCheckpoint.addToConfig(staging.appendingPathComponent("config.json"), key: "swiftnas_task",
                                               value: Self.taskJSON(task, pooling: head.pooling))
        }
    }

    /// Logits [B, C] of a batch (eval mode), by `architecture` (a sub-network of the backbone of its width;
    /// default: the whole backbone).
    public func logits(_ batch: GLUEBatch, architecture: Architecture? = nil) -> Tensor {
        Autograd.noGrad {
            var rng = RandomGenerator(seed: 0)
            let hidden = model(batch.tokens, architecture: architecture).hidden
            return head(hidden, attentionMask: batch.tokens.attentionMask, training: false, rng: &rng)
        }
    }

    /// The mean task loss of a batch in eval mode (no dropout), recorded for a backward pass.
    public func loss(_ batch: GLUEBatch) -> Tensor { Self.loss(model, head, batch) }

    /// The mean task loss of `head` on `model`'s output for a batch, in eval mode.
    public static func loss(_ model: Transformer, _ head: SequenceClassificationHead, _ batch: GLUEBatch) -> Tensor {
        var rng = RandomGenerator(seed: 0)
        let hidden = model(batch.tokens, training: false, rng: &rng).hidden
        return head.loss(head(hidden, attentionMask: batch.tokens.attentionMask, training: false, rng: &rng), labels: batch.labels)
    }

    /// Predictions (class ids, or scores for regression) from logits.
    public static func predictions(_ logits: Tensor, regression: Bool) -> [Float] {
        let n = logits.shape[0], c = logits.shape[1], v = logits.scalars
        if regression { return v }
        return (0..<n).map { i in
            let row = v[(i * c)..<((i + 1) * c)]
            return Float(row.indices.max { row[$0] < row[$1] }! - i * c)
        }
    }

    /// The task's metrics on batches, of `architecture` (default: the whole backbone).
    public func evaluate(_ batches: [GLUEBatch], architecture: Architecture? = nil) -> [String: Double] {
        var predictions: [Float] = [], labels: [Float] = []
        for batch in batches {
            predictions += Self.predictions(logits(batch, architecture: architecture), regression: task.isRegression)
            labels += batch.labels
        }
        return task.evaluate(predictions: predictions, labels: labels)
    }
}
