import Foundation
import NASTensor
import NASModels
import NASText
import NASSearch

/// What each fuzz target does with one input: hand the bytes to a parser through its public entry
/// point, then use what it returns the way the program would. A thrown error is the expected outcome
/// for a bad file; a trap, crash, leak, time-out or memory blow-up is a finding.
/// `Tests/NASSearchTests/FuzzCorpusTests.swift` replays the committed corpus through the same calls.
public enum Harness {
    /// safetensors: open (map + validate the header) and decode every tensor.
    public static func safetensors(_ bytes: UnsafeRawBufferPointer) {
        let url = Scratch.write(bytes, to: "model.safetensors")
        guard let file = try? SafeTensorsFile(contentsOf: url) else { return }
        for name in file.names {
            _ = file.info(name)
            _ = try? file.tensor(name)
        }
    }

    /// config.json: parse and validate, then derive the architecture it describes (as a checkpoint load does).
    public static func config(_ bytes: UnsafeRawBufferPointer) {
        guard let config = try? ModelConfig(data: Data(bytes), path: "config.json") else { return }
        _ = config.json
        _ = try? Checkpoint.architecture(of: config, path: "config.json")
    }

    /// Architecture file: load (parse, fill defaults, decode, validate) from a file.
    public static func architecture(_ bytes: UnsafeRawBufferPointer) {
        let url = Scratch.write(bytes, to: "architecture.json")
        guard let arch = try? Architecture.load(from: url) else { return }
        _ = try? JSONValue(encoding: arch).serialized()
    }

    /// Search-space file: load and validate, then sample one genome and decode it to an architecture.
    public static func space(_ bytes: UnsafeRawBufferPointer) {
        let url = Scratch.write(bytes, to: "space.json")
        guard let space = try? SearchSpace.load(from: url) else { return }
        var rng = RandomGenerator(seed: 0)
        let genome = space.sample(using: &rng)
        _ = space.decode(genome)
        _ = space.json
    }

    /// vocab.txt: build the tokenizer, then tokenise, encode a pair and decode.
    public static func vocab(_ bytes: UnsafeRawBufferPointer) {
        let url = Scratch.write(bytes, to: "vocab.txt")
        guard let tokenizer = try? WordPieceTokenizer(vocabularyURL: url) else { return }
        _ = tokenizer.tokenize(sampleText)
        let ids = tokenizer.encode(sampleText)
        _ = tokenizer.decode(ids)
        _ = tokenizer.encode(sampleText, "a second sentence", maxLength: 16, padTo: 16)
    }

    /// GLUE TSV: the first byte picks the task, the rest is `<task>/train.tsv`; load it and encode the
    /// examples with a small tokenizer.
    public static func glue(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return }
        let tasks = GLUETask.allCases
        let task = tasks[Int(first) % tasks.count]
        Scratch.write(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), to: "\(task.rawValue)/train.tsv")
        let folder = URL(fileURLWithPath: Scratch.folder + "/" + task.rawValue)
        guard let data = try? GLUEDataset.load(task: task, directory: folder, split: "train") else { return }
        _ = try? data.encodings(tokenizer: smallTokenizer, maxLength: 32)
    }

    /// Study: open read-only, read the settings, the trials and the latency samples.
    public static func study(_ bytes: UnsafeRawBufferPointer) {
        let url = Scratch.write(bytes, to: "study.db")
        guard let study = try? SQLiteStudyStorage.open(at: url, readOnly: true) else { return }
        defer { study.close() }
        _ = study.settings
        _ = try? study.nextTrialNumber()
        _ = try? study.trials()
        _ = try? study.latencySamples()
    }

    static let sampleText = "Hello, World! The unaffable naïve café – 3.14 [MASK] ##ing 東京 \u{0301}x"

    static let smallTokenizer: WordPieceTokenizer = {
        let tokens = WordPieceTokenizer.requiredSpecialTokens
            + ["the", "a", "movie", "is", "good", "bad", "##s", "##ing", ".", ",", "!", "?", "not"]
        return try! WordPieceTokenizer(tokens: tokens)
    }()
}
