import NASTensor

/// Elastic fully connected layer: owns its largest weight [outMax, inMax] and bias [outMax]; a call
/// runs the leading slice y = x · W[:out, :in]ᵀ + b[:out] (zero-copy, in = x's last dimension).
/// Its `arithmetic` is replaceable (see `Module.updateLinears`): exact fp32, fake-quantized weights,
/// bf16 mixed precision for training, or stored bf16 / int8 weights for inference.
public final class Linear: Module {
    /// How a `Linear` multiplies.
    public enum Arithmetic: CustomStringConvertible {
        /// x · Wᵀ in fp32.
        case exact
        /// x · Q(W)ᵀ with Q the quantize–dequantize of the slice in use (`FakeQuantization`; straight-through
        /// gradient into W): quantization-aware search and training.
        case fakeQuantized(FakeQuantization)
        /// bf16 mixed precision (`Tensor.linearBF16`): operands rounded to bf16 in every GEMM, fp32
        /// accumulation, fp32 master weight and gradients. Trainable; any leading slice.
        case bf16
        /// Inference with the weight stored in bf16 (the whole weight: a standalone model).
        case bf16Weights(BF16Matrix)
        /// Inference with per-output-channel int8 weights and dynamically quantized uint8 activations
        /// (`Tensor.matmulInt8`; the whole weight).
        case int8(Int8Weights)

        public var description: String {
            switch self {
            case .exact: return "fp32"
            case .fakeQuantized(let q): return "fake-quantized \(q)"
            case .bf16: return "bf16 mixed precision"
            case .bf16Weights: return "bf16 weights"
            case .int8: return "int8 weights"
            }
        }

        /// Whether the layer can train in this arithmetic (the stored-weight forms are inference only).
        public var isTrainable: Bool {
            switch self {
            case .exact, .fakeQuantized, .bf16: return true
            case .bf16Weights, .int8: return false
            }
        }
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
        let b = bias?.leading([o])
        switch arithmetic {
        case .exact: return x.matmul(weight.leading([o, i]), transposeB: true, bias: b)
        case .fakeQuantized(let q): return x.matmul(weight.leading([o, i]).fakeQuantized(q), transposeB: true, bias: b)
        case .bf16: return x.linearBF16(weight.leading([o, i]), bias: b)
        case .bf16Weights(let w):
            precondition(o == w.rows && i == w.cols, "Linear \(weight.name): bf16 weights are \(w.rows)×\(w.cols), a call asks for \(o)×\(i)")
            return x.matmulBF16(w, transposeB: true, bias: b)
        case .int8(let w):
            precondition(o == w.outFeatures && i == w.inFeatures,
                         "Linear \(weight.name): int8 weights are \(w.outFeatures)×\(w.inFeatures), a call asks for \(o)×\(i)")
            return x.matmulInt8(w, bias: b)
        }
    }
}
