import NASTensor

/// The DCT token mixer (FlexiBERT's "DCT"): the orthonormal 2-D DCT-II over tokens and hidden units,
/// Y = D_T·X·D_hᵀ per sequence, D[k, n] = s_k·cos(π(n + ½)k/N), s_0 = √(1/N), s_k = √(2/N) constant
/// (`SpectralMatrices`). No parameters. Like `FourierMixer` it runs over the full padded length.
public final class CosineMixer: Module, TokenMixer {
    public init() {}
    /// x: [B, T, h] → [B, T, h]. FLOPs 2T²·h + 2T·h² per sequence.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let t = x.shape[x.rank - 2], h = x.shape[x.rank - 1]
        return SpectralMatrices.dct(t).matmul(x.matmul(SpectralMatrices.dct(h), transposeB: true))
    }

    public func mix(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, dropout: Float,
                    rng: inout RandomGenerator) -> (output: Tensor, attention: MultiHeadAttention.Result?) {
        (self(x), nil)
    }
}
