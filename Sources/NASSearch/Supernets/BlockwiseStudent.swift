import Foundation
import NASModels
import NASTensor
import NASTrain

/// The student that block-wise distillation search combines (DNA; Li et al., CVPR 2020), with the weights its
/// blocks were trained with: block 0's embeddings and layers, then each later block's layers, and the last
/// block's output adapter into the teacher's width W:
///
///     student(x) = A_out,B−1 · layers_{B−1}( M_{B−1} · … layers_1( M_1 · layers_0( emb(x) ) ) )
///
/// At each boundary the two adapters the neighbouring blocks were trained with, A_out,b (h_b → W) then
/// A_in,b+1 (W → h_{b+1}), compose into one affine map M = A_in,b+1 · A_out,b (weight W_in·W_out, bias
/// W_in·b_out + b_in), which ships as the `projected` input projection of block b+1's first layer; a block
/// without layers composes its own two adapters into the map that crosses it. Everything but A_out,B−1 is a
/// plain `Transformer` (per-block widths through its input projections), so `finetune`, `evaluate` and `embed`
/// read the checkpoint like any other; A_out,B−1 is stored beside it as `blockwise.output` (ignored by them, read
/// back by `load`). Parameters: `BlockwiseCombination.parameters` of the chosen candidates, adapters included.
public final class BlockwiseStudent {
    public let model: Transformer
    /// A_out,B−1 (composed with the adapters of trailing blocks without layers): the model's output → the teacher's width.
    public let output: Linear

    static let kind = "blockwise-student"
    static let outputName = "blockwise.output"

    init(model: Transformer, output: Linear) { self.model = model; self.output = output }

    /// The student of `chosen` (one candidate per block, as `BlockwiseCombination.best` returns them), its weights
    /// copied from `supernet`'s leading slices and adapters.
    public convenience init(supernet: BlockwiseSupernet, chosen: [BlockwiseCombination.Candidate]) {
        precondition(chosen.count == supernet.blocks, "BlockwiseStudent: \(chosen.count) candidates for \(supernet.blocks) blocks")
        let space = supernet.space
        let arch = Self.architecture(chosen, like: space.largest)
        var rng = RandomGenerator(seed: 0)
        let model = Transformer(arch, rng: &rng)
        model.hiddenDropout = supernet.model.hiddenDropout
        model.attentionDropout = supernet.model.attentionDropout
        // Weights by the student's names: embeddings as they are; student layer i from supernet layer offsets[b] + j.
        let weights = supernet.model.namedParameters
        var source = weights
        var i = 0
        // The affine map (weight [out, in], bias [out]) since the last layer's output; nil: the identity.
        var pending: (w: Tensor, b: Tensor)?
        Autograd.noGrad {
            for (b, candidate) in chosen.enumerated() {
                let h = candidate.hidden
                if b > 0 { pending = Self.compose(Self.slice(supernet.inputs[b - 1], out: h, in: supernet.width), after: pending) }
                for j in candidate.layers.indices {
                    let from = "encoder.layer.\(supernet.offsets[b] + j).", to = "encoder.layer.\(i).", block = model.blocks[i]
                    for p in block.parameters { source[p.name] = weights[from + p.name.dropFirst(to.count)] }
                    // The mixer of the layer's operation, matched by structure (a supernet names its other operations apart).
                    let mixer = supernet.model.blocks[supernet.offsets[b] + j].mixer(for: block.operation)!
                    for (c, s) in zip(block.mixer.parameters, mixer.parameters) { source[c.name] = s }
                    if let projection = model.inputProjections[i], let (w, bias) = pending {
                        source[projection.weight.name] = Parameter(w, name: projection.weight.name)
                        source[projection.bias!.name] = Parameter(bias, name: projection.bias!.name)
                        pending = nil
                    }
                    i += 1
                }
                pending = Self.compose(Self.slice(supernet.outputs[b], out: supernet.width, in: h), after: pending)
            }
        }
        model.loadLeadingSlices(from: source)
        let (w, bias) = pending!
        let output = Linear(w.shape[1], supernet.width, name: Self.outputName, rng: &rng)
        output.weight.value = w
        output.bias!.value = bias
        self.init(model: model, output: output)
    }

    /// The student's architecture: block 0's width h_0 as the hidden size; a later block's layers at their own width
    /// (`Layer.hidden` where it differs from h_0), its first layer `projected` (it reads the boundary's adapter).
    /// `like` gives the family-wide fields (vocabulary, positions, activation).
    public static func architecture(_ chosen: [BlockwiseCombination.Candidate], like reference: Architecture) -> Architecture {
        var arch = reference
        arch.hidden = chosen[0].hidden
        arch.embeddingSize = nil
        arch.layers = []
        for (b, candidate) in chosen.enumerated() {
            for (j, var layer) in candidate.layers.enumerated() {
                layer.hidden = candidate.hidden == arch.hidden ? nil : candidate.hidden
                layer.projected = j == 0 && b > 0 ? true : nil
                arch.layers.append(layer)
            }
        }
        return arch
    }

    /// The student's output [B, T, W]: its last hidden states mapped into the teacher's space (inference, no graph).
    public func callAsFunction(_ batch: TokenBatch) -> Tensor {
        Autograd.noGrad { output(model(batch).hidden) }
    }

    /// The student's held-out loss against the teacher's last hidden states, L = mean((ŷ − H_L)²) / mean(H_L²)
    /// (`BlockwiseSupernet.loss`): the combined student's own figure, next to its summed block losses Σ_b L_b.
    public func loss(teacher: Transformer, input: TokenBatch) -> Double {
        let target = teacher(input).hidden
        return Autograd.noGrad { Double(BlockwiseSupernet.loss(self(input), target: target).item()) }
    }

    // MARK: - Affine maps

    /// The leading [out, in] slice of a Linear's weight and its bias [out].
    static func slice(_ linear: Linear, out: Int, in inputs: Int) -> (w: Tensor, b: Tensor) {
        (linear.weight.value.leading([out, inputs]).contiguous(), linear.bias!.value.leading([out]).contiguous())
    }

    /// The map `outer` ∘ `inner`: weight W_o·W_i, bias W_o·b_i + b_o (`inner` nil: `outer` itself).
    static func compose(_ outer: (w: Tensor, b: Tensor), after inner: (w: Tensor, b: Tensor)?) -> (w: Tensor, b: Tensor) {
        guard let inner else { return outer }
        let n = inner.b.shape[0]
        let shift = inner.b.reshaped([1, n]).matmul(outer.w, transposeB: true).reshaped([outer.b.shape[0]])
        return (outer.w.matmul(inner.w), shift + outer.b)
    }

    // MARK: - Checkpoints

    /// Writes the student as a checkpoint folder `dir` (which must not exist; written in a staging folder, then
    /// renamed): the backbone and `blockwise.output` in model.safetensors, `swiftnas_task` =
    /// `{"kind": "blockwise-student", "width": W}`.
    public func save(to dir: URL, vocabulary: URL?) throws {
        try OutputFolder.createNew(dir) { staging in
            try Checkpoint.save(model, extra: [output], vocabulary: vocabulary, to: staging)
            try TrainingCheckpoint.addToConfig(staging.appendingPathComponent("config.json"), key: "swiftnas_task",
                                       value: .object(["kind": .string(Self.kind), "width": .int(output.maxOut)]))
        }
    }

    /// Loads a checkpoint `save` wrote.
    public static func load(from folder: URL) throws -> BlockwiseStudent {
        let (model, _, _) = try Checkpoint.loadTransformer(from: folder)
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        let weight = Self.outputName + ".weight"
        guard let info = file.info(weight), info.shape.count == 2, info.shape[1] == model.maxArchitecture.outputWidth else {
            throw SupernetError(path: file.url.path, field: weight, message: "expected the output adapter [W, \(model.maxArchitecture.outputWidth)] "
                                + "of a block-wise student (write one with `swiftnas supernet blockwise combine --student`)")
        }
        var rng = RandomGenerator(seed: 0)
        let output = Linear(info.shape[1], info.shape[0], name: Self.outputName, rng: &rng)
        try Checkpoint.load(output, from: file)
        model.hiddenDropout = 0
        model.attentionDropout = 0
        return BlockwiseStudent(model: model, output: output)
    }
}
