import Foundation
import NASModels
import NASText
import NASTrain

/// InstaTune's search objective (Sridhar et al., 2023): the task metric (GLUE's primary one: accuracy, F1, MCC
/// or Pearson) of a sub-network of an elastically fine-tuned model, with the weights it inherits, on fixed
/// labelled batches (the dev set), without retraining. Larger is better. The sub-network keeps the model's
/// width, so the classification head serves every member; one the model does not hold fails (thrown error).
public final class TaskAccuracyObjective: Objective {
    public let model: TaskModel
    public let batches: [GLUEBatch]
    /// The elastic space the model was fine-tuned over (`elasticSpace(in:)`).
    public let space: SearchSpace

    public init(model: TaskModel, space: SearchSpace, batches: [GLUEBatch]) {
        self.model = model; self.space = space; self.batches = batches
    }

    public var spec: ObjectiveSpec { ObjectiveSpec(name: "task-accuracy", maximize: true) }

    public func evaluate(_ arch: Architecture) throws -> Double {
        let full = model.model.maxArchitecture
        guard arch.hidden == full.hidden, model.model.holds(arch) else {
            throw SupernetError(field: "architecture", message: "\(arch.depth) layers, hidden \(arch.hidden) is not a sub-network of the "
                                + "fine-tuned model (\(full.depth) layers, hidden \(full.hidden)) of its width")
        }
        return model.evaluate(batches, architecture: arch)[model.task.primaryMetric] ?? .nan
    }

    /// The elastic space of an elastically fine-tuned checkpoint (`swiftnas_task.space`, written by `finetune
    /// --elastic`); nil for a plain fine-tuned one.
    public static func elasticSpace(in folder: URL) throws -> SearchSpace? {
        guard let stored = try TaskModel.storedTask(in: folder), let json = stored["space"] else { return nil }
        return try SearchSpace(json: json, path: folder.appendingPathComponent("config.json").path + " (swiftnas_task.space)")
    }

    /// Why `space` cannot be made elastic inside `arch` (InstaTune: the first layers, leading heads and FFN units of
    /// the checkpoint, its width unchanged), naming the dimension; nil when it fits.
    public static func misfit(_ space: SearchSpace, in arch: Architecture) -> String? {
        if space.family != arch.family { return "family: the space is \(space.family), the checkpoint \(arch.family)" }
        if space.vocabSize != arch.vocabSize { return "vocabSize: the space has \(space.vocabSize), the checkpoint \(arch.vocabSize)" }
        if space.hidden != [arch.hidden] { return "hidden: an elastic space keeps the checkpoint's width [\(arch.hidden)], got \(space.hidden)" }
        if space.maxDepth > arch.depth { return "depth: up to \(space.maxDepth) layers, the checkpoint has \(arch.depth)" }
        let largest = space.largest
        for (i, (l, c)) in zip(largest.layers, arch.layers).enumerated() {
            if l.heads > c.heads { return "heads: layer \(i) up to \(l.heads), the checkpoint has \(c.heads)" }
            if l.qkv > c.qkv { return "qkv: layer \(i) up to \(l.qkv), the checkpoint has \(c.qkv)" }
            if l.ffn > c.ffn { return "ffn: layer \(i) up to \(l.ffn), the checkpoint has \(c.ffn)" }
            if l.operation != c.operation { return "operation: layer \(i) is \(l.operation), the checkpoint's \(c.operation)" }
        }
        return largest.fits(in: arch) ? nil : "the space's largest member is not a leading slice of the checkpoint"
    }
}
