import ArgumentParser
import Foundation
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
/// heads, embeddings and LayerNorms stay fp32 (layout: `QuantizedCheckpoint`). `evaluate`, `embed` and
/// `model info` read the result like any checkpoint.
struct QuantizeApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Write a copy of a checkpoint with int8 or bf16 Linear weights.")

    @Option(help: "A model folder (or a training run folder: its latest checkpoint).")
    var checkpoint: String
    @Option(help: "How the Linear weights are stored: int8 or bf16.")
    var weights: WeightQuantization
    @Option(help: "Output folder (must not exist).")
    var out: String
    @OptionGroup var engine: EngineOptions

    func run() throws {
        engine.apply()
        let source = try TrainingInputs.checkpointFolder(checkpoint)
        let target = URL(fileURLWithPath: out)
        try OutputFolder.check(target)   // before the model is read
        let (model, _, unused) = try Checkpoint.loadTransformer(from: source)
        try QuantizationInputs.requireFP32(model, source: source, action: "quantize")
        let kind: LowPrecision.Kind = weights == .int8 ? .int8 : .bf16
        if !LowPrecision.isAvailable(kind) { LowPrecision.noteFallback(kind) }
        let layers = model.quantize(weights)

        let fm = FileManager.default
        try OutputFolder.createNew(target) { staging in
            // The backbone with its quantized Linears; heads and anything else it does not hold copied as they
            // are (F32); the source's other files (config with task and exact architecture, vocabulary).
            let sourceWeights = try SafeTensorsFile(contentsOf: source.appendingPathComponent("model.safetensors"))
            try SafeTensorsFile.write(
                QuantizedCheckpoint.entries(of: model.parameters, linears: model.linears().map(\.linear))
                    + (try unused.map { SafeTensorsFile.Entry.f32($0, try Checkpoint.finiteTensor($0, in: sourceWeights)) }),
                metadata: ["format": "pt"], to: staging.appendingPathComponent("model.safetensors"))
            for item in try fm.contentsOfDirectory(atPath: source.path) where item != "model.safetensors" && !item.hasPrefix(".") {
                try fm.copyItem(at: source.appendingPathComponent(item), to: staging.appendingPathComponent(item))
            }
            try TrainingCheckpoint.addToConfig(staging.appendingPathComponent("config.json"), key: QuantizedCheckpoint.key,
                                               value: QuantizedCheckpoint.description(weights, layers: layers))
        }
        func megabytes(_ folder: URL) -> Double {
            let file = folder.appendingPathComponent("model.safetensors").path
            return Double((try? fm.attributesOfItem(atPath: file)[.size] as? NSNumber)??.intValue ?? 0) / 1e6
        }
        print(String(format: "quantized %d Linear layers to %@: model.safetensors %.1f MB → %.1f MB; checkpoint → %@",
                     layers, weights.rawValue, megabytes(source), megabytes(target), target.path))
    }
}
