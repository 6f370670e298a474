import NASModels
import NASTensor

/// Simulated low-bit inference of a trained model (weights only at b bits, activations at 8): every Linear that
/// `filter` selects computes Q_a(x) · Q(W)ᵀ (`Linear.Arithmetic.fakeQuantized`) with
///
/// - Q the symmetric per-output-channel b-bit quantizer of W, on the uniform grid (round to nearest: RTN), on
///   PowerQuant's grid with the layer's data-free exponent (`PowerQuantization.exponent`), or on the power grid with the
///   exponent and weights NUPES learns from there on calibration inputs (`NUPES`; the layer's weights are replaced);
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
        /// NUPES: PowerQuant's start, then α and the weights learnt on calibration inputs.
        case nupes
    }

    /// What was applied to one layer: its exponent (1 on the uniform grid), its weight reconstruction error ‖W₀ − Q(W)‖²/‖W₀‖²
    /// and, with NUPES, the calibration output error before (PowerQuant's start) and after the fit.
    public struct Layer: Sendable {
        public var name: String
        public var alpha: Float
        public var error: Double
        public var outputError: (before: Double, after: Double)?
    }

    /// Sets the arithmetic of `model`'s selected Linears (default: all) and returns what each got, in tree order. NUPES
    /// needs `calibrate`: it runs the (fp32) model on calibration data while the layers' inputs are recorded (at most
    /// `maxRows` evenly spaced token rows per layer).
    @discardableResult
    public static func apply(to model: any Module, weightBits bits: Int, grid: Grid, activationBits: Int?,
                             calibrate: (() -> Void)? = nil, nupes: NUPES.Options = .init(), maxRows: Int = 512,
                             where filter: (String, Linear) -> Bool = { _, _ in true }) -> [Layer] {
        let activations = activationBits.map { FakeQuantization(bits: $0, perChannel: false, symmetric: false) }
        var inputs: [ObjectIdentifier: [Tensor]] = [:]
        if grid == .nupes {
            guard let calibrate else { preconditionFailure("SimulatedQuantization: NUPES needs calibration inputs") }
            let linears = model.linears().filter { filter($0.path, $0.linear) }.map(\.linear)
            for linear in linears {
                linear.inputObserver = { x in inputs[ObjectIdentifier(linear), default: []].append(x.detached().reshaped([-1, x.shape.last!])) }
            }
            Autograd.noGrad { calibrate() }
            linears.forEach { $0.inputObserver = nil }
        }
        var layers: [Layer] = []
        model.updateLinears(where: filter) { linear in
            let w = linear.weight.value
            var layer = Layer(name: linear.weight.name, alpha: 1, error: 0)
            switch grid {
            case .uniform: layer.error = PowerQuantization.reconstructionError(w, FakeQuantization(bits: bits, perChannel: true))
            case .power: (layer.alpha, layer.error) = PowerQuantization.exponent(for: w, bits: bits)
            case .nupes:
                let start = PowerQuantization.exponent(for: w, bits: bits).alpha
                let x = rows(inputs[ObjectIdentifier(linear)] ?? [], atMost: maxRows)
                let fit = NUPES.fit(weight: w, inputs: x, bits: bits, alpha: start, activations: activations, options: nupes)
                linear.weight.value = Tensor(shape: w.shape, scalars: fit.weight)
                layer.alpha = fit.alpha
                layer.outputError = (fit.initialLoss, fit.loss)
                let q = Autograd.noGrad { linear.weight.value.fakeQuantized(FakeQuantization(bits: bits, perChannel: true, powerExponent: fit.alpha)) }
                layer.error = PowerQuantization.reconstructionError(w, quantized: q)
            }
            linear.arithmetic = .fakeQuantized(FakeQuantization(bits: bits, perChannel: true, powerExponent: layer.alpha == 1 ? nil : layer.alpha),
                                               activations: activations)
            layers.append(layer)
        }
        return layers
    }

    /// At most `count` evenly spaced rows of the row blocks `xs` ([nᵢ, d] each), as one [n, d] tensor.
    static func rows(_ xs: [Tensor], atMost count: Int) -> Tensor {
        precondition(!xs.isEmpty, "SimulatedQuantization: the calibration never reached a layer")
        let d = xs[0].shape[1], v = xs.flatMap { $0.contiguous().scalars }, n = v.count / d
        let every = max(1, (n + count - 1) / count), kept = Array(stride(from: 0, to: n, by: every))
        return Tensor(shape: [kept.count, d], scalars: kept.flatMap { v[($0 * d)..<(($0 + 1) * d)] })
    }
}
