import NASModels
import NASTensor

/// Simulated low-bit inference of a trained model (weights only at b bits, activations at 8): every Linear that
/// `filter` selects computes Q_a(x) · Q(W)ᵀ (`Linear.Arithmetic.fakeQuantized`) with
///
/// - Q the symmetric per-output-channel b-bit quantizer of W, on the uniform grid (round to nearest: RTN) or on
///   PowerQuant's grid with the layer's data-free exponent (`PowerQuantization.exponent`);
/// - Q_a the asymmetric per-tensor quantizer of the layer's input at `activationBits`, its range the input's own
///   (dynamic), or none.
///
/// Embeddings, LayerNorms and whatever `filter` leaves out stay fp32.
public enum SimulatedQuantization {
    /// The weight grid.
    public enum Grid: String, CaseIterable, Sendable {
        /// Uniform, round to nearest.
        case uniform
        /// PowerQuant: u = |w/m|^α on a uniform grid, α per layer chosen without data.
        case power
    }

    /// What was applied to one layer: its exponent (1 on the uniform grid) and its weight reconstruction error.
    public struct Layer: Sendable {
        public var name: String
        public var alpha: Float
        public var error: Double
    }

    /// Sets the arithmetic of `model`'s selected Linears (default: all) and returns what each got, in tree order.
    @discardableResult
    public static func apply(to model: any Module, weightBits bits: Int, grid: Grid, activationBits: Int?,
                             where filter: (String, Linear) -> Bool = { _, _ in true }) -> [Layer] {
        let activations = activationBits.map { FakeQuantization(bits: $0, perChannel: false, symmetric: false) }
        var layers: [Layer] = []
        model.updateLinears(where: filter) { linear in
            let w = linear.weight.value
            let (alpha, error): (Float, Double)
            switch grid {
            case .uniform: (alpha, error) = (1, PowerQuantization.reconstructionError(w, FakeQuantization(bits: bits, perChannel: true)))
            case .power: (alpha, error) = PowerQuantization.exponent(for: w, bits: bits)
            }
            linear.arithmetic = .fakeQuantized(FakeQuantization(bits: bits, perChannel: true, powerExponent: alpha == 1 ? nil : alpha),
                                               activations: activations)
            layers.append(Layer(name: linear.weight.name, alpha: alpha, error: error))
        }
        return layers
    }
}
