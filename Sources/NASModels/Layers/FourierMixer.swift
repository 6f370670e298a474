import NASTensor

/// FNet's token mixer (Lee-Thorp et al., 2022; FlexiBERT's "DFT"): the real part of the 2-D discrete
/// Fourier transform over tokens and hidden units, Re(F_T·X·F_h) = C_T·X·C_h − S_T·X·S_h per sequence,
/// with C[j, k] = cos(2πjk/N), S[j, k] = sin(2πjk/N) constant (`SpectralMatrices`). No parameters.
///
/// Padding: the transform runs over the full padded length T, as FNet does (it has no attention mask):
/// padded positions take part in the mixing, so real tokens' outputs depend on the padding.
public final class FourierMixer: Module, TokenMixer {
    public init() {}
    /// x: [B, T, h] → [B, T, h]. FLOPs 2·(2T²·h + 2T·h²) per sequence.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let t = x.shape[x.rank - 2], h = x.shape[x.rank - 1]
        let (ct, st) = SpectralMatrices.dft(t), (ch, sh) = SpectralMatrices.dft(h)
        return ct.matmul(x.matmul(ch)) - st.matmul(x.matmul(sh))
    }

    public func mix(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, dropout: Float,
                    rng: inout RandomGenerator) -> (output: Tensor, attention: MultiHeadAttention.Result?) {
        (self(x), nil)
    }
}
