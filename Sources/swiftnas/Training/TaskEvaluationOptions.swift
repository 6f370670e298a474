import ArgumentParser
import Foundation
import NASModels
import NASText
import NASTrain

/// Where and how a fine-tuned model is evaluated on its task: `--data`, `--split`, `--max-length` (shared by
/// `evaluate` and the `quantize` commands that measure accuracy).
struct TaskEvaluationOptions: ParsableArguments {
    @Option(help: "Task folder in GLUE's TSV format (default: ../shared/data/glue/<the checkpoint's task>).")
    var data: String?
    @Option(help: "Split file of the task folder.")
    var split = "dev"
    @Option(parsing: .unconditional, help: "Longest task input in tokens.", transform: NumberArgument.positive)
    var maxLength = 128

    func validate() throws {
        guard maxLength >= 4 else { throw ValidationError("--max-length must be at least 4") }
    }

    /// The evaluation batches of `taskModel`'s task (64 examples each, in file order), with the number of examples and
    /// the accuracy of always predicting the majority class.
    func batches(for taskModel: TaskModel, checkpoint folder: URL) throws -> (batches: [GLUEBatch], examples: Int, chance: Double) {
        guard maxLength <= taskModel.model.maxArchitecture.maxPositions else {
            throw ValidationError("--max-length \(maxLength) exceeds the model's maxPositions \(taskModel.model.maxArchitecture.maxPositions)")
        }
        let directory = URL(fileURLWithPath: data ?? "../shared/data/glue/\(taskModel.task.rawValue)")
        let dataset = try GLUEDataset.load(task: taskModel.task, directory: directory, split: split)
        let vocab = folder.appendingPathComponent("vocab.txt")
        let wordPiece = try WordPieceTokenizer(vocabularyURL: vocab)
        try TextTokenizer.wordPiece(wordPiece, file: vocab).check(taskModel.model.maxArchitecture, source: folder.path)
        let counts = Dictionary(grouping: dataset.labels, by: { $0 }).mapValues(\.count)
        let chance = taskModel.task.isRegression ? Double.nan : Double(counts.values.max() ?? 0) / Double(max(dataset.count, 1))
        return (try dataset.batches(tokenizer: wordPiece, maxLength: maxLength, batchSize: 64, shuffleSeed: nil), dataset.count, chance)
    }
}
