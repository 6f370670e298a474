import NASModels
import NASTensor
import NASTrain

/// Mixed-precision post-training quantization of a fine-tuned encoder, unit by unit: EMQ's setting (Dong et al.,
/// ICCV 2023, "EMQ: Evolving Training-free Proxies for Automated Mixed Precision Quantization"; its MQ-Bench-101
/// quantizes each layer of a trained network at its own bit width and records the accuracy), for transformers.
///
/// A *unit* is one Linear of a block: Q, K, V, O of the attention and FFN1, FFN2 (6 per layer, 36 in MiniLM-L6).
/// A configuration b ∈ B^U gives unit u the symmetric per-output-channel b_u-bit weight quantizer (round to
/// nearest on the uniform grid, or PowerQuant's grid with the unit's data-free exponent), every unit's input the
/// asymmetric per-tensor `activationBits` quantizer; `prepare` puts the embeddings (per row) and the head's
/// Linears at `fixedBits`. Its size is the bits per weight  Σ_u b_u·n_u / Σ_u n_u  (n_u the unit's weights).
public final class MixedPrecision {
    /// One quantization unit: a name (`layer3.FFN1`), the Linear's path in the model tree and its weight count.
    public struct Unit: Codable, Hashable, Sendable {
        public var name: String
        public var path: String
        public var parameters: Int
    }

    /// The unit roles of a block, in order: (path suffix, name).
    public static let roles: [(suffix: String, name: String)] = [
        ("mixer.query", "Q"), ("mixer.key", "K"), ("mixer.value", "V"), ("mixer.output", "O"), ("intermediate", "FFN1"), ("output", "FFN2")]

    public let model: Transformer
    public let units: [Unit]
    public let grid: SimulatedQuantization.Grid
    public let activationBits: Int?
    private let linears: [Linear]
    /// PowerQuant's exponent per (unit, bits), found once.
    private var exponents: [Int: [Int: Float]] = [:]

    /// The units of `model` (every block's Q, K, V, O, FFN1, FFN2 that exist, block by block).
    public init(model: Transformer, grid: SimulatedQuantization.Grid = .uniform, activationBits: Int? = 8) {
        let byPath = Dictionary(model.linears().map { ($0.path, $0.linear) }, uniquingKeysWith: { a, _ in a })
        var units: [Unit] = [], linears: [Linear] = []
        for i in model.blocks.indices {
            for role in MixedPrecision.roles {
                guard let linear = byPath["blocks.\(i).\(role.suffix)"] else { continue }
                units.append(Unit(name: "layer\(i).\(role.name)", path: "blocks.\(i).\(role.suffix)", parameters: linear.weight.value.count))
                linears.append(linear)
            }
        }
        (self.model, self.units, self.linears, self.grid, self.activationBits) = (model, units, linears, grid, activationBits)
    }

    /// Puts what no configuration chooses at `fixedBits`: the embedding tables per row (their values replaced by the
    /// quantized ones) and the head's Linears (weights per channel, inputs at `activationBits`).
    public func prepare(head: SequenceClassificationHead, fixedBits: Int) {
        let tables = model.modules().compactMap { $0.module as? Embedding }
        for table in tables { table.weight.value = Autograd.noGrad { table.weight.value.fakeQuantized(FakeQuantization(bits: fixedBits, perChannel: true)) } }
        let activations = activationBits.map { FakeQuantization(bits: $0, perChannel: false, symmetric: false) }
        head.updateLinears { $0.arithmetic = .fakeQuantized(FakeQuantization(bits: fixedBits, perChannel: true), activations: activations) }
    }

    /// Sets unit u to `bits[u]`-bit weights (and its input to `activationBits`).
    public func apply(_ bits: [Int]) {
        precondition(bits.count == units.count, "MixedPrecision: \(bits.count) bit widths for \(units.count) units")
        let activations = activationBits.map { FakeQuantization(bits: $0, perChannel: false, symmetric: false) }
        for (u, (linear, b)) in zip(linears, bits).enumerated() {
            let alpha = grid == .power ? exponent(unit: u, bits: b) : 1
            linear.arithmetic = .fakeQuantized(FakeQuantization(bits: b, perChannel: true, powerExponent: alpha == 1 ? nil : alpha),
                                               activations: activations)
        }
    }

    /// Σ_u b_u·n_u / Σ_u n_u.
    public func bitsPerWeight(_ bits: [Int]) -> Double {
        MixedPrecision.bitsPerWeight(bits, units: units)
    }

    public static func bitsPerWeight(_ bits: [Int], units: [Unit]) -> Double {
        let total = units.reduce(0) { $0 + $1.parameters }
        return Double(zip(bits, units).reduce(0) { $0 + $1.0 * $1.1.parameters }) / Double(max(total, 1))
    }

    /// The unit's weight [out, in] (fp32).
    public func weight(of unit: Int) -> Tensor { linears[unit].weight.value }

    /// The unit's layer.
    public func linear(of unit: Int) -> Linear { linears[unit] }

    /// Q_b(W_u): the unit's weight as `apply` quantizes it at `bits`.
    public func quantizedWeight(of unit: Int, bits: Int) -> Tensor {
        let alpha = grid == .power ? exponent(unit: unit, bits: bits) : 1
        return Autograd.noGrad { linears[unit].weight.value.fakeQuantized(FakeQuantization(bits: bits, perChannel: true, powerExponent: alpha == 1 ? nil : alpha)) }
    }

    private func exponent(unit: Int, bits: Int) -> Float {
        if let alpha = exponents[unit]?[bits] { return alpha }
        let alpha = PowerQuantization.exponent(for: linears[unit].weight.value, bits: bits).alpha
        exponents[unit, default: [:]][bits] = alpha
        return alpha
    }
}
