import NASTensor

/// Elastic embedding table [count, dimMax]; a lookup returns the leading `dim` columns.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dimMax: Int, name: String, rng: inout RandomGenerator) {
        weight = Init.normal([count, dimMax], name + ".weight", &rng)
    }

    /// The arithmetic of the tied output projection `logits` (set with the Linears by `Module.use`).
    public var outputPrecision = Precision.fp32

    public var ownParameters: [Parameter] { [weight] }

    /// The tied output projection of the LM heads: logits = h · E[:, :w]ᵀ (+ bias) for h [N, w], in
    /// `outputPrecision` (bf16: `Tensor.linearBF16`, operands rounded to bf16, fp32 accumulation).
    public func logits(_ hidden: Tensor, bias: Tensor? = nil) -> Tensor {
        let table = weight.leading([weight.shape[0], hidden.shape[hidden.rank - 1]])
        switch outputPrecision {
        case .fp32: return hidden.matmul(table, transposeB: true, bias: bias)
        case .bf16: return hidden.linearBF16(table, bias: bias)
        }
    }

    /// Rows `ids` of the table's leading slice [:, :dim] → [ids.count, dim].
    public func callAsFunction(_ ids: [Int32], dim: Int) -> Tensor {
        weight.leading([weight.shape[0], dim]).gather(rows: ids)
    }
}
