import NASTensor

/// Elastic fully connected layer: owns its largest weight [outMax, inMax] and bias [outMax]; a call
/// runs the leading slice y = x · W[:out, :in]ᵀ + b[:out] (zero-copy, in = x's last dimension).
/// Its `arithmetic` is replaceable (see `Module.updateLinears`): exact fp32, or fake-quantized weights.
public final class Linear: Module {
    /// How a `Linear` multiplies.
    public enum Arithmetic: Hashable, Sendable {
        /// x · Wᵀ in fp32.
        case exact
        /// x · Q(W)ᵀ with Q the quantize–dequantize of the slice in use (`FakeQuantization`; straight-through
        /// gradient into W): quantization-aware search and training.
        case fakeQuantized(FakeQuantization)
    }

    public let weight: Parameter
    public let bias: Parameter?
    public var arithmetic = Arithmetic.exact

    public init(_ inMax: Int, _ outMax: Int, name: String, bias: Bool = true, rng: inout RandomGenerator) {
        weight = Init.normal([outMax, inMax], name + ".weight", &rng)
        self.bias = bias ? Init.zeros([outMax], name + ".bias") : nil
    }

    public var ownParameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var maxIn: Int { weight.shape[1] }
    public var maxOut: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor, out: Int? = nil) -> Tensor {
        let i = x.shape.last!, o = out ?? maxOut
        precondition(i <= maxIn && o <= maxOut, "Linear \(weight.name): slice [\(o), \(i)] exceeds [\(maxOut), \(maxIn)]")
        var w = weight.leading([o, i])
        if case .fakeQuantized(let q) = arithmetic { w = w.fakeQuantized(q) }
        return x.matmul(w, transposeB: true, bias: bias?.leading([o]))
    }
}
