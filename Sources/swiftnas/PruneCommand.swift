import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// `swiftnas prune`: a sparse mask on a fine-tuned model's encoder Linears, weights frozen — magnitude pruning with a
/// global threshold, then (with `--search-steps`) the Lottery Jackpots mask search from it (`LotteryJackpot`).
/// Unstructured masks single weights of Q, K, V, O, FFN1, FFN2; `--structured` masks whole heads and FFN neurons and
/// writes the smaller dense model they leave (`StructuredPruning`). Reports dev accuracy, sparsity and the measured
/// latency of the written model against the original.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune a fine-tuned model: magnitude pruning or a Lottery Jackpots mask search, unstructured or by heads and neurons.")

    @Option(help: "A fine-tuned model folder (or a training run folder: its latest checkpoint).")
    var checkpoint: String
    @Option(parsing: .unconditional, help: "Fraction of the encoder Linears' weights (structured: of the heads and of the FFN neurons) to prune.",
            transform: NumberArgument.openUnit)
    var sparsity: Double
    @Flag(help: "Prune whole heads and FFN neurons and write the smaller dense model.")
    var structured = false
    @Option(parsing: .unconditional, help: "Mask search steps from the magnitude mask (0: magnitude pruning alone).",
            transform: NumberArgument.nonNegative)
    var searchSteps = 0
    @Option(parsing: .unconditional, help: "Training examples per search step.", transform: NumberArgument.positive)
    var batchSize = 32
    @Option(parsing: .unconditional, help: "Learning rate of the scores, their gradient normalised per matrix (default: 1e-5, structured 1e-4).",
            transform: NumberArgument.positive)
    var lr: Float?
    @Option(parsing: .unconditional, help: "Seed of the training batches' order.", transform: NumberArgument.seed)
    var seed: UInt64 = 0
    @Option(help: "Write the pruned model to this new folder.")
    var out: String?
    @Option(help: "Write the figures as JSON to this file.")
    var json: String?
    @OptionGroup var task: TaskEvaluationOptions
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        if let out { try OutputFolder.check(URL(fileURLWithPath: out)) }
        let folder = try TrainingInputs.checkpointFolder(checkpoint)
        let taskModel = try TaskModel.load(folder)
        let model = taskModel.model
        try QuantizationInputs.requireFP32(model, source: folder, action: "prune")
        if structured, let reason = StructuredPruning.unsupported(model) { throw ValidationError("\(folder.path): --structured: \(reason)") }
        let evaluation = try task.batches(for: taskModel, checkpoint: folder)
        let t0 = DispatchTime.now().uptimeNanoseconds

        // Masks and their magnitude budget.
        var masks: [[PruningMask]]
        if structured {
            let (heads, neurons) = StructuredPruning.masks(of: model)
            masks = [heads, neurons]
        } else {
            masks = [PruningMask.unstructured(model)]
        }
        for k in masks.indices { LotteryJackpot.magnitudeInitialisation(&masks[k], sparsity: sparsity) }
        let magnitudeMasks = masks.map { $0.map(\.mask) }

        // The search, on the task's training split.
        var history: [LotteryJackpot.Step] = []
        if searchSteps > 0 {
            let directory = URL(fileURLWithPath: task.data ?? "../shared/data/glue/\(taskModel.task.rawValue)")
            let train = try GLUEDataset.load(task: taskModel.task, directory: directory, split: "train")
            let wordPiece = try WordPieceTokenizer(vocabularyURL: folder.appendingPathComponent("vocab.txt"))
            let batches = try train.batches(tokenizer: wordPiece, maxLength: task.maxLength, batchSize: batchSize, shuffleSeed: seed)
            let searched = Set(masks.flatMap { $0.map { ObjectIdentifier($0.linear.weight) } })
            let frozen = (model.parameters + taskModel.head.parameters).filter { !searched.contains(ObjectIdentifier($0)) && $0.requiresGrad }
            frozen.forEach { $0.requiresGrad = false }
            defer { frozen.forEach { $0.requiresGrad = true } }
            var flat = masks.flatMap { $0 }
            let progress = ProgressLine()
            history = LotteryJackpot.search(&flat, options: .init(steps: searchSteps, learningRate: lr ?? (structured ? 1e-4 : 1e-5))) { t in
                let loss = taskModel.loss(batches[t % batches.count])
                progress.update("search step \(t + 1)/\(searchSteps), loss \(loss.item())")
                return loss
            }
            progress.finish()
            var i = 0
            for k in masks.indices { for j in masks[k].indices { masks[k][j] = flat[i]; i += 1 } }
        }
        for mask in masks.flatMap({ $0 }) { mask.apply() }
        let searchSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9

        // The pruned model: the masked one, or the sliced dense one.
        let before = model.maxArchitecture
        let pruned = structured ? TaskModel(model: StructuredPruning.slice(model, heads: masks[0], neurons: masks[1]), head: taskModel.head,
                                            task: taskModel.task) : taskModel
        let metrics = pruned.evaluate(evaluation.batches)
        var changed = 0, weights = 0, prunedWeights = 0
        for (mask, initial) in zip(masks.flatMap { $0 }, magnitudeMasks.flatMap { $0 }) {
            for (a, b) in zip(mask.mask, initial) where a != b { changed += 1 }
            weights += mask.count * mask.itemSize
            prunedWeights += (mask.count - mask.kept) * mask.itemSize
        }
        let achieved = Double(prunedWeights) / Double(max(weights, 1))
        let meter = LatencyMeter(batchSize: 1, sequenceLength: task.maxLength, threads: 1, warmup: 3, runs: 21)
        let tokens = meter.tokens(vocabSize: before.vocabSize, seed: 0)
        let latency = meter.time { withExtendedLifetime(pruned.model(tokens)) {} }
        let original = meter.measure(before)

        var figures: [String: JSONValue] = ["checkpoint": .string(folder.path), "structured": .bool(structured)]
        figures["sparsity_target"] = .double(sparsity)
        figures["sparsity"] = .double(achieved)
        figures["search_steps"] = .int(searchSteps)
        figures["changed_from_magnitude"] = .int(changed)
        figures["search_seconds"] = .double(searchSeconds)
        figures["latency_ms"] = .double(latency)
        figures["original_latency_ms"] = .double(original)
        figures["parameters"] = .int(pruned.model.maxArchitecture.parameterCount)
        figures["original_parameters"] = .int(before.parameterCount)
        figures["examples"] = .int(evaluation.examples)
        figures["search_loss"] = .array(history.map { .double(Double($0.loss)) })
        figures["search_swaps"] = .array(history.map { .int($0.swaps) })
        if structured {
            figures["architecture"] = try JSONValue(encoding: pruned.model.maxArchitecture)
        }
        for (k, v) in metrics { figures[k] = v.isFinite ? .double(v) : .null }
        print(String(format: "%@ sparsity %.3f (%@), %d items changed by the search: %@; latency %.2f ms (original %.2f ms, batch 1 × %d tokens, 1 thread)",
                     structured ? "structured" : "unstructured", achieved,
                     searchSteps > 0 ? "Lottery Jackpots, \(searchSteps) steps" : "magnitude", changed,
                     metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", "),
                     latency, original, task.maxLength))
        if let out {
            try pruned.save(to: URL(fileURLWithPath: out), vocabulary: folder.appendingPathComponent("vocab.txt"))
            print("pruned model → \(out)")
        }
        if let json { try AtomicFile.write(Data((try JSONValue.object(figures).serialized(pretty: true) + "\n").utf8), to: URL(fileURLWithPath: json)) }
    }
}
