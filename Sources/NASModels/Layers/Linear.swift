import NASTensor

/// Elastic fully connected layer: owns its largest weight [outMax, inMax] and bias [outMax]; a call
/// runs the leading slice y = x · W[:out, :in]ᵀ + b[:out] (zero-copy, in = x's last dimension).
/// Its `arithmetic` is replaceable (see `Module.updateLinears`): exact fp32, fake-quantized weights,
/// bf16 mixed precision for training, or stored bf16 / int8 weights for inference.
///
/// A routed layer (Mixture-of-Supernets, `ArchitectureRouter`) also holds expert copies E_1…E_{m−1}
/// (`experts`, named `<name>.experts.<k>`; E_0 is the layer's own weight) and, given mixture weights α
/// ([1, m] layer-wise or [R, m] neuron-wise), runs W = Σ_k α_k ⊙ E_k[:out, :in], b = Σ_k α_k ⊙ c_k[:out].
public final class Linear: Module {
    /// How a `Linear` multiplies.
    public enum Arithmetic: CustomStringConvertible {
        /// x · Wᵀ in fp32.
        case exact
        /// Q_a(x) · Q(W)ᵀ with Q the quantize–dequantize of the slice in use (`FakeQuantization`; straight-through
        /// gradients) and Q_a that of the input when `activations` is set: quantization-aware search and training,
        /// and simulated low-bit inference.
        case fakeQuantized(FakeQuantization, activations: FakeQuantization? = nil)
        /// bf16 mixed precision (`Tensor.linearBF16`): operands rounded to bf16 in every GEMM, fp32
        /// accumulation, fp32 master weight and gradients. Trainable; any leading slice.
        case bf16
        /// Inference with the weight stored in bf16 (the whole weight: a standalone model).
        case bf16Weights(BF16Matrix)
        /// Inference with per-output-channel int8 weights and dynamically quantized uint8 activations
        /// (`Tensor.matmulInt8`; the whole weight).
        case int8(Int8Weights)
        /// Inference with a weight already on a grid that has no integer GEMM (a power grid read from a file,
        /// `QuantizedCheckpoint`): Q_a(x) · Wᵀ with W as it is — what `fakeQuantized` computes from the original weight,
        /// without quantizing W again on every call.
        case gridWeights(inputs: FakeQuantization?)

        public var description: String {
            switch self {
            case .exact: return "fp32"
            case .fakeQuantized(let q, let a): return "fake-quantized \(q)" + (a.map { ", inputs \($0)" } ?? "")
            case .bf16: return "bf16 mixed precision"
            case .bf16Weights: return "bf16 weights"
            case .int8: return "int8 weights"
            case .gridWeights(let a): return "weights on a quantization grid" + (a.map { ", inputs \($0)" } ?? "")
            }
        }

        /// Whether the layer can train in this arithmetic (the stored-weight forms are inference only).
        public var isTrainable: Bool {
            switch self {
            case .exact, .fakeQuantized, .bf16: return true
            case .bf16Weights, .int8, .gridWeights: return false
            }
        }
    }

    public let weight: Parameter
    public let bias: Parameter?
    public var arithmetic = Arithmetic.exact
    /// Called with every input x before the product (calibration: the statistics of a layer's inputs that
    /// quantization proxies and data-driven quantizers read); nil in normal use.
    public var inputObserver: ((Tensor) -> Void)?
    /// Expert copies E_1…E_{m−1} of a routed layer (empty: a plain layer).
    public private(set) var experts: [Linear] = []

    public init(_ inMax: Int, _ outMax: Int, name: String, bias: Bool = true, rng: inout RandomGenerator) {
        weight = Init.normal([outMax, inMax], name + ".weight", &rng)
        self.bias = bias ? Init.zeros([outMax], name + ".bias") : nil
    }

    private init(weight: Parameter, bias: Parameter?) { self.weight = weight; self.bias = bias }

    /// Makes this a routed layer of `count` experts: `count − 1` copies of its weight and bias, named
    /// `<name>.experts.<k>` (MoS initialises every expert from the same weights, so a routed supernet starts
    /// as the plain one, Σ_k α_k = 1; the experts part as the architecture-dependent α weigh their gradients).
    public func addExperts(_ count: Int) {
        precondition(experts.isEmpty && count >= 2, "Linear \(weight.name): experts are added once, at least 2")
        let name = String(weight.name.dropLast(".weight".count))
        func copy(_ p: Parameter, _ name: String) -> Parameter { Parameter(Tensor(shape: p.shape, scalars: p.value.scalars), name: name) }
        experts = (1..<count).map { k in
            Linear(weight: copy(weight, name + ".experts.\(k).weight"), bias: bias.map { copy($0, name + ".experts.\(k).bias") })
        }
    }

    public var ownParameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var children: [(name: String, module: any Module)] { experts.enumerated().map { ("experts.\($0 + 1)", $1) } }
    public var maxIn: Int { weight.shape[1] }
    public var maxOut: Int { weight.shape[0] }

    /// The routed weight and bias of the slice [o, i]: Σ_k α_k ⊙ E_k[:o, :i] and Σ_k α_k ⊙ c_k[:o], for
    /// mixture weights `routing` [1, m] (one per expert) or [R ≥ o, m] (one per expert and output row).
    public func routed(_ routing: Tensor, out o: Int, in i: Int) -> (weight: Tensor, bias: Tensor?) {
        let layers = [self] + experts, rows = routing.shape[0]
        precondition(routing.shape == [rows, layers.count] && (rows == 1 || rows >= o),
                     "Linear \(weight.name): routing \(routing.shape) for \(layers.count) experts and \(o) rows")
        var w: Tensor?, b: Tensor?
        for (k, layer) in layers.enumerated() {
            var a = routing.slice(axis: 1, k..<(k + 1))              // [1, 1] or [R, 1]
            if rows > 1 { a = a.slice(axis: 0, 0..<o) }
            let term = a * layer.weight.leading([o, i])
            w = w.map { $0 + term } ?? term
            if let c = layer.bias {
                let t = a.reshaped([rows > 1 ? o : 1]) * c.leading([o])
                b = b.map { $0 + t } ?? t
            }
        }
        return (w!, b)
    }

    /// y = x · W[:out, :in]ᵀ + b[:out]; with `routing` (a routed layer), W and b are the mixture `routed`.
    public func callAsFunction(_ x: Tensor, out: Int? = nil, routing: Tensor? = nil) -> Tensor {
        inputObserver?(x)
        let i = x.shape.last!, o = out ?? maxOut
        precondition(i <= maxIn && o <= maxOut, "Linear \(weight.name): slice [\(o), \(i)] exceeds [\(maxOut), \(maxIn)]")
        let mixture = routing.map { routed($0, out: o, in: i) }
        let w = mixture?.weight ?? weight.leading([o, i]), b = mixture.map(\.bias) ?? bias?.leading([o])
        switch arithmetic {
        case .exact: return x.matmul(w, transposeB: true, bias: b)
        case .fakeQuantized(let q, let a): return (a.map { x.fakeQuantized($0) } ?? x).matmul(w.fakeQuantized(q), transposeB: true, bias: b)
        case .bf16: return x.linearBF16(w, bias: b)
        case .bf16Weights(let w):
            precondition(routing == nil, "Linear \(weight.name): stored bf16 weights are not routed")
            precondition(o == w.rows && i == w.cols, "Linear \(weight.name): bf16 weights are \(w.rows)×\(w.cols), a call asks for \(o)×\(i)")
            return x.matmulBF16(w, transposeB: true, bias: b)
        case .int8(let w):
            precondition(routing == nil, "Linear \(weight.name): stored int8 weights are not routed")
            precondition(o == w.outFeatures && i == w.inFeatures,
                         "Linear \(weight.name): int8 weights are \(w.outFeatures)×\(w.inFeatures), a call asks for \(o)×\(i)")
            return x.matmulInt8(w, bias: b)
        case .gridWeights(let a): return (a.map { x.fakeQuantized($0) } ?? x).matmul(w, transposeB: true, bias: b)
        }
    }
}
