import ArgumentParser
import Foundation
import NASCompress
import NASModels
import NASText

/// `evaluate --weight-bits B [--weight-grid uniform|power|nupes] [--activation-bits A]`: the backbone's Linears run
/// simulated B-bit weights and A-bit inputs (`SimulatedQuantization`); embeddings, LayerNorms and the head stay fp32.
/// NUPES learns each layer's exponent and weights on a calibration draw of the task's training split. `quantize apply`
/// takes the same options and writes that model as a file.
struct SimulatedQuantizationOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "b-bit weights (2–8, symmetric per output channel) in every Linear of the backbone.",
            transform: SimulatedQuantizationOptions.bits)
    var weightBits: Int?
    @Option(help: "With --weight-bits: the weight grid, uniform (round to nearest; the default), power (PowerQuant, a data-free exponent per layer) or nupes (exponent and weights learnt on calibration inputs).")
    var weightGrid: SimulatedQuantization.Grid?
    @Option(parsing: .unconditional, help: "With --weight-bits: the Linears' inputs at this many bits (2–8, asymmetric per tensor, dynamic range; default 8).",
            transform: SimulatedQuantizationOptions.bits)
    var activationBits: Int?
    @OptionGroup var calibration: CalibrationOptions
    @Option(parsing: .unconditional, help: "With --weight-grid nupes: gradient steps per layer.", transform: NumberArgument.positive)
    var nupesSteps = 100

    func validate() throws {
        guard weightBits != nil || (weightGrid == nil && activationBits == nil) else {
            throw ValidationError("--weight-grid and --activation-bits shape a simulation: give --weight-bits too")
        }
    }

    @Sendable static func bits(_ text: String) throws -> Int {
        guard let b = Int(text), (2...8).contains(b) else { throw ValidationError("expected a bit width 2…8, got '\(text)'") }
        return b
    }

    /// Applies the simulation to `model` (nothing without --weight-bits) and returns the figures for the report; NUPES
    /// runs the model on `calibrationBatch` (nil: no task to calibrate on, an error with NUPES).
    func apply(to model: Transformer, source: URL, calibrationBatch: (() throws -> GLUEBatch)? = nil) throws -> [String: JSONValue] {
        guard let weightBits else { return [:] }
        try QuantizationInputs.requireFP32(model, source: source, action: "simulate on")
        let (grid, activationBits) = (weightGrid ?? .uniform, activationBits ?? 8)
        var calibrate: (() -> Void)?
        if grid == .nupes {
            guard let calibrationBatch else { throw ValidationError("--weight-grid nupes learns from a task's training split: evaluate a fine-tuned task model") }
            let batch = try calibrationBatch()
            calibrate = { withExtendedLifetime(model(batch.tokens)) {} }
        }
        let layers = SimulatedQuantization.apply(to: model, weightBits: weightBits, grid: grid, activationBits: activationBits,
                                                 calibrate: calibrate, nupes: NUPES.Options(steps: nupesSteps))
        var figures: [String: JSONValue] = [:]
        let fitted = layers.compactMap(\.outputError)
        if !fitted.isEmpty {
            let before = fitted.map(\.before).reduce(0, +) / Double(fitted.count), after = fitted.map(\.after).reduce(0, +) / Double(fitted.count)
            print(String(format: "NUPES: mean calibration output error %.4g (PowerQuant's start) → %.4g", before, after))
            figures["output_error_start"] = .double(before)
            figures["output_error"] = .double(after)
        }
        let alphas = layers.map(\.alpha), meanError = layers.map(\.error).reduce(0, +) / Double(max(layers.count, 1))
        print(String(format: "simulated: %d Linears at W%d (%@ grid, α %.3f–%.3f), inputs at %d bits; mean relative weight error %.5f",
                     layers.count, weightBits, grid.rawValue, alphas.min() ?? 1, alphas.max() ?? 1, activationBits, meanError))
        figures["weight_bits"] = .int(weightBits)
        figures["weight_grid"] = .string(grid.rawValue)
        figures["activation_bits"] = .int(activationBits)
        figures["weight_error"] = .double(meanError)
        figures["alphas"] = .array(alphas.map { .double(Double($0)) })
        return figures
    }
}

extension SimulatedQuantization.Grid: ExpressibleByArgument {}
