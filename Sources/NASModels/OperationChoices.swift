/// The token-mixer choices every layer of a supernet holds besides the operation of its largest member:
/// one weight set per operation, sharing nothing across operations, while each operation's widths, heads
/// and depth stay entangled as leading slices (FlexiBERT's heterogeneous layers, Tuli et al., 2023, in
/// a one-shot supernet; the choice-per-layer weights of SPOS, Guo et al., ECCV 2020).
///
/// `fewestHeads` sizes weighted multiplicative attention's per-head matrices: a member may split a
/// layer's q/k/v width into as few as `fewestHeads` heads, so WMA's W is stored
/// [heads_max, q_max / fewestHeads, q_max / fewestHeads] and a member uses its leading [heads, d, d].
public struct OperationChoices: Hashable, Sendable {
    public var operations: [Architecture.Operation]
    public var fewestHeads: Int

    public init(operations: [Architecture.Operation], fewestHeads: Int) {
        var seen = Set<Architecture.Operation>()
        self.operations = operations.filter { seen.insert($0).inserted }
        self.fewestHeads = Swift.max(fewestHeads, 1)
    }

    /// The operations a layer built as `own` holds: its own first, then the other choices in order.
    public func operations(of own: Architecture.Operation) -> [Architecture.Operation] {
        [own] + operations.filter { $0 != own }
    }

    /// The largest WMA head size a layer of q/k/v width `qkv` must hold.
    public func wmaHeadSize(qkv: Int) -> Int { qkv / fewestHeads }
}
