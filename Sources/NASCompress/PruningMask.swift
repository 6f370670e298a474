import NASModels
import NASTensor

/// A binary mask m on one Linear's weight: the layer computes with W₀ ⊙ m, W₀ its trained weight (kept here; the
/// weights themselves never train). The mask is chosen per item: one weight (unstructured) or a block of
/// `columnBlock` adjacent input columns (structured: a head's columns of W_O or an FFN neuron's column of W₂, whose
/// removal takes the head or the neuron out of the layer exactly). Each item has a magnitude (what magnitude pruning
/// keeps the largest of) and a score (what a mask search learns).
public struct PruningMask {
    public let linear: Linear
    /// W₀, row-major [rows, cols].
    public let original: [Float]
    public let rows: Int, cols: Int
    /// nil: one item per weight; b: the input columns in blocks of b, one item each.
    public let columnBlock: Int?
    public var magnitude: [Float]
    public var scores: [Float]
    public var mask: [Bool]

    /// A mask keeping everything; the magnitude of an item is |w| (unstructured) or, when not given, the mean square of
    /// its block's weights.
    public init(_ linear: Linear, columnBlock: Int? = nil, magnitude: [Float]? = nil) {
        let w = linear.weight.value.contiguous().scalars, (rows, cols) = (linear.maxOut, linear.maxIn)
        if let b = columnBlock { precondition(b > 0 && cols % b == 0, "PruningMask: \(cols) columns do not split into blocks of \(b)") }
        let count = columnBlock.map { cols / $0 } ?? rows * cols
        var m: [Float]
        if let magnitude {
            precondition(magnitude.count == count, "PruningMask: \(magnitude.count) magnitudes for \(count) items")
            m = magnitude
        } else if let b = columnBlock {
            m = [Float](repeating: 0, count: count)
            for (e, v) in w.enumerated() { m[Self.item(e, cols: cols, block: b)] += v * v }
            m = m.map { $0 / Float(rows * b) }
        } else {
            m = w.map(abs)
        }
        self.linear = linear
        (original, self.rows, self.cols, self.columnBlock, self.magnitude) = (w, rows, cols, columnBlock, m)
        scores = [Float](repeating: 1, count: count)
        mask = [Bool](repeating: true, count: count)
    }

    /// One weight-level mask on each Linear of every block's attention (Q, K, V, O) and FFN (W₁, W₂, …).
    public static func unstructured(_ model: Transformer) -> [PruningMask] {
        model.blocks.flatMap { b -> [Linear] in
            let a = b.attention.map { [$0.query, $0.key, $0.value, $0.output] } ?? []
            return a + [b.intermediate] + b.extraIntermediates + [b.output]
        }.map { PruningMask($0) }
    }

    public var count: Int { mask.count }
    public var kept: Int { mask.reduce(0) { $0 + ($1 ? 1 : 0) } }
    /// Weights per item.
    public var itemSize: Int { columnBlock.map { $0 * rows } ?? 1 }

    static func item(_ element: Int, cols: Int, block: Int?) -> Int { block.map { (element % cols) / $0 } ?? element }

    /// The item of weight `element` (row-major index).
    public func item(ofElement element: Int) -> Int { Self.item(element, cols: cols, block: columnBlock) }

    /// Keeps the `k` items of highest score (ties: the lower index).
    public mutating func keepTop(_ k: Int) {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        mask = [Bool](repeating: false, count: count)
        for i in order.prefix(k) { mask[i] = true }
    }

    /// Sets the layer's weight to W₀ ⊙ m.
    public func apply() {
        var w = original
        for e in w.indices where !mask[item(ofElement: e)] { w[e] = 0 }
        linear.weight.value = Tensor(shape: [rows, cols], scalars: w)
    }

    /// Gives the layer back W₀.
    public func restore() { linear.weight.value = Tensor(shape: [rows, cols], scalars: original) }

    /// ∂L/∂m_i = Σ_{e ∈ i} (∂L/∂Ŵ)_e · W₀,e for the gradient `g` of the loss with respect to the masked weight Ŵ = W₀ ⊙ m:
    /// the straight-through gradient of every item's score, and the first-order change of the loss when the item is
    /// switched on (+) or off (−).
    public func itemGradient(_ g: [Float]) -> [Float] {
        precondition(g.count == original.count, "PruningMask: gradient of \(g.count) for \(original.count) weights")
        var out = [Float](repeating: 0, count: count)
        for e in g.indices { out[item(ofElement: e)] += g[e] * original[e] }
        return out
    }
}
