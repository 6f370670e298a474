import NASTensor

/// One elastic transformer layer: attention and a two-layer FFN, each with a residual and LayerNorm.
/// Encoder (BERT, post-LN):  x = LN₁(x + Drop(Attn(x)));  x = LN₂(x + Drop(FFN(x)))
/// Decoder (GPT-2, pre-LN):  x = x + Drop(Attn(LN₁(x)));  x = x + Drop(FFN(LN₂(x)))
/// FFN(x) = act(x·W₁[:F, :H]ᵀ + b₁[:F])·W₂[:H, :F]ᵀ + b₂[:H].
public final class TransformerBlock: Module {
    public let family: Architecture.Family
    public let activation: Architecture.Activation
    public let attention: MultiHeadAttention
    public let attentionNorm: LayerNorm
    public let intermediate: Linear
    public let output: Linear
    public let outputNorm: LayerNorm

    public init(family: Architecture.Family, activation: Architecture.Activation, hidden: Int, layer: Architecture.Layer,
                index i: Int, eps: Float, rng: inout RandomGenerator) {
        self.family = family
        self.activation = activation
        switch family {
        case .encoder:
            let p = "encoder.layer.\(i)."
            attention = MultiHeadAttention(hidden: hidden, qkv: layer.qkv,
                names: (p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
                        p + "attention.output.dense"), rng: &rng)
            attentionNorm = LayerNorm(hidden, name: p + "attention.output.LayerNorm", eps: eps)
            intermediate = Linear(hidden, layer.ffn, name: p + "intermediate.dense", rng: &rng)
            output = Linear(layer.ffn, hidden, name: p + "output.dense", rng: &rng)
            outputNorm = LayerNorm(hidden, name: p + "output.LayerNorm", eps: eps)
        case .decoder:
            let p = "h.\(i)."
            attention = MultiHeadAttention(hidden: hidden, qkv: layer.qkv,
                names: (p + "attn.q_proj", p + "attn.k_proj", p + "attn.v_proj", p + "attn.c_proj"), rng: &rng)
            attentionNorm = LayerNorm(hidden, name: p + "ln_1", eps: eps)
            intermediate = Linear(hidden, layer.ffn, name: p + "mlp.c_fc", rng: &rng)
            output = Linear(layer.ffn, hidden, name: p + "mlp.c_proj", rng: &rng)
            outputNorm = LayerNorm(hidden, name: p + "ln_2", eps: eps)
        }
    }

    public var parameters: [Parameter] {
        attention.parameters + attentionNorm.parameters + intermediate.parameters + output.parameters + outputNorm.parameters
    }

    func activate(_ x: Tensor) -> Tensor {
        switch activation {
        case .gelu: return x.gelu()
        case .geluTanh: return x.geluTanh()
        case .relu: return x.relu()
        }
    }

    /// The FFN's first linear output before the activation is `preActivation` (W-PCA and NASWOT read it).
    public struct Result {
        public var output: Tensor
        public var attention: MultiHeadAttention.Result
        public var preActivation: Tensor
    }

    public func callAsFunction(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, hiddenDropout: Float,
                               attentionDropout: Float, rng: inout RandomGenerator) -> Result {
        func drop(_ t: Tensor) -> Tensor { hiddenDropout > 0 ? t.dropout(p: hiddenDropout, using: &rng) : t }
        switch family {
        case .encoder:
            let a = attention(x, heads: layer.heads, qkv: layer.qkv, mask: mask, dropout: attentionDropout, rng: &rng)
            let h = attentionNorm(x + drop(a.output))
            let pre = intermediate(h, out: layer.ffn)
            let y = outputNorm(h + drop(output(activate(pre), out: h.shape.last!)))
            return Result(output: y, attention: a, preActivation: pre)
        case .decoder:
            let a = attention(attentionNorm(x), heads: layer.heads, qkv: layer.qkv, mask: mask,
                              dropout: attentionDropout, rng: &rng)
            let h = x + drop(a.output)
            let pre = intermediate(outputNorm(h), out: layer.ffn)
            let y = h + drop(output(activate(pre), out: h.shape.last!))
            return Result(output: y, attention: a, preActivation: pre)
        }
    }
}
