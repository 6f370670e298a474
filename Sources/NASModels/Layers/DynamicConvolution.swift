import NASTensor

/// ConvBERT's span-based dynamic convolution (Jiang et al., 2020; FlexiBERT's "DSC"), kernel size k:
///
///     Q = x·W_qᵀ + b_q,  V = x·W_vᵀ + b_v                                 [B, T, q]
///     K_s = pointwise(depthwise_k(x))                                     [B, T, q]
///         depthwise: per channel c of x, Σ_j w_dw[c, j]·x[t + j − k/2, c] + b_dw[c] (zero padding)
///         pointwise: a Linear(h → q)
///     kernels = softmax_k(Linear(q → heads·k)(Q ⊙ K_s))                  [B, T, heads, k]
///     out_head[t] = Σ_j kernels[t, head, j]·V_head[t + j − k/2]           (zero padding at the ends)
///     y = out·W_oᵀ + b_o                                                  [B, T, h]
///
/// Heads split q into heads of size d = q/heads as in attention. The sliding windows come from
/// `Tensor.unfold`; the kernel application is a batched [1, k]·[k, d] product per (token, head), the
/// depthwise convolution elementwise (so it is not a counted matmul FLOP; see `Architecture.flops`).
/// No attention mask: padded positions take part like any token (as in ConvBERT's convolution half).
///
/// Elastic: every weight is sliced by its leading block; the kernel generator's rows are head-major
/// (row = head·k + j), so the first `heads` heads are its leading rows.
public final class DynamicConvolution: Module, TokenMixer {
    public let kernelSize: Int
    public let query: Linear, value: Linear
    /// Depthwise convolution over tokens: weight [hMax, k], bias [hMax].
    public let depthwise: DepthwiseConvolution
    public let pointwise: Linear
    /// Linear(q → heads·k): the per-token, per-head kernels.
    public let kernel: Linear
    public let output: Linear

    /// Names follow Hugging Face ConvBERT where it has them: `prefix` is e.g. `encoder.layer.0.attention.`.
    public init(hidden: Int, qkv: Int, heads: Int, kernel k: Int, prefix p: String, rng: inout RandomGenerator) {
        precondition(k >= 1 && k % 2 == 1, "DynamicConvolution: kernel size must be odd and positive, got \(k)")
        kernelSize = k
        query = Linear(hidden, qkv, name: p + "self.query", rng: &rng)
        value = Linear(hidden, qkv, name: p + "self.value", rng: &rng)
        depthwise = DepthwiseConvolution(hidden: hidden, kernel: k, name: p + "self.key_conv_attn_layer.depthwise", rng: &rng)
        pointwise = Linear(hidden, qkv, name: p + "self.key_conv_attn_layer.pointwise", rng: &rng)
        kernel = Linear(qkv, heads * k, name: p + "self.conv_kernel_layer", rng: &rng)
        output = Linear(qkv, hidden, name: p + "output.dense", rng: &rng)
    }

    public var children: [(name: String, module: any Module)] {
        [("query", query), ("value", value), ("depthwise", depthwise), ("pointwise", pointwise), ("kernel", kernel), ("output", output)]
    }

    /// x: [B, T, h] → [B, T, h].
    public func callAsFunction(_ x: Tensor, heads: Int, qkv: Int) -> Tensor {
        let b = x.shape[0], t = x.shape[1], h = x.shape[2], k = kernelSize
        precondition(qkv % heads == 0, "DynamicConvolution: qkv = \(qkv) is not divisible by heads = \(heads)")
        let d = qkv / heads
        let q = query(x, out: qkv), v = value(x, out: qkv)
        let ks = pointwise(depthwise(x), out: qkv)
        let kernels = kernel(q * ks, out: heads * k).reshaped([b, t, heads, 1, k]).softmax()
        // V windows [B, T, k, q] viewed as [B, T, heads, k, d] (strided, read in place by BLAS).
        let windows = v.unfold(axis: 1, size: k).reshaped([b, t, k, heads, d]).permuted([0, 1, 3, 2, 4])
        let mixed = kernels.matmul(windows).reshaped([b, t, qkv])
        return output(mixed, out: h)
    }

    public func mix(_ x: Tensor, layer: Architecture.Layer, mask: Tensor?, dropout: Float,
                    rng: inout RandomGenerator) -> (output: Tensor, attention: MultiHeadAttention.Result?) {
        (self(x, heads: layer.heads, qkv: layer.qkv), nil)
    }
}
