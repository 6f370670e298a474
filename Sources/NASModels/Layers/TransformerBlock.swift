import NASTensor

/// One elastic transformer layer: a token mixer and an FFN, each with a residual and LayerNorm.
/// Encoder (BERT, post-LN):  x = LN₁(x + Drop(Mix(x)));  x = LN₂(x + Drop(FFN(x)))
/// Decoder (GPT-2, pre-LN):  x = x + Drop(Mix(LN₁(x)));  x = x + Drop(FFN(LN₂(x)))
/// FFN(x) = act(…act(act(x·W₁ᵀ + b₁)·W₂ᵀ + b₂)…)·W_outᵀ + b_out over the dense widths `layer.ffnWidths`
/// (one for BERT; FlexiBERT stacks more), every weight its leading slice; a sub-network may run the first
/// of the stacked layers only.
/// The mixer is the layer's operation (`TokenMixer`): SDP or WMA attention, DFT, DCT or dynamic convolution.
/// A routed block (Mixture-of-Supernets, `ExpertRouting`) holds m experts of W₁ and W_out and routers that
/// turn the architecture vector into their mixture weights: one router shared by both (layer-wise) or one
/// each (neuron-wise, `…mlp.router.fc1`/`.fc2`; encoders `…intermediate.router`/`output.router`).
/// A supernet block may hold several operations (`OperationChoices`): one mixer each, sharing no weight;
/// the block's own operation keeps the plain parameter names, every other one lives under
/// `…layer.i.operations.<op>.` (e.g. `encoder.layer.0.operations.wma.attention.self.query.weight`).
/// A bottleneck layer (MobileBERT; Sun et al., 2020) wraps the encoder block at width b:
///     y = Block_b(x·W_inᵀ + b_in);  out = LN_out(x + Drop(y·W_outᵀ + b_out)).
public final class TransformerBlock: Module {
    public let family: Architecture.Family
    public let activation: Architecture.Activation
    /// The block's own operation (its largest member's); `mixer` runs it.
    public let operation: Architecture.Operation
    public let mixer: any TokenMixer
    /// Every operation the block holds (its own first) and the mixer of each, in the same order.
    public let operations: [Architecture.Operation]
    public let mixers: [any TokenMixer]
    public let attentionNorm: LayerNorm
    /// The first FFN dense layer (its output before the activation is `Result.preActivation`).
    public let intermediate: Linear
    /// Further FFN dense layers (`layer.ffnStack`), each followed by the activation.
    public let extraIntermediates: [Linear]
    public let output: Linear
    public let outputNorm: LayerNorm
    /// Bottleneck layers: Linear(h → b), Linear(b → h) and the outer LayerNorm; nil otherwise.
    public let bottleneck: (input: Linear, output: Linear, norm: LayerNorm)?
    /// A routed block's routers: [shared] layer-wise, [W₁'s, W_out's] neuron-wise; empty for a plain block.
    public let routers: [ArchitectureRouter]

    /// `hidden` is this layer's own width (`Architecture.width(ofLayer:)`); `choices` adds the other
    /// operations a supernet layer holds.
    public init(family: Architecture.Family, activation: Architecture.Activation, hidden outer: Int, layer: Architecture.Layer,
                index i: Int, eps: Float, choices: OperationChoices? = nil, routing: ExpertRouting? = nil, rng: inout RandomGenerator) {
        let hidden = layer.bottleneck ?? outer
        self.family = family
        self.activation = activation
        operation = layer.operation
        operations = choices?.operations(of: layer.operation) ?? [layer.operation]
        let widths = layer.ffnWidths
        let p = family == .encoder ? "encoder.layer.\(i)." : "h.\(i)."
        let ln1: String, fc: String, extra: String, proj: String, ln2: String
        switch family {
        case .encoder:
            ln1 = p + "attention.output.LayerNorm"; fc = p + "intermediate.dense"; extra = p + "intermediate.extra."
            proj = p + "output.dense"; ln2 = p + "output.LayerNorm"
        case .decoder:
            ln1 = p + "ln_1"; fc = p + "mlp.c_fc"; extra = p + "mlp.extra."; proj = p + "mlp.c_proj"; ln2 = p + "ln_2"
        }
        mixers = operations.enumerated().map { j, op in
            Self.mixer(op, family: family, hidden: hidden, layer: layer, choices: choices,
                       prefix: j == 0 ? p : p + "operations.\(op).", rng: &rng)
        }
        mixer = mixers[0]
        attentionNorm = LayerNorm(hidden, name: ln1, eps: eps)
        intermediate = Linear(hidden, widths[0], name: fc, rng: &rng)
        extraIntermediates = (1..<widths.count).map { j in
            Linear(widths[j - 1], widths[j], name: extra + "\(j - 1)", rng: &rng)
        }
        output = Linear(widths.last!, hidden, name: proj, rng: &rng)
        outputNorm = LayerNorm(hidden, name: ln2, eps: eps)
        bottleneck = layer.bottleneck.map { b in
            (Linear(outer, b, name: p + "bottleneck.input.dense", rng: &rng),
             Linear(b, outer, name: p + "bottleneck.output.dense", rng: &rng),
             LayerNorm(outer, name: p + "bottleneck.output.LayerNorm", eps: eps))
        }
        if let routing, routing.experts > 1 {
            intermediate.addExperts(routing.experts)
            output.addExperts(routing.experts)
            let m = routing.experts, h = routing.hidden
            switch routing.granularity {
            case .layer:
                routers = [ArchitectureRouter(experts: m, rows: 1, hidden: h, name: p + (family == .encoder ? "router" : "mlp.router"), rng: &rng)]
            case .neuron:
                let (a, b) = family == .encoder ? (p + "intermediate.router", p + "output.router") : (p + "mlp.router.fc1", p + "mlp.router.fc2")
                routers = [ArchitectureRouter(experts: m, rows: widths[0], hidden: h, name: a, rng: &rng),
                           ArchitectureRouter(experts: m, rows: hidden, hidden: h, name: b, rng: &rng)]
            }
        } else {
            routers = []
        }
    }

    /// A mixer of operation `op` for a layer at most `layer` wide, its parameters named under `prefix`
    /// ("encoder.layer.i." or "h.i.", then the Hugging Face names of BERT or GPT-2 attention).
    private static func mixer(_ op: Architecture.Operation, family: Architecture.Family, hidden: Int, layer: Architecture.Layer,
                              choices: OperationChoices?, prefix p: String, rng: inout RandomGenerator) -> any TokenMixer {
        let names: (q: String, k: String, v: String, o: String), wma: String, conv: String
        switch family {
        case .encoder:
            names = (p + "attention.self.query", p + "attention.self.key", p + "attention.self.value", p + "attention.output.dense")
            wma = p + "attention.self.wma"; conv = p + "attention."
        case .decoder:
            names = (p + "attn.q_proj", p + "attn.k_proj", p + "attn.v_proj", p + "attn.c_proj")
            wma = p + "attn.wma"; conv = p + "attn."
        }
        switch op {
        case .sdp: return MultiHeadAttention(hidden: hidden, qkv: layer.qkv, names: names, rng: &rng)
        case .wma:
            let d = Swift.max(layer.headSize, choices?.wmaHeadSize(qkv: layer.qkv) ?? 0)
            return WeightedMultiplicativeAttention(hidden: hidden, qkv: layer.qkv, heads: layer.heads, headSize: d, names: names,
                                                   weightName: wma, rng: &rng)
        case .dft: return FourierMixer()
        case .dct: return CosineMixer()
        case .dynamicConv(let k): return DynamicConvolution(hidden: hidden, qkv: layer.qkv, heads: layer.heads, kernel: k,
                                                            prefix: conv, rng: &rng)
        }
    }

    /// The mixer that runs `op` (nil when the block does not hold it).
    public func mixer(for op: Architecture.Operation) -> (any TokenMixer)? {
        operations.firstIndex(of: op).map { mixers[$0] }
    }

    /// The attention module of an SDP or WMA layer (nil for the other mixers).
    public var attention: MultiHeadAttention? {
        if let a = mixer as? MultiHeadAttention { return a }
        return (mixer as? WeightedMultiplicativeAttention)?.attention
    }

    public var children: [(name: String, module: any Module)] {
        [("mixer", mixer)] + zip(operations, mixers).dropFirst().map { ("operations.\($0)", $1) }
            + [("attentionNorm", attentionNorm), ("intermediate", intermediate)]
            + extraIntermediates.enumerated().map { ("extraIntermediates.\($0)", $1) }
            + [("output", output), ("outputNorm", outputNorm)]
            + (bottleneck.map { [("bottleneck.input", $0.input), ("bottleneck.output", $0.output), ("bottleneck.norm", $0.norm)] } ?? [])
            + routers.enumerated().map { ("routers.\($0)", $1) }
    }

    /// A routed block's mixture weights for the architecture vector `route` (`ExpertRouting.input`): W₁'s
    /// and W_out's (the same tensor layer-wise); nil for a plain block or without a vector.
    public func routing(_ route: [Float]?) -> (intermediate: Tensor, output: Tensor)? {
        guard let route, let first = routers.first else { return nil }
        let a = first(route)
        return (a, routers.count > 1 ? routers[1](route) : a)
    }

    /// The FFN's first linear output before the activation is `preActivation` (W-PCA and NASWOT read
    /// it); `attention` is nil for the non-attention mixers (DFT, DCT, dynamic convolution).
    public struct Result {
        public var output: Tensor
        public var attention: MultiHeadAttention.Result?
        public var preActivation: Tensor
    }

    /// The FFN on h: (first pre-activation, output of width h's last dimension).
    private func feedForward(_ h: Tensor, layer: Architecture.Layer, route: [Float]?) -> (pre: Tensor, out: Tensor) {
        precondition(layer.ffnStack.count <= extraIntermediates.count,
                     "TransformerBlock: \(layer.ffnStack.count) stacked FFN layers requested, block has \(extraIntermediates.count)")
        precondition(routers.isEmpty || route != nil, "TransformerBlock: a routed block runs with an architecture vector")
        let routing = routing(route)
        let pre = intermediate(h, out: layer.ffn, routing: routing?.intermediate)
        var y = activation(pre)
        for (dense, f) in zip(extraIntermediates, layer.ffnStack) { y = activation(dense(y, out: f)) }
        return (pre, output(y, out: h.shape.last!, routing: routing?.output))
    }

    /// `route`: a routed block's architecture vector (`ExpertRouting.input`; nil for a plain block).
    public func callAsFunction(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, hiddenDropout: Float,
                               attentionDropout: Float, route: [Float]? = nil, rng: inout RandomGenerator) -> Result {
        guard let mixer = mixer(for: layer.operation) else {
            preconditionFailure("TransformerBlock: layer asks for \(layer.operation), block holds \(operations)")
        }
        precondition((layer.bottleneck == nil) == (bottleneck == nil), "TransformerBlock: bottleneck requested on a plain block or vice versa")
        func drop(_ t: Tensor) -> Tensor { hiddenDropout > 0 ? t.dropout(p: hiddenDropout, using: &rng) : t }
        switch family {
        case .encoder:
            if let (input, output, norm) = bottleneck, let b = layer.bottleneck {
                let inner = plainEncoder(input(x, out: b), mixer: mixer, layer: layer, mask: mask, hiddenDropout: hiddenDropout,
                                         attentionDropout: attentionDropout, route: route, rng: &rng)
                let y = norm(x + drop(output(inner.output, out: x.shape.last!)))
                return Result(output: y, attention: inner.attention, preActivation: inner.preActivation)
            }
            return plainEncoder(x, mixer: mixer, layer: layer, mask: mask, hiddenDropout: hiddenDropout,
                                attentionDropout: attentionDropout, route: route, rng: &rng)
        case .decoder:
            let a = mixer.mix(attentionNorm(x), layer: layer, mask: mask, dropout: attentionDropout, rng: &rng)
            let h = x + drop(a.output)
            let f = feedForward(outputNorm(h), layer: layer, route: route)
            let y = h + drop(f.out)
            return Result(output: y, attention: a.attention, preActivation: f.pre)
        }
    }

    private func plainEncoder(_ x: Tensor, mixer: any TokenMixer, layer: Architecture.Layer, mask: Tensor?, hiddenDropout: Float,
                              attentionDropout: Float, route: [Float]?, rng: inout RandomGenerator) -> Result {
        func drop(_ t: Tensor) -> Tensor { hiddenDropout > 0 ? t.dropout(p: hiddenDropout, using: &rng) : t }
        let a = mixer.mix(x, layer: layer, mask: mask, dropout: attentionDropout, rng: &rng)
        let h = attentionNorm(x + drop(a.output))
        let f = feedForward(h, layer: layer, route: route)
        let y = outputNorm(h + drop(f.out))
        return Result(output: y, attention: a.attention, preActivation: f.pre)
    }
}
