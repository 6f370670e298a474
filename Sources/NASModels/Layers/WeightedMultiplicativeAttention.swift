import NASTensor

/// Weighted multiplicative attention (Luong et al., 2015; FlexiBERT's "WMA"): scaled dot-product
/// attention whose score is bilinear per head, score(q, k) = qᵀ·W_h·k / √d, with W_h a learned [d, d]
/// matrix. Everything else (q/k/v/output projections, mask, dropout, names) is `MultiHeadAttention`.
///
/// W is stored [headsMax, dMax, dMax] (`…attention.self.wma`); a sub-network uses the leading block
/// [heads, d, d]. Initialisation: identity + N(0, 0.02²) noise, so the layer starts as SDP attention
/// (a plain N(0, 0.02²) W would make every score ≈ 0 and the attention uniform).
public final class WeightedMultiplicativeAttention: Module, TokenMixer {
    public let attention: MultiHeadAttention
    public let weight: Parameter

    /// `headSize` (default qkv / heads) is the largest head size a sub-network may use (a supernet whose
    /// members split q/k/v into fewer heads stores larger matrices).
    public init(hidden: Int, qkv: Int, heads: Int, headSize: Int? = nil, names: (q: String, k: String, v: String, o: String),
                weightName: String, rng: inout RandomGenerator) {
        attention = MultiHeadAttention(hidden: hidden, qkv: qkv, names: names, rng: &rng)
        let d = headSize ?? qkv / Swift.max(heads, 1)
        var w = Init.placeholders ? Tensor(zeros: [heads, d, d]) : Tensor.randomNormal([heads, d, d], std: 0.02, using: &rng)
        w.withMutableBuffer { p in for h in 0..<heads { for i in 0..<d { p[(h * d + i) * d + i] += 1 } } }
        weight = Parameter(w, name: weightName)
    }

    public var children: [(name: String, module: any Module)] { [("attention", attention)] }
    public var ownParameters: [Parameter] { [weight] }

    public func mix(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, dropout: Float,
                    rng: inout RandomGenerator) -> (output: Tensor, attention: MultiHeadAttention.Result?) {
        let d = layer.qkv / layer.heads
        precondition(layer.heads <= weight.shape[0] && d <= weight.shape[1],
                     "WMA \(weight.name): \(layer.heads) heads of size \(d) exceed the supernet's \(weight.shape[0]) heads of size \(weight.shape[1])")
        let a = attention(x, heads: layer.heads, qkv: layer.qkv, mask: mask, dropout: dropout, rng: &rng,
                          bilinear: weight.leading([layer.heads, d, d]))
        return (a.output, a)
    }
}
