import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASTensor
import NASText
import NASTrain

/// `swiftnas quantize benchmark --checkpoint DIR --configurations N --bits 2,3,4 --out FILE`: the task accuracy of N
/// random per-unit bit configurations of a fine-tuned model (`MixedPrecisionBenchmark`), the ground truth of
/// `proxy evolve` and `quantize search`. Saved after every configuration; run again with the same options to resume
/// or with a larger N to extend.
struct QuantizeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark", abstract: "Measure the task accuracy of random mixed-precision bit configurations of a fine-tuned model.")

    @Option(help: "A fine-tuned checkpoint folder (or a training run folder: its latest checkpoint).")
    var checkpoint: String
    @Option(parsing: .unconditional, help: "How many random configurations (ids 0…N−1).", transform: NumberArgument.positive)
    var configurations = 300
    @Option(help: "The bit widths a unit draws from, comma-separated (each 2…8).")
    var bits: BitChoices = BitChoices(values: [2, 3, 4])
    @Option(help: "The weight grid: uniform (round to nearest) or power (PowerQuant, a data-free exponent per unit and width).")
    var weightGrid: SimulatedQuantization.Grid = .uniform
    @Option(parsing: .unconditional, help: "Bits of every unit's input (asymmetric per tensor, dynamic range).", transform: SimulatedQuantizationOptions.bits)
    var activationBits = 8
    @Option(parsing: .unconditional, help: "Bits of the embeddings and the classification head.", transform: SimulatedQuantizationOptions.bits)
    var fixedBits = 8
    @Option(parsing: .unconditional, help: "Seed of the draws.")
    var seed: UInt64 = 0
    @OptionGroup var evaluation: TaskEvaluationOptions
    @Option(help: "The benchmark file (JSON); an existing one with the same setting is resumed.")
    var out: String
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard weightGrid != .nupes else { throw ValidationError("--weight-grid nupes learns one model's weights (evaluate --weight-grid nupes); mixed precision takes uniform or power") }
    }

    func run() throws {
        engine.apply()
        let folder = try TrainingInputs.checkpointFolder(checkpoint)
        let target = URL(fileURLWithPath: out)
        let taskModel = try TaskModel.load(folder)
        let batches = try evaluation.batches(for: taskModel, checkpoint: folder)
        let fp32 = taskModel.evaluate(batches.batches)["accuracy"] ?? .nan
        let mixed = MixedPrecision(model: taskModel.model, grid: weightGrid, activationBits: activationBits)
        mixed.prepare(head: taskModel.head, fixedBits: fixedBits)
        var benchmark = MixedPrecisionBenchmark(
            checkpoint: folder.path, sha256: try SHA256.hex(contentsOf: folder.appendingPathComponent("model.safetensors")),
            task: taskModel.task.rawValue, fp32Accuracy: fp32, chance: batches.chance, evaluationSplit: evaluation.split,
            examples: batches.examples, maxLength: evaluation.maxLength, grid: weightGrid.rawValue, activationBits: activationBits,
            fixedBits: fixedBits, bitChoices: bits.values, seed: seed, units: mixed.units)
        if FileManager.default.fileExists(atPath: target.path) {
            let stored = try MixedPrecisionBenchmark.load(target)
            guard stored.sameSetting(as: benchmark) else {
                throw ValidationError("\(target.path) holds a benchmark of another setting (model hash, evaluation, quantizer or draws); "
                                      + "give another --out")
            }
            benchmark = stored
            print("resuming \(target.path): \(stored.configurations.count) configurations measured")
        }
        print(String(format: "%@ (%@): %d units, fp32 accuracy %.4f, chance %.4f; bits %@, %@ grid, inputs at %d bits, embeddings and head at %d",
                     folder.lastPathComponent, String(benchmark.sha256.prefix(12)), mixed.units.count, fp32, batches.chance,
                     bits.values.map(String.init).joined(separator: ","), weightGrid.rawValue, activationBits, fixedBits))
        let t0 = DispatchTime.now().uptimeNanoseconds
        var measured = 0
        try benchmark.extend(to: configurations, evaluate: { bitsOfUnits in
            mixed.apply(bitsOfUnits)
            return taskModel.evaluate(batches.batches)["accuracy"] ?? .nan
        }, save: { b in
            try JSONFile.write(b, to: target)
            measured += 1
            let last = b.configurations.last!
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            print(String(format: "config %d: %.3f bits/weight, accuracy %.4f (%.1f s each)", last.id, last.bitsPerWeight, last.accuracy,
                         seconds / Double(measured)))
        })
        let spread = benchmark.spread
        print(String(format: "%d configurations: accuracy span %.1f points, %.0f %% within 2 points of chance → %@",
                     benchmark.configurations.count, 100 * spread.range, 100 * spread.atChance, target.path))
    }
}

/// The bit widths of a benchmark's draws: `2,3,4`.
struct BitChoices: ExpressibleByArgument {
    var values: [Int]
    init(values: [Int]) { self.values = values }
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0.map { (2...8).contains($0) } ?? false }) else { return nil }
        values = Array(Set(parts.map { $0! })).sorted()
    }
    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}
