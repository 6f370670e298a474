import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASText
import NASTrain

/// A calibration set: `--calibration-examples` examples of the task's training split, a seeded draw (the quantization
/// proxies' statistics, NUPES's layer inputs).
struct CalibrationOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Training examples to calibrate on.", transform: NumberArgument.positive)
    var calibrationExamples = 32
    @Option(parsing: .unconditional, help: "Seed of the calibration draw (and of the Hutchinson probes).")
    var calibrationSeed: UInt64 = 0

    /// The calibration batch of `taskModel`'s task from the training split next to `data` (default: the task's folder in
    /// ../shared/data/glue), inputs cut at `maxLength` tokens.
    func batch(for taskModel: TaskModel, checkpoint folder: URL, data: String?, maxLength: Int) throws -> GLUEBatch {
        let directory = URL(fileURLWithPath: data ?? "../shared/data/glue/\(taskModel.task.rawValue)")
        let dataset = try GLUEDataset.load(task: taskModel.task, directory: directory, split: "train")
        let wordPiece = try WordPieceTokenizer(vocabularyURL: folder.appendingPathComponent("vocab.txt"))
        guard let batch = try dataset.batches(tokenizer: wordPiece, maxLength: maxLength, batchSize: calibrationExamples,
                                              shuffleSeed: calibrationSeed).first else {
            throw ValidationError("\(directory.path): the training split holds no example to calibrate on")
        }
        return batch
    }
}

/// What the training-free quantization proxies read (`UnitStatistics`): a calibration set and `--probes` Hutchinson probes.
struct UnitStatisticsOptions: ParsableArguments {
    @OptionGroup var calibration: CalibrationOptions
    @Option(parsing: .unconditional, help: "Hutchinson probes of the Hessian diagonal.", transform: NumberArgument.positive)
    var probes = 8

    /// The unit statistics of `mixed` (a fine-tuned model's units) on the calibration set.
    func statistics(_ mixed: MixedPrecision, taskModel: TaskModel, checkpoint folder: URL, data: String?, maxLength: Int) throws -> UnitStatistics {
        let batch = try calibration.batch(for: taskModel, checkpoint: folder, data: data, maxLength: maxLength)
        return UnitStatistics.measure(mixed, head: taskModel.head, calibration: batch, probes: probes, seed: calibration.calibrationSeed)
    }
}
