import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASText
import NASTrain

/// The calibration set of the training-free quantization proxies: `--calibration-examples` examples of the task's
/// training split (a seeded draw), `--probes` Hutchinson probes (`UnitStatistics`).
struct CalibrationOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Training examples the unit statistics are measured on.", transform: NumberArgument.positive)
    var calibrationExamples = 32
    @Option(parsing: .unconditional, help: "Hutchinson probes of the Hessian diagonal.", transform: NumberArgument.positive)
    var probes = 8
    @Option(parsing: .unconditional, help: "Seed of the calibration draw and the probes.")
    var calibrationSeed: UInt64 = 0

    /// The unit statistics of `mixed` (a fine-tuned model's units) on the training split next to `data` (default: the
    /// task's folder in ../shared/data/glue), inputs cut at `maxLength` tokens.
    func statistics(_ mixed: MixedPrecision, taskModel: TaskModel, checkpoint folder: URL, data: String?, maxLength: Int) throws -> UnitStatistics {
        let directory = URL(fileURLWithPath: data ?? "../shared/data/glue/\(taskModel.task.rawValue)")
        let dataset = try GLUEDataset.load(task: taskModel.task, directory: directory, split: "train")
        let wordPiece = try WordPieceTokenizer(vocabularyURL: folder.appendingPathComponent("vocab.txt"))
        guard let batch = try dataset.batches(tokenizer: wordPiece, maxLength: maxLength, batchSize: calibrationExamples,
                                              shuffleSeed: calibrationSeed).first else {
            throw ValidationError("\(directory.path): the training split holds no example to calibrate on")
        }
        return UnitStatistics.measure(mixed, head: taskModel.head, calibration: batch, probes: probes, seed: calibrationSeed)
    }
}
