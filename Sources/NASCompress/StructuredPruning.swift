import NASModels
import NASTensor

/// Structured masks of a transformer and the smaller dense model they stand for.
///
/// A head h of a layer is masked by zeroing its columns [h·d, (h+1)·d) of W_O, an FFN neuron j by zeroing column j
/// of W₂: either removes the unit's whole contribution (its Q, K, V rows and W₁ row then compute nothing that is
/// used). Magnitude of a unit: the mean square of all its weights (the head's rows of W_Q, W_K, W_V and columns of
/// W_O; the neuron's row of W₁ and column of W₂).
///
/// `slice` re-orders each layer's kept heads and neurons to the front (W_Q, W_K, W_V rows and biases, W_O columns;
/// W₁ rows and bias, W₂ columns) and extracts the leading slice — a dense model whose layers have only the kept
/// heads and FFN widths, which the elastic layers run at its real size, and which computes what the masked model does.
public enum StructuredPruning {
    /// Why `model`'s blocks cannot be pruned by heads and neurons (nil when they can): plain SDP attention blocks of one
    /// operation, one FFN layer, no bottleneck, no routed experts.
    public static func unsupported(_ model: Transformer) -> String? {
        for (l, block) in model.blocks.enumerated() {
            if block.attention == nil || block.operation != .sdp || block.operations.count > 1 {
                return "layer \(l) is not plain scaled dot-product attention"
            }
            if !block.extraIntermediates.isEmpty || block.bottleneck != nil || !block.routers.isEmpty {
                return "layer \(l) has stacked FFN layers, a bottleneck or routed experts"
            }
        }
        return nil
    }

    /// One head mask (on W_O) and one neuron mask (on W₂) per layer, with the units' magnitudes.
    public static func masks(of model: Transformer) -> (heads: [PruningMask], neurons: [PruningMask]) {
        precondition(unsupported(model) == nil, "StructuredPruning: \(unsupported(model)!)")
        var heads: [PruningMask] = [], neurons: [PruningMask] = []
        for (block, layer) in zip(model.blocks, model.maxArchitecture.layers) {
            let a = block.attention!, d = layer.headSize
            // Σ w² per block of `rows` rows, or of `columns` columns.
            func sums(_ linear: Linear, rows: Int?, columns: Int?) -> [Float] {
                let w = linear.weight.value.contiguous().scalars, cols = linear.maxIn
                var s = [Float](repeating: 0, count: rows.map { linear.maxOut / $0 } ?? cols / columns!)
                for (e, v) in w.enumerated() { s[rows.map { (e / cols) / $0 } ?? (e % cols) / columns!] += v * v }
                return s
            }
            let headSquares = [sums(a.query, rows: d, columns: nil), sums(a.key, rows: d, columns: nil),
                               sums(a.value, rows: d, columns: nil), sums(a.output, rows: nil, columns: d)]
            let hidden = a.output.maxOut
            heads.append(PruningMask(a.output, columnBlock: d, magnitude: (0..<layer.heads).map { h in
                headSquares.reduce(0) { $0 + $1[h] } / Float(4 * d * hidden)
            }))
            let fc1 = sums(block.intermediate, rows: 1, columns: nil), fc2 = sums(block.output, rows: nil, columns: 1)
            neurons.append(PruningMask(block.output, columnBlock: 1, magnitude: zip(fc1, fc2).map { ($0 + $1) / Float(2 * hidden) }))
        }
        return (heads, neurons)
    }

    /// The dense model of the kept heads and neurons (see the type's comment). Permutes `model`'s weights in place (the
    /// kept units first, in their order) after giving the masked layers back their original weights.
    public static func slice(_ model: Transformer, heads: [PruningMask], neurons: [PruningMask]) -> Transformer {
        precondition(heads.count == model.blocks.count && neurons.count == model.blocks.count, "StructuredPruning.slice: one mask of each per layer")
        var arch = model.maxArchitecture
        for (l, block) in model.blocks.enumerated() {
            heads[l].restore(); neurons[l].restore()
            let a = block.attention!, d = arch.layers[l].headSize
            let headOrder = order(heads[l].mask), neuronOrder = order(neurons[l].mask)
            for linear in [a.query, a.key, a.value] { permuteRows(linear, blocks: headOrder, size: d) }
            permuteColumns(a.output.weight, blocks: headOrder, size: d)
            permuteRows(block.intermediate, blocks: neuronOrder, size: 1)
            permuteColumns(block.output.weight, blocks: neuronOrder, size: 1)
            let h = heads[l].kept
            arch.layers[l].heads = h
            arch.layers[l].qkv = h * d
            arch.layers[l].ffn = neurons[l].kept
        }
        return model.extract(arch)
    }

    /// The kept indices, then the pruned ones, each in order.
    static func order(_ mask: [Bool]) -> [Int] { mask.indices.filter { mask[$0] } + mask.indices.filter { !mask[$0] } }

    /// New row block b ← old row block `blocks[b]` of the weight and bias (blocks of `size` rows).
    static func permuteRows(_ linear: Linear, blocks: [Int], size: Int) {
        for p in [linear.weight] + (linear.bias.map { [$0] } ?? []) {
            let v = p.value.contiguous().scalars, width = p.shape.count == 2 ? p.shape[1] : 1, span = size * width
            var out = v
            for (b, old) in blocks.enumerated() { out[(b * span)..<((b + 1) * span)] = v[(old * span)..<((old + 1) * span)] }
            p.value = Tensor(shape: p.shape, scalars: out)
        }
    }

    /// New column block b ← old column block `blocks[b]` (blocks of `size` columns).
    static func permuteColumns(_ p: Parameter, blocks: [Int], size: Int) {
        let v = p.value.contiguous().scalars, (rows, cols) = (p.shape[0], p.shape[1])
        var out = v
        for r in 0..<rows {
            for (b, old) in blocks.enumerated() {
                out[(r * cols + b * size)..<(r * cols + (b + 1) * size)] = v[(r * cols + old * size)..<(r * cols + (old + 1) * size)]
            }
        }
        p.value = Tensor(shape: p.shape, scalars: out)
    }
}
