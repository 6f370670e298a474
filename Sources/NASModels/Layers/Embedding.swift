import NASTensor

/// Elastic embedding table [count, dimMax]; a lookup returns the leading `dim` columns.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dimMax: Int, name: String, rng: inout RandomGenerator) {
        weight = Init.normal([count, dimMax], name + ".weight", &rng)
    }

    public var ownParameters: [Parameter] { [weight] }

    /// Rows `ids` of the table's leading slice [:, :dim] → [ids.count, dim].
    public func callAsFunction(_ ids: [Int32], dim: Int) -> Tensor {
        weight.leading([weight.shape[0], dim]).gather(rows: ids)
    }
}
