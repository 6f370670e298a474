import NASTensor

/// The token-mixing half of a transformer layer (FlexiBERT's "operation"): maps x [B, T, h] to
/// [B, T, h], mixing information across positions. One type per `Architecture.Operation`:
/// `MultiHeadAttention` (sdp), `WeightedMultiplicativeAttention` (wma), `FourierMixer` (dft),
/// `CosineMixer` (dct), `DynamicConvolution` (dynamicConv). Every mixer is elastic: it runs the
/// leading slices that `layer` (and x's width h) select.
public protocol TokenMixer: Module {
    /// x: [B, T, h]; mask: additive, broadcastable to [B, heads, T, T] (attention mixers only).
    /// `attention` is set by the attention mixers (probabilities and q/k/v for distillation).
    func mix(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, dropout: Float,
             rng: inout RandomGenerator) -> (output: Tensor, attention: MultiHeadAttention.Result?)
}

extension MultiHeadAttention: TokenMixer {
    public func mix(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, dropout: Float,
                    rng: inout RandomGenerator) -> (output: Tensor, attention: MultiHeadAttention.Result?) {
        let a = self(x, heads: layer.heads, qkv: layer.qkv, mask: mask, dropout: dropout, rng: &rng)
        return (a.output, a)
    }
}
