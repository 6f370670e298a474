import NASTensor

/// Elastic depthwise convolution over tokens (ConvBERT's key convolution), kernel size k, zero padding:
/// y[t, c] = Σ_j w[c, j]·x[t + j − k/2, c] + b[c]; weight [hMax, k], bias [hMax], a call on width h uses
/// the leading rows. Elementwise work (windows from `Tensor.unfold`), not a counted matmul FLOP.
public final class DepthwiseConvolution: Module {
    public let weight: Parameter, bias: Parameter

    public init(hidden: Int, kernel k: Int, name: String, rng: inout RandomGenerator) {
        weight = Init.normal([hidden, k], name + ".weight", &rng)
        bias = Init.zeros([hidden], name + ".bias")
    }

    public var ownParameters: [Parameter] { [weight, bias] }

    /// x: [B, T, h] → [B, T, h].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x.shape[2], k = weight.shape[1]
        // Windows [B, T, k, h] ⊙ w[:h, :]ᵀ [k, h], summed over the window.
        return (x.unfold(axis: 1, size: k) * weight.leading([h, k]).transposed()).sum(axes: [2]) + bias.leading([h])
    }
}
