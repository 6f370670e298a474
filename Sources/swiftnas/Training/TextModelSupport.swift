import ArgumentParser
import Foundation
import NASModels
import NASSearch
import NASTensor
import NASText
import NASTrain

/// The tokenizer a model reads text with: BERT's WordPiece (a `vocab.txt`) or characters (a
/// `char-tokenizer.json`), as stored beside a checkpoint's weights.
enum TextTokenizer {
    case wordPiece(WordPieceTokenizer, file: URL)
    case characters(CharTokenizer, file: URL)

    static let characterFile = "char-tokenizer.json"

    var vocabSize: Int {
        switch self {
        case .wordPiece(let t, _): return t.vocabSize
        case .characters(let t, _): return t.vocabSize
        }
    }

    var file: URL {
        switch self {
        case .wordPiece(_, let f), .characters(_, let f): return f
        }
    }

    func encode(_ text: String) throws -> [Int32] {
        switch self {
        case .wordPiece(let t, _):
            return text.split(separator: "\n", omittingEmptySubsequences: true).flatMap { line -> [Int32] in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.isEmpty ? [] : t.encode(trimmed)
            }
        case .characters(let t, _):
            return try t.encode(text)
        }
    }

    /// The tokenizer stored in a checkpoint folder.
    static func stored(in folder: URL) throws -> TextTokenizer {
        let vocab = folder.appendingPathComponent("vocab.txt"), chars = folder.appendingPathComponent(characterFile)
        if FileManager.default.fileExists(atPath: vocab.path) { return .wordPiece(try WordPieceTokenizer(vocabularyURL: vocab), file: vocab) }
        if FileManager.default.fileExists(atPath: chars.path) { return .characters(try CharTokenizer(contentsOf: chars), file: chars) }
        throw ValidationError("\(folder.path): no vocab.txt or \(characterFile), so the checkpoint's tokenizer is unknown")
    }

    /// Checks that the model's embedding table matches the tokenizer.
    func check(_ arch: Architecture, source: String) throws {
        guard arch.vocabSize == vocabSize else {
            throw ValidationError("vocabulary mismatch: \(source) has vocabSize \(arch.vocabSize), but the tokenizer \(file.path) "
                                  + "has \(vocabSize) entries; use the tokenizer the model was built for")
        }
    }
}

enum TextModelSupport {
    /// The architecture named by `--arch FILE` or `--study FILE [--rank K]`.
    static func architecture(arch: String?, study: String?, rank: Int) throws -> Architecture {
        switch (arch, study) {
        case (let a?, nil):
            return try Architecture.load(from: URL(fileURLWithPath: a))
        case (nil, let s?):
            let store = try Study.open(at: URL(fileURLWithPath: s), readOnly: true)
            defer { store.close() }
            let best = StudyReport.best(try store.trials(), settings: store.settings, top: rank)
            guard best.count == rank else {
                throw ValidationError("\(s): the study has \(best.count) feasible complete trial(s), so there is no rank \(rank)")
            }
            return best[rank - 1].architecture
        default:
            throw ValidationError("give exactly one of --arch FILE or --study FILE")
        }
    }

    /// Initialises `model` with the leading slices of a (larger) checkpoint's weights — a sub-network
    /// inherits its weights as in a weight-entangled supernet. Fails, naming the first dimension, when the
    /// architecture is larger than the checkpoint's.
    static func initialise(_ model: Transformer, from path: String) throws {
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
            throw ValidationError("the architecture is larger than the checkpoint \(folder.path) (or differs from it): "
                                  + (reasons.isEmpty ? "it does not fit in the checkpoint's leading slices" : reasons.joined(separator: ", ")))
        }
        model.loadLeadingSlices(from: source)
    }

    /// A checkpoint folder: the folder itself when it holds weights, else a run folder's latest checkpoint.
    static func checkpointFolder(_ path: String) throws -> URL {
        let url = URL(fileURLWithPath: path)
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path) { return url }
        if let latest = try TrainingCheckpoint.latest(in: url) { return latest }
        throw ValidationError("\(path): neither a checkpoint folder (model.safetensors) nor a training run with a checkpoint")
    }

    /// The text of the given files, each checked to be readable and non-empty.
    static func readCorpora(_ paths: [String]) throws -> String {
        var texts: [String] = []
        for path in paths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("\(path): cannot read the corpus (expected a UTF-8 text file)")
            }
            guard text.contains(where: { !$0.isWhitespace }) else { throw ValidationError("\(path): the corpus is empty") }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }

    /// Hooks a trainer to the terminal: a progress line, log lines when not a terminal, Ctrl-C.
    static func attach(_ trainer: Trainer, label: String, unit: String = "tokens") -> ProgressLine {
        let progress = ProgressLine()
        Interrupt.install()
        trainer.shouldStop = { Interrupt.requested }
        trainer.onProgress = { p in
            var text = (progress.isTerminal ? ProgressLine.bar(Double(p.step) / Double(p.steps)) + " " : "")
                + "\(label) step \(p.step)/\(p.steps)  loss \(String(format: "%.4f", p.loss))  "
                + "\(String(format: "%.0f", p.tokensPerSecond)) \(unit)/s"
            if let eta = p.etaSeconds { text += "  ETA " + ProgressLine.duration(eta) }
            progress.update(text)
        }
        return progress
    }

    /// After training: a note when interrupted (exit 130), the checkpoint folder otherwise.
    static func finish(_ trainer: Trainer, progress: ProgressLine) throws {
        progress.finish()
        if trainer.interrupted {
            print("interrupted at step \(trainer.step); checkpoint saved in \(trainer.run.path). Continue with the same command and --resume.")
            throw ExitCode(130)
        }
        if let folder = try TrainingCheckpoint.latest(in: trainer.run) { print("checkpoint → \(folder.path)") }
        print("metrics log → \(trainer.run.appendingPathComponent("metrics.jsonl").path)")
    }
}
