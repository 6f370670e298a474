import Foundation
import NASModels
import NASTensor

/// A block-wise supernet for block-wise distillation search (DNA; Li et al., CVPR 2020). The teacher's L
/// layers are cut into B blocks of L/B consecutive layers; the student's layers likewise: a member of depth d
/// puts ⌈d/B⌉ layers in its first d mod B blocks and ⌊d/B⌋ in the others (`split`; a block may hold none: its
/// adapters alone then map the teacher's states). Block b of the student is
/// a small elastic supernet of its own — the leading layers of a run of the largest member's layers, leading
/// widths and heads — so its candidates are rated, and combined, independently of the other blocks:
///
///     ŷ_b = A_out,b( layers_b( A_in,b(H_b) ) ),   L_b = mean((ŷ_b − H_{b+1})²) / mean(H_{b+1}²)
///
/// with H_b the teacher's hidden states at block b's input (block 0 takes the tokens through the student's own
/// embeddings instead, so a combined student needs no teacher part), and A_in,b (teacher width W → hidden h),
/// A_out,b (h → W) learned linear adapters whose leading slices serve every width. The loss is normalised by the
/// target's mean square, so that block losses add up to a member's rating, Σ_b L_b.
///
/// The weights live in one `Transformer` at the space's largest member (block b owns layers
/// `offsets[b] ..< offsets[b] + depths[b]`) plus the adapters, so checkpoints are plain training checkpoints
/// whose config.json `swiftnas_task` is `{"kind": "blockwise-supernet", "space": {…}, "blocks": B, "width": W}`.
public final class BlockwiseSupernet {
    public let space: SearchSpace
    /// The teacher's width: the adapters' outer width.
    public let width: Int
    /// The most student layers per block (`split` of the space's largest depth).
    public let depths: [Int]
    public let model: Transformer
    /// A_in,b for b ≥ 1 (block 0 reads the embeddings): `inputs[b - 1]`.
    public let inputs: [Linear]
    public let outputs: [Linear]
    public var blocks: Int { depths.count }
    public var modules: [Module] { inputs + outputs }

    /// The first supernet layer of each block.
    public var offsets: [Int] { depths.indices.map { depths[..<$0].reduce(0, +) } }

    public init(space: SearchSpace, blocks: Int, width: Int, rng: inout RandomGenerator) throws {
        guard space.family == .encoder else { throw SupernetError(field: "space \(space.name)", message: "block-wise distillation needs an encoder space (the teacher is an encoder)") }
        guard blocks >= 1, blocks <= space.maxDepth else {
            throw SupernetError(field: "blocks", message: "expected 1 to \(space.maxDepth) blocks (the space's deepest member's layers), got \(blocks)")
        }
        try Supernet.checkCoverage(space)
        self.space = space
        self.width = width
        depths = Self.split(depth: space.maxDepth, blocks: blocks)
        let largest = space.largest
        model = Transformer(largest, choices: space.operationChoices, rng: &rng)
        inputs = (1..<blocks).map { Linear(width, largest.hidden, name: "blockwise.\($0).input", rng: &rng) }
        outputs = (0..<blocks).map { Linear(largest.hidden, width, name: "blockwise.\($0).output", rng: &rng) }
    }

    /// Layers per block of a member of depth `d`: the first d mod B blocks one more than ⌊d/B⌋.
    public static func split(depth d: Int, blocks b: Int) -> [Int] {
        (0..<b).map { d / b + ($0 < d % b ? 1 : 0) }
    }

    /// Block b's layers of `arch`.
    public func layers(of arch: Architecture, block b: Int) -> ArraySlice<Architecture.Layer> {
        let counts = Self.split(depth: arch.depth, blocks: blocks)
        let start = counts[..<b].reduce(0, +)
        return arch.layers[start..<(start + counts[b])]
    }

    /// Block b's prediction ŷ_b [B, T, W] for `arch`: block 0 from the tokens of `input`, block b ≥ 1 from the
    /// teacher's states `states` [B, T, W] at its input. Dropout only when `training`.
    public func prediction(block b: Int, of arch: Architecture, input: TokenBatch, states: Tensor?, training: Bool,
                           rng: inout RandomGenerator) -> Tensor {
        let part = Array(layers(of: arch, block: b))
        precondition(part.count <= depths[b], "BlockwiseSupernet: \(part.count) layers in block \(b), which holds \(depths[b])")
        let h = arch.hidden
        var z: Tensor
        if b == 0 {
            var head = arch
            head.layers = part
            z = model(input, architecture: head, training: training, rng: &rng).hidden
        } else {
            guard let states else { preconditionFailure("BlockwiseSupernet: block \(b) needs the teacher's states at its input") }
            z = inputs[b - 1](states, out: h)
            let mask = input.attentionMask.map { m in Tensor(shape: [input.batchSize, 1, 1, input.length], scalars: m.map { $0 > 0 ? 0 : -1e9 }) }
            let drop: Float = training ? model.hiddenDropout : 0, attentionDrop: Float = training ? model.attentionDropout : 0
            for (j, layer) in part.enumerated() {
                z = model.blocks[offsets[b] + j](z, layer: layer, mask: mask, hiddenDropout: drop, attentionDropout: attentionDrop,
                                                 rng: &rng).output
            }
        }
        return outputs[b](z, out: width)
    }

    /// L_b: the mean squared error of `prediction` against the teacher's `target`, over the target's mean square.
    public static func loss(_ prediction: Tensor, target: Tensor) -> Tensor {
        let scale = Autograd.noGrad { Double(target.square().mean().item()) }
        return (prediction - target).square().mean() * Float(1 / max(scale, 1e-12))
    }

    /// The teacher's states at the block boundaries, H_0 … H_B (H_b: the output of its layer b·L/B; H_0 unused).
    public static func teacherStates(_ teacher: Transformer, input: TokenBatch, blocks: Int) throws -> [Tensor] {
        let depth = teacher.maxArchitecture.depth
        guard blocks >= 1, depth % blocks == 0 else {
            throw SupernetError(field: "blocks", message: "the teacher's \(depth) layers cannot be cut into \(blocks) equal blocks")
        }
        let states = Autograd.noGrad { teacher(input).hiddenStates }
        return (0...blocks).map { states[$0 * depth / blocks] }
    }

    /// Each block's loss L_b for `arch` (no graph), the rating's terms; their sum rates the member.
    public func blockLosses(of arch: Architecture, input: TokenBatch, states: [Tensor]) -> [Double] {
        var rng = RandomGenerator(seed: 0)
        return Autograd.noGrad {
            (0..<blocks).map { b in
                Double(Self.loss(prediction(block: b, of: arch, input: input, states: states[b], training: false, rng: &rng),
                                 target: states[b + 1]).item())
            }
        }
    }

    // MARK: - Checkpoints

    static let kind = "blockwise-supernet"

    /// The `swiftnas_task` of this supernet's checkpoints.
    public var task: JSONValue {
        .object(["kind": .string(Self.kind), "space": space.json, "blocks": .int(blocks), "width": .int(width)])
    }

    /// What a block-wise checkpoint's config.json says of it; `bootstrapping` (momentum, paths) for a self-supervised one.
    public struct Stored {
        public var space: SearchSpace
        public var blocks: Int
        public var width: Int
        public var bootstrapping: (momentum: Float, paths: Int)?
    }

    public static func stored(in folder: URL) throws -> Stored {
        let url = folder.appendingPathComponent("config.json"), path = url.path
        try MemoryBudget.requireFile(url, expansion: JSONValue.memoryPerByte, what: "the JSON file")
        let json: JSONValue
        do { json = try JSONValue(parsing: try Data(contentsOf: url)) } catch {
            throw SupernetError(path: path, field: "config.json", message: "cannot read it (\(error))")
        }
        guard case .object(let config) = json, case .object(let task)? = config["swiftnas_task"], case .string(kind)? = task["kind"] else {
            throw SupernetError(path: path, field: "swiftnas_task.kind", message: "expected \"\(kind)\": this is not a block-wise supernet "
                                + "(train one with `swiftnas supernet blockwise train`)")
        }
        guard let spaceJSON = task["space"] else { throw SupernetError(path: path, field: "swiftnas_task.space", message: "missing") }
        let space = try SearchSpace(json: spaceJSON, path: path + " (swiftnas_task.space)")
        guard case .int(let blocks)? = task["blocks"], case .int(let width)? = task["width"], blocks >= 1, width >= 1 else {
            throw SupernetError(path: path, field: "swiftnas_task.blocks", message: "expected positive integers \"blocks\" and \"width\"")
        }
        var bootstrapping: (Float, Int)?
        if let b = task["bootstrapping"] {
            var m = -1.0
            if case .object(let o) = b { switch o["momentum"] { case .double(let d)?: m = d; case .int(let i)?: m = Double(i); default: break } }
            guard case .object(let o) = b, case .int(let paths)? = o["paths"], paths >= 1, (0..<1).contains(m) else {
                throw SupernetError(path: path, field: "swiftnas_task.bootstrapping", message: "expected {\"momentum\": m in [0, 1), \"paths\": K ≥ 1}")
            }
            bootstrapping = (Float(m), paths)
        }
        return Stored(space: space, blocks: blocks, width: width, bootstrapping: bootstrapping)
    }

    /// Loads a teacher-trained block-wise supernet checkpoint folder (the space, blocks and width from config.json, then the weights).
    public static func load(from folder: URL) throws -> BlockwiseSupernet {
        let stored = try stored(in: folder)
        guard stored.bootstrapping == nil else {
            throw SupernetError(path: folder.path, field: "swiftnas_task.bootstrapping", message: "a self-supervised supernet is rated without a teacher")
        }
        var rng = RandomGenerator(seed: 0)
        let net = try BlockwiseSupernet(space: stored.space, blocks: stored.blocks, width: stored.width, rng: &rng)
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        for module in [net.model as Module] + net.modules { try Checkpoint.load(module, from: file) }
        return net
    }
}
