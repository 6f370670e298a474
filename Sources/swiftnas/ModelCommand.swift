import ArgumentParser
import Foundation
import NASModels
import NASSearch

/// `swiftnas model …`: inspect architectures and model folders.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect architectures and model checkpoints.",
        subcommands: [ModelInfo.self])
}

/// `swiftnas model info --arch FILE | --checkpoint DIR [--seq N] [--json]`: the architecture, its
/// parameter count and FLOPs, and for a checkpoint the tensors of the file the model does not use.
struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show an architecture's shape, parameters and FLOPs.",
        discussion: """
        Give exactly one of --arch (an architecture JSON file) or --checkpoint (a model folder with \
        config.json and model.safetensors). FLOPs count the matrix multiplies of one forward pass of \
        the backbone over a sequence of --seq tokens.
        """)

    @Option(help: ArgumentHelp("An architecture JSON file.", valueName: "file"))
    var arch: String?

    @Option(help: ArgumentHelp("A model folder (config.json + model.safetensors).", valueName: "dir"))
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Sequence length for the FLOPs.", transform: NumberArgument.positive)
    var seq: Int = 128

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Also measure the CPU latency of one forward pass of the backbone (batch 1 × --seq tokens, one thread, median of 21).")
    var latency = false

    @OptionGroup var engine: EngineOptions

    mutating func validate() throws {
        if (arch == nil) == (checkpoint == nil) {
            throw ValidationError("give exactly one of --arch <file> or --checkpoint <dir>")
        }
    }

    func run() throws {
        engine.apply()
        let architecture: Architecture
        var unused: [String]?, model: Transformer?
        let source: String
        if let checkpoint {
            let loaded = try CheckpointFolder.load(checkpoint)
            (architecture, unused, model, source) = (loaded.model.maxArchitecture, loaded.unused, loaded.model, checkpoint)
        } else {
            source = arch ?? ""
            architecture = try Architecture.load(from: URL(fileURLWithPath: source))
        }
        let total = architecture.parameterCount, nonEmbedding = architecture.nonEmbeddingParameterCount
        let flops = architecture.flops(sequenceLength: seq)
        guard flops < Int.max else { throw ValidationError("--seq \(seq): the FLOPs of such a sequence are too many to count") }
        let perToken = Double(flops) / Double(seq)
        let limitations = Checkpoint.huggingFaceLimitations(of: architecture)
        if latency, seq > architecture.maxPositions {
            throw ValidationError("--latency: --seq \(seq) exceeds the model's \(architecture.maxPositions) positions")
        }
        // A checkpoint is timed as loaded: its weights' arithmetic (a quantized model runs int8 or bf16).
        let meter = LatencyMeter(batchSize: 1, sequenceLength: seq, threads: 1, warmup: 3, runs: 21)
        let milliseconds = latency ? model.map { meter.measure($0) } ?? meter.measure(architecture) : nil

        if json {
            var o: [String: JSONValue] = [
                arch != nil ? "arch" : "checkpoint": .string(source),
                "architecture": try JSONValue(encoding: architecture),
                "parameters": .object(["total": .int(total), "nonEmbedding": .int(nonEmbedding)]),
                "flops": .object(["sequenceLength": .int(seq), "perSequence": .int(flops), "perToken": .double(perToken)]),
                "huggingFaceLimitations": .array(limitations.map { .string($0) }),
            ]
            if let unused { o["unusedTensors"] = .array(unused.map { .string($0) }) }
            if let milliseconds { o["latency"] = .object(["sequenceLength": .int(seq), "milliseconds": .double(milliseconds)]) }
            print(try JSONValue.object(o).serialized(pretty: true))
            return
        }

        var rows: [(String, String)] = [(arch != nil ? "architecture" : "checkpoint", source)]
        rows.append(("family", architecture.family == .encoder
                     ? "encoder (BERT-style: post-LN, token types, padding mask)"
                     : "decoder (GPT-style: pre-LN, causal mask, final LayerNorm)"))
        rows.append(("vocabulary", "\(architecture.vocabSize)"))
        rows.append(("positions", "\(architecture.maxPositions)"))
        if architecture.typeVocabSize > 0 { rows.append(("token types", "\(architecture.typeVocabSize)")) }
        rows.append(("hidden", "\(architecture.hidden)"))
        if let e = architecture.embeddingSize { rows.append(("embeddings", "\(e) (factorised, projected to hidden)")) }
        rows.append(("activation", "\(architecture.activation.rawValue), LayerNorm eps \(architecture.layerNormEps)"))
        let layers = architecture.layers
        if let first = layers.first, layers.allSatisfy({ $0 == first }) {
            rows.append(("layers", "\(layers.count) × (\(Self.describe(first)))"))
        } else {
            rows.append(("layers", "\(layers.count), per layer:"))
        }
        rows.append(("parameters", "\(Format.grouped(total)) total (\(Format.si(Double(total)))), "
                     + "\(Format.grouped(nonEmbedding)) non-embedding (\(Format.si(Double(nonEmbedding))))"))
        rows.append(("FLOPs", "\(Format.si(Double(flops)))FLOP per sequence of \(seq) tokens, "
                     + "\(Format.si(perToken))FLOP per token"
                     + (seq > architecture.maxPositions ? " (longer than the model's \(architecture.maxPositions) positions)" : "")))
        if let milliseconds { rows.append(("latency", String(format: "%.2f ms per sequence of %d tokens (batch 1, one thread)", milliseconds, seq))) }
        rows.append(("HF config", limitations.isEmpty ? "exact" : "SwiftNAS only: " + limitations.joined(separator: "; ")))
        if let unused {
            rows.append(("unused tensors", unused.isEmpty ? "none" : "\(unused.count): " + unused.joined(separator: ", ")))
        }
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(key.padding(toLength: width + 2, withPad: " ", startingAt: 0) + value)
            if key == "layers", !(layers.allSatisfy { $0 == layers[0] }) {
                for line in Self.layerTable(architecture) { print(String(repeating: " ", count: width + 2) + line) }
            }
        }
    }

    static func describe(_ l: Architecture.Layer) -> String {
        var parts = [l.operation.isAttention ? "heads \(l.heads), qkv \(l.qkv) (head size \(l.headSize))" : "\(l.operation)"]
        if l.operation.isAttention && l.operation != .sdp { parts.append("op \(l.operation)") }
        parts.append("ffn " + l.ffnWidths.map(String.init).joined(separator: "→"))
        if let h = l.hidden { parts.append("hidden \(h)") }
        return parts.joined(separator: ", ")
    }

    /// One row per layer; the op / FFN-stack / width columns only when some layer uses them.
    static func layerTable(_ arch: Architecture) -> [String] {
        let showOp = arch.layers.contains { $0.operation != .sdp }
        let showStack = arch.layers.contains { !$0.ffnStack.isEmpty }
        let showHidden = arch.layers.contains { $0.hidden != nil }
        var header = ["layer", "heads", "qkv", "ffn"]
        if showStack { header.append("ffnStack") }
        if showOp { header.append("op") }
        if showHidden { header.append("hidden") }
        var table = [header]
        for (i, l) in arch.layers.enumerated() {
            var row = ["\(i)", "\(l.heads)", "\(l.qkv)", "\(l.ffn)"]
            if showStack { row.append(l.ffnStack.isEmpty ? "-" : l.ffnStack.map(String.init).joined(separator: ",")) }
            if showOp { row.append("\(l.operation)") }
            if showHidden { row.append(l.hidden.map(String.init) ?? "-") }
            table.append(row)
        }
        let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
        return table.map { row in
            row.enumerated().map { c, cell in String(repeating: " ", count: widths[c] - cell.count) + cell }
                .joined(separator: "  ")
        }
    }
}

// MARK: - Shared by the commands

/// A user error (bad file, bad value): ArgumentParser prints "Error: <description>" and exits with 1.
struct CommandError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Loading a model folder given on the command line.
enum CheckpointFolder {
    static func load(_ path: String) throws -> (model: Transformer, config: ModelConfig, unused: [String], url: URL) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandError("checkpoint \(path): no such directory")
        }
        guard isDirectory.boolValue else {
            throw CommandError("checkpoint \(path): is a file, expected a directory with config.json and model.safetensors")
        }
        let url = URL(fileURLWithPath: path, isDirectory: true)
        let (model, config, unused) = try Checkpoint.loadTransformer(from: url)
        return (model, config, unused, url)
    }
}

enum Format {
    /// 22,713,216
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// 22.7 M, 2.72 G (three significant digits, SI prefix, trailing space kept for a unit).
    static func si(_ x: Double) -> String {
        let prefixes = ["", "k", "M", "G", "T", "P"]
        var v = x, i = 0
        while abs(v) >= 1000 && i < prefixes.count - 1 { v /= 1000; i += 1 }
        let digits = abs(v) >= 100 ? 0 : abs(v) >= 10 ? 1 : 2
        return String(format: "%.\(digits)f", v) + " " + prefixes[i]
    }

    /// A Float as the shortest decimal that reads back as it (for JSON).
    static func json(_ x: Float) -> JSONValue { .double(Double("\(x)") ?? Double(x)) }
}
