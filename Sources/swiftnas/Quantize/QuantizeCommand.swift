import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASTensor
import NASTrain

/// `swiftnas quantize`: low-precision copies of trained models (`apply`); the compression work adds
/// `quantize search`.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize", abstract: "Quantize a trained model's weights for fast CPU inference.",
        subcommands: [QuantizeApply.self, QuantizeBenchmark.self, QuantizeSearch.self])
}

/// `swiftnas quantize apply --checkpoint DIR --weights int8|bf16 --out DIR`: every Linear of the backbone
/// stored as int8 (per-output-channel scales; activations quantized dynamically at run time) or bf16;
/// heads, embeddings and LayerNorms stay fp32 (layout: `QuantizedCheckpoint`). With `--weight-bits B [--weight-grid
/// uniform|power|nupes]` or `--bits-from FILE` (a `quantize search --json` result) instead, the file holds the model
/// that `evaluate --weight-bits` and `quantize search` simulate: B-bit (or per-unit) weights packed B bits each, the
/// embedding tables int8 per row. Uniform weights run on the int8 path; power-grid weights (PowerQuant, NUPES) have no
/// integer GEMM: the file's reader decodes them once and runs them in fp32 with 8-bit inputs. `evaluate`, `embed` and
/// `model info` read the result like any checkpoint.
struct QuantizeApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Write a copy of a checkpoint with int8, bf16 or low-bit packed Linear weights.")

    @Option(help: "A model folder (or a training run folder: its latest checkpoint).")
    var checkpoint: String
    @Option(help: "How the Linear weights are stored: int8 or bf16.")
    var weights: WeightQuantization?
    @OptionGroup var simulation: SimulatedQuantizationOptions
    @Option(help: "Or: each unit's bits from a `quantize search --json` file (its 'units' and 'bits'), uniform grid; other Linears at 8 bits.")
    var bitsFrom: String?
    @Option(help: "With --weight-grid nupes: the task folder to calibrate on (default: ../shared/data/glue/<the checkpoint's task>).")
    var data: String?
    @Option(parsing: .unconditional, help: "With --weight-grid nupes: calibration inputs cut at this many tokens.", transform: NumberArgument.positive)
    var maxLength = 128
    @Option(help: "Output folder (must not exist).")
    var out: String
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard [weights != nil, simulation.weightBits != nil, bitsFrom != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --weights, --weight-bits and --bits-from")
        }
        guard (simulation.activationBits ?? 8) == 8 else {
            throw ValidationError("--activation-bits: a written model's Linears take 8-bit inputs")
        }
    }

    /// A `quantize search --json` result: the bits of each named unit.
    struct BitConfiguration: Decodable {
        var units: [String]
        var bits: [Int]
    }

    func run() throws {
        engine.apply()
        let source = try TrainingInputs.checkpointFolder(checkpoint)
        let target = URL(fileURLWithPath: out)
        try OutputFolder.check(target)   // before the model is read
        let (model, _, unused) = try Checkpoint.loadTransformer(from: source)
        try QuantizationInputs.requireFP32(model, source: source, action: "quantize")
        let layers: Int, tables: [Parameter], label: String
        if let weights {
            let kind: LowPrecision.Kind = weights == .int8 ? .int8 : .bf16
            if !LowPrecision.isAvailable(kind) { LowPrecision.noteFallback(kind) }
            (layers, tables, label) = (model.quantize(weights), [], weights.rawValue)
        } else {
            if !LowPrecision.isAvailable(.int8) { LowPrecision.noteFallback(.int8) }
            if let bitsFrom {
                let bits = try unitBits(of: model, file: bitsFrom)
                for (path, linear) in model.linears() { linear.arithmetic = .int8(Int8Weights(quantizing: linear.weight.value, bits: bits[path] ?? 8)) }
            } else {
                _ = try simulation.apply(to: model, source: source, calibrationBatch: {
                    try simulation.calibration.batch(for: try TaskModel.load(source), checkpoint: source, data: data, maxLength: maxLength)
                })
                // The uniform grid is int8's with fewer levels: it runs on the int8 GEMM.
                for (_, linear) in model.linears() {
                    if case .fakeQuantized(let q, _) = linear.arithmetic, q.powerExponent == nil {
                        linear.arithmetic = .int8(Int8Weights(quantizing: linear.weight.value, bits: q.bits))
                    }
                }
            }
            let stored = model.linears().map { entry -> (weights: Int, bits: Int) in
                switch entry.linear.arithmetic {
                case .int8(let w): return (entry.linear.weight.value.count, w.bits)
                case .fakeQuantized(let q, _): return (entry.linear.weight.value.count, q.bits)
                default: return (entry.linear.weight.value.count, 32)
                }
            }
            layers = stored.count
            tables = model.modules().compactMap { ($0.module as? Embedding)?.weight }
            label = String(format: "%.3f bits per weight", Double(stored.reduce(0) { $0 + $1.weights * $1.bits }) / Double(max(1, stored.reduce(0) { $0 + $1.weights })))
        }
        let powerGrid = model.linears().map(\.linear).filter {
            if case .fakeQuantized(let q, _) = $0.arithmetic { return q.powerExponent != nil }
            return false
        }

        let fm = FileManager.default
        try OutputFolder.createNew(target) { staging in
            // The backbone with its quantized Linears; heads and anything else it does not hold copied as they
            // are (F32); the source's other files (config with task and exact architecture, vocabulary).
            let sourceWeights = try SafeTensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
            try SafeTensorsFile.write(
                QuantizedCheckpoint.entries(of: model.parameters, linears: model.linears().map(\.linear), tables: tables, powerGrid: powerGrid)
                    + (try unused.map { SafeTensorsFile.Entry.f32($0, try Checkpoint.finiteTensor($0, in: sourceWeights)) }),
                metadata: ["format": "pt"], to: staging.appendingPathComponent("model.safetensors"))
            for item in try fm.contentsOfDirectory(atPath: source.path) where item != "model.safetensors" && !item.hasPrefix(".") {
                try fm.copyItem(at: source.appendingPathComponent(item), to: staging.appendingPathComponent(item))
            }
            try TrainingCheckpoint.addToConfig(staging.appendingPathComponent("config.json"), key: QuantizedCheckpoint.key,
                                               value: QuantizedCheckpoint.description(weights ?? .int8, layers: layers,
                                                                                      packed: weights == nil ? label : nil))
        }
        func megabytes(_ folder: URL) -> Double {
            let file = folder.appendingPathComponent("model.safetensors").path
            return Double((try? fm.attributesOfItem(atPath: file)[.size] as? NSNumber)??.intValue ?? 0) / 1e6
        }
        print(String(format: "quantized %d Linear layers to %@%@: model.safetensors %.1f MB → %.1f MB; checkpoint → %@",
                     layers, label, tables.isEmpty ? "" : " and \(tables.count) embedding tables to int8", megabytes(source),
                     megabytes(target), target.path))
    }

    /// Each unit's bits by its Linear's path, from a `quantize search --json` file (`MixedPrecision`'s units).
    private func unitBits(of model: Transformer, file bitsFrom: String) throws -> [String: Int] {
        let url = URL(fileURLWithPath: bitsFrom), file = try JSONFile.read(BitConfiguration.self, from: url)
        let units = MixedPrecision(model: model).units
        guard file.units == units.map(\.name) else {
            throw JSONFile.Failure(file: url.path, field: "units", "names \(file.units.count) units, expected this model's \(units.count): "
                                   + units.map(\.name).prefix(6).joined(separator: ", ") + (units.count > 6 ? ", …" : ""))
        }
        guard file.bits.count == units.count else {
            throw JSONFile.Failure(file: url.path, field: "bits", "has \(file.bits.count) values, expected one per unit (\(units.count))")
        }
        if let i = file.bits.firstIndex(where: { !(2...8).contains($0) }) {
            throw JSONFile.Failure(file: url.path, field: "bits[\(i)]", "is \(file.bits[i]), expected a bit width 2…8")
        }
        return Dictionary(zip(units.map(\.path), file.bits).map { ($0, $1) }, uniquingKeysWith: { a, _ in a })
    }
}
