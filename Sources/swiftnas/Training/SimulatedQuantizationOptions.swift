import ArgumentParser
import Foundation
import NASCompress
import NASModels

/// `evaluate --weight-bits B [--weight-grid uniform|power] [--activation-bits A]`: the backbone's Linears run
/// simulated B-bit weights and A-bit inputs (`SimulatedQuantization`); embeddings, LayerNorms and the head stay fp32.
struct SimulatedQuantizationOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Simulate b-bit weights (2–8, symmetric per output channel) in every Linear of the backbone.",
            transform: SimulatedQuantizationOptions.bits)
    var weightBits: Int?
    @Option(help: "With --weight-bits: the weight grid, uniform (round to nearest; the default) or power (PowerQuant, a data-free exponent per layer).")
    var weightGrid: SimulatedQuantization.Grid?
    @Option(parsing: .unconditional, help: "With --weight-bits: the Linears' inputs at this many bits (2–8, asymmetric per tensor, dynamic range; default 8).",
            transform: SimulatedQuantizationOptions.bits)
    var activationBits: Int?

    func validate() throws {
        guard weightBits != nil || (weightGrid == nil && activationBits == nil) else {
            throw ValidationError("--weight-grid and --activation-bits shape a simulation: give --weight-bits too")
        }
    }

    @Sendable static func bits(_ text: String) throws -> Int {
        guard let b = Int(text), (2...8).contains(b) else { throw ValidationError("expected a bit width 2…8, got '\(text)'") }
        return b
    }

    /// Applies the simulation to `model` (nothing without --weight-bits) and returns the figures for the report.
    func apply(to model: Transformer, source: URL) throws -> [String: JSONValue] {
        guard let weightBits else { return [:] }
        if let stored = model.linears().first(where: { !$0.linear.arithmetic.isTrainable }) {
            throw ValidationError("\(source.path): already quantized (\(stored.linear.weight.name) has \(stored.linear.arithmetic)); "
                                  + "simulate on its fp32 source")
        }
        let (grid, activationBits) = (weightGrid ?? .uniform, activationBits ?? 8)
        let layers = SimulatedQuantization.apply(to: model, weightBits: weightBits, grid: grid, activationBits: activationBits)
        let alphas = layers.map(\.alpha), meanError = layers.map(\.error).reduce(0, +) / Double(max(layers.count, 1))
        print(String(format: "simulated: %d Linears at W%d (%@ grid, α %.3f–%.3f), inputs at %d bits; mean relative weight error %.5f",
                     layers.count, weightBits, grid.rawValue, alphas.min() ?? 1, alphas.max() ?? 1, activationBits, meanError))
        return ["weight_bits": .int(weightBits), "weight_grid": .string(grid.rawValue), "activation_bits": .int(activationBits),
                "weight_error": .double(meanError), "alphas": .array(alphas.map { .double(Double($0)) })]
    }
}

extension SimulatedQuantization.Grid: ExpressibleByArgument {}
