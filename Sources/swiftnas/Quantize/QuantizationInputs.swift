import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASTrain

/// Loading the model a quantization command works on.
enum QuantizationInputs {
    /// Refuses a model whose Linears hold stored int8/bf16 or power-grid weights (any arithmetic but fp32, as loaded): what
    /// `action` does (quantize, simulate, prune) needs the fp32 source.
    static func requireFP32(_ model: Transformer, source: URL, action: String) throws {
        if let stored = model.linears().first(where: { if case .exact = $0.linear.arithmetic { return false } else { return true } }) {
            throw ValidationError("\(source.path): already quantized (\(stored.linear.weight.name) has \(stored.linear.arithmetic)); "
                                  + "\(action) its fp32 source instead")
        }
    }

    /// The fine-tuned model of `checkpoint` and its units on `grid` with 8-bit inputs, embeddings and head at 8 bits — or,
    /// with a benchmark, in the benchmark's setting, its weights checked against the benchmark's.
    static func model(_ checkpoint: String, matching benchmark: MixedPrecisionBenchmark? = nil,
                      grid: SimulatedQuantization.Grid = .uniform) throws -> (TaskModel, MixedPrecision, URL) {
        let folder = try TrainingInputs.checkpointFolder(checkpoint)
        if let benchmark {
            let hash = try SHA256.hex(contentsOf: folder.appendingPathComponent("model.safetensors"))
            guard hash == benchmark.sha256 else {
                throw ValidationError("\(folder.path): model.safetensors has SHA-256 \(hash.prefix(12))…, the benchmark was measured on "
                                      + "\(benchmark.sha256.prefix(12))… (another model)")
            }
        }
        let taskModel = try TaskModel.load(folder)
        let mixed = MixedPrecision(model: taskModel.model, grid: benchmark.flatMap { SimulatedQuantization.Grid(rawValue: $0.grid) } ?? grid,
                                   activationBits: benchmark?.activationBits ?? 8)
        mixed.prepare(head: taskModel.head, fixedBits: benchmark?.fixedBits ?? 8)
        return (taskModel, mixed, folder)
    }
}
