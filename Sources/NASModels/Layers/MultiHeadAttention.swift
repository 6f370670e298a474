import NASTensor

/// Elastic multi-head self-attention (Vaswani et al., 2017) with decoupled qkv width (AutoTinyBERT):
/// q, k, v = x·W[:qkv, :H]ᵀ + b[:qkv], split into the leading `heads` heads of size d = qkv/heads;
/// A = softmax(q·kᵀ/√d + mask); out = (A·v)·W_O[:H, :qkv]ᵀ + b_O[:H].
public final class MultiHeadAttention: Module {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    /// The precision of the two batched products q·kᵀ and A·v (`Tensor.batchedMatmulBF16` for bf16, as under
    /// PyTorch's autocast); `Module.use(_:)` and `Module.quantize(_:)` set it with the Linears.
    public var products = Precision.fp32

    /// Names follow Hugging Face: BERT `…attention.self.query` / `…attention.output.dense`.
    public init(hidden: Int, qkv: Int, names: (q: String, k: String, v: String, o: String), rng: inout RandomGenerator) {
        query = Linear(hidden, qkv, name: names.q, rng: &rng)
        key = Linear(hidden, qkv, name: names.k, rng: &rng)
        value = Linear(hidden, qkv, name: names.v, rng: &rng)
        output = Linear(qkv, hidden, name: names.o, rng: &rng)
    }

    public var children: [(name: String, module: any Module)] { [("query", query), ("key", key), ("value", value), ("output", output)] }

    /// The attention of one layer: context projected back to hidden, plus what distillation needs.
    public struct Result {
        public var output: Tensor
        /// Attention probabilities [B, heads, T, T] before dropout.
        public var probabilities: Tensor
        /// q, k, v as [B, heads, T, d].
        public var q: Tensor, k: Tensor, v: Tensor
    }

    /// x: [B, T, H]; mask: additive, broadcastable to [B, heads, T, T]. `bilinear` [heads, d, d] turns
    /// the scores into weighted multiplicative ones, (q·W_h)·kᵀ/√d per head (`WeightedMultiplicativeAttention`).
    public func callAsFunction(_ x: Tensor, heads: Int, qkv: Int, mask: Tensor?, dropout: Float,
                               rng: inout RandomGenerator, bilinear: Tensor? = nil) -> Result {
        let a = Self.attend(query(x, out: qkv), key(x, out: qkv), value(x, out: qkv), heads: heads, mask: mask,
                            dropout: dropout, rng: &rng, bilinear: bilinear, products: products)
        return Result(output: output(a.context, out: x.shape[2]), probabilities: a.probabilities, q: a.q, k: a.k, v: a.v)
    }

    /// The attention core on projected q, k, v [B, T, heads·d]: each split into `heads` heads of size d,
    /// A = softmax(q·kᵀ/√d + mask) (dropout on A), context = A·v merged back to [B, T, heads·d]. Also
    /// returns A and the split q, k, v [B, heads, T, d]. `products` is the precision of q·kᵀ and A·v.
    public static func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, mask: Tensor?, dropout: Float,
                              rng: inout RandomGenerator, bilinear: Tensor? = nil, products: Precision = .fp32)
        -> (context: Tensor, probabilities: Tensor, q: Tensor, k: Tensor, v: Tensor) {
        let b = q.shape[0], t = q.shape[1], width = q.shape[2], d = width / heads
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, d]).permuted([0, 2, 1, 3]) }
        let q = split(q), k = split(k), v = split(v)
        let scoring = bilinear.map { q.matmul($0) } ?? q
        func product(_ x: Tensor, _ y: Tensor, transposeB: Bool = false, alpha: Float = 1) -> Tensor {
            products == .bf16 ? x.batchedMatmulBF16(y, transposeB: transposeB, alpha: alpha) : x.matmul(y, transposeB: transposeB, alpha: alpha)
        }
        let probs = product(scoring, k, transposeB: true, alpha: 1 / Float(d).squareRoot()).softmax(mask: mask)
        let dropped = dropout > 0 ? probs.dropout(p: dropout, using: &rng) : probs
        let context = product(dropped, v).permuted([0, 2, 1, 3]).reshaped([b, t, width])
        return (context, probs, q, k, v)
    }
}
