import Foundation
import NASModels
import NASText
import NASTensor

/// The inputs a training or evaluation run reads besides its options: checkpoint folders (or a run's
/// latest checkpoint), text corpora, and weights inherited from a larger checkpoint. Every failure is a
/// `TrainingInputError` naming the file.
public enum TrainingInputs {
    /// Initialises `model` with the leading slices of a (larger) checkpoint's weights — a sub-network
    /// inherits its weights as in a weight-entangled supernet. `path` is a checkpoint folder or a run folder
    /// (its latest checkpoint). Fails, naming the first dimension, when the architecture is larger than the
    /// checkpoint's.
    public static func initialise(_ model: Transformer, from path: String) throws {
        let folder = try checkpointFolder(path)
        let (source, _, _) = try Checkpoint.loadTransformer(from: folder)
        let (arch, big) = (model.maxArchitecture, source.maxArchitecture)
        guard arch.fits(in: big) else {
            var reasons: [String] = []
            if arch.family != big.family { reasons.append("family \(arch.family) vs \(big.family)") }
            if arch.vocabSize != big.vocabSize { reasons.append("vocabSize \(arch.vocabSize) vs \(big.vocabSize)") }
            if arch.depth > big.depth { reasons.append("layers \(arch.depth) > \(big.depth)") }
            if arch.hidden > big.hidden { reasons.append("hidden \(arch.hidden) > \(big.hidden)") }
            for (i, (a, b)) in zip(arch.layers, big.layers).enumerated() {
                if a.heads > b.heads { reasons.append("layers[\(i)].heads \(a.heads) > \(b.heads)") }
                if a.qkv > b.qkv { reasons.append("layers[\(i)].qkv \(a.qkv) > \(b.qkv)") }
                if a.ffn > b.ffn { reasons.append("layers[\(i)].ffn \(a.ffn) > \(b.ffn)") }
                if a.operation != b.operation { reasons.append("layers[\(i)].operation \(a.operation) vs \(b.operation)") }
            }
            throw TrainingInputError("the architecture is larger than the checkpoint \(folder.path) (or differs from it): "
                                     + (reasons.isEmpty ? "it does not fit in the checkpoint's leading slices" : reasons.joined(separator: ", ")))
        }
        model.loadLeadingSlices(from: source)
    }

    /// A checkpoint folder: the folder itself when it holds weights, else a run folder's latest checkpoint.
    public static func checkpointFolder(_ path: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path) { return url }
        if let latest = try TrainingCheckpoint.latest(in: url) { return latest }
        throw TrainingInputError(file: path, "neither a checkpoint folder (model.safetensors) nor a training run with a checkpoint")
    }

    /// The text of the given files joined by newlines, each checked to be readable UTF-8 and not empty.
    public static func readCorpora(_ paths: [String]) throws -> String {
        var texts: [String] = []
        for path in paths {
            try MemoryBudget.requireFile(URL(fileURLWithPath: path), expansion: TextCorpus.memoryPerByte, what: "the corpus")
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw TrainingInputError(file: path, "cannot read the corpus (expected a UTF-8 text file)")
            }
            guard text.contains(where: { !$0.isWhitespace }) else { throw TrainingInputError(file: path, "the corpus is empty") }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }
}
