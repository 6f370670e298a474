import NASTensor

/// What a model takes in memory, estimated before it is built (the `MemoryBudget` rule).
extension Architecture {
    /// Bytes per layer for the objects (modules, parameters, tensor headers, saved-graph nodes) beyond the
    /// weights: measured ~51 KB per layer when training a 4000-layer decoder of width 8 (peak RSS).
    public static let bytesPerLayerObjects = 48 << 10

    /// An estimate, in bytes, of the memory for this model at a batch of `batch` sequences of `length`
    /// tokens, with P parameters, L layers, per layer width h, qkv width q, FFN widths f and H heads:
    /// - weights 4P (training: 16P — weights, gradients and Adam's two moments) + 48 KiB · L of objects;
    /// - training keeps every layer's activations for the backward pass:
    ///   Σ_layers 4·B·T·(10h + 6q + 3Σf) + 12·B·H·T² (scores, probabilities and their gradient);
    /// - inference holds one layer's at a time: max_layers 4·B·T·(4h + 3q + 2·max f) + 8·B·H·T²;
    /// - `outputs` per-token outputs (the vocabulary of an LM head, 0 for a pooled head):
    ///   4·B·T·outputs, ×3 in training (logits, probabilities, gradient).
    /// Every operation saturates (`Size`), so absurd numbers give `Int.max`, never a trap.
    public func memoryEstimate(batch: Int = 0, sequenceLength length: Int = 0, outputs: Int = 0, training: Bool = false) -> Size {
        let bt = Size(batch) * length
        var bytes = parameterSize * (training ? 16 : 4) + Size(depth) * Architecture.bytesPerLayerObjects
        var activations: Size = 0
        for (i, l) in layers.enumerated() {
            let h = Size(l.bottleneck ?? width(ofLayer: i)), q = Size(l.qkv)
            let scores = Size(batch) * l.heads * length * length
            if training {
                let ffn = l.ffnWidths.reduce(Size(0)) { $0 + $1 }
                activations += 4 * bt * (10 * h + 6 * q + 3 * ffn) + 12 * scores
            } else {
                let layer = 4 * bt * (4 * h + 3 * q + 2 * Size(l.ffnWidths.max() ?? 0)) + 8 * scores
                activations = max(activations, layer)
            }
        }
        bytes += activations + 4 * bt * outputs * (training ? 3 : 1)
        return bytes
    }

    /// The per-token outputs of language modelling, for `memoryEstimate`: the vocabulary at every position
    /// (causal LM), spread over the 15 % of positions that are masked (masked LM).
    public var languageModelOutputs: Int { family == .encoder ? (vocabSize * 3 + 19) / 20 : vocabSize }

    /// The field with the largest value (the layer count among them): the one an error names when a
    /// model is too large.
    public var largestField: (field: String, value: Int) {
        var best: (field: String, value: Int) = ("hidden", hidden)
        func consider(_ field: String, _ value: Int?) { if let value, value > best.value { best = (field, value) } }
        consider("vocabSize", vocabSize)
        consider("maxPositions", maxPositions)
        consider("typeVocabSize", typeVocabSize)
        consider("embeddingSize", embeddingSize)
        consider("layers", depth)
        for (i, l) in layers.enumerated() {
            consider("layers[\(i)].heads", l.heads)
            consider("layers[\(i)].qkv", l.qkv)
            consider("layers[\(i)].ffn", l.ffn)
            for (j, f) in l.ffnStack.enumerated() { consider("layers[\(i)].ffnStack[\(j)]", f) }
            consider("layers[\(i)].hidden", l.hidden)
            consider("layers[\(i)].bottleneck", l.bottleneck)
        }
        return best
    }

    /// Refuses (`MemoryBudget.Exceeded`) a model whose `memoryEstimate` is over the limit, naming
    /// `source` (a file or option), the largest field and the use (weights, or a batch for training).
    /// Returns the estimate.
    @discardableResult
    public func requireMemory(batch: Int = 0, sequenceLength length: Int = 0, outputs: Int = 0, training: Bool = false,
                              source: String) throws -> Size {
        let (field, value) = largestField
        let use = batch == 0 ? "its weights" : "\(training ? "training" : "running") on batches of \(batch) × \(length) tokens"
        let bytes = memoryEstimate(batch: batch, sequenceLength: length, outputs: outputs, training: training)
        try MemoryBudget.require(bytes, for: "\(source): the model (\(parameterSize) parameters; field '\(field)' = \(value)) for \(use)")
        return bytes
    }
}
