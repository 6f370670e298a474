import NASModels
import NASTensor
import NASTrain

/// One training step of a `BlockwiseSupernet` for `Trainer.train` (DNA; Li et al., CVPR 2020): the teacher
/// runs once on the batch (no graph); then every block trains one member drawn uniformly from the space, on
/// the teacher's states at its input, towards the teacher's states at its output (`BlockwiseSupernet.loss`).
/// The blocks share no weight and read only the teacher's states, so they train independently: the step's
/// gradient is the sum of B separate ones. The members depend only on (seed, step), so a resumed run draws
/// the same ones.
public final class BlockwiseTraining {
    public let supernet: BlockwiseSupernet
    public let teacher: Transformer
    public let seed: UInt64

    public init(supernet: BlockwiseSupernet, teacher: Transformer, seed: UInt64) throws {
        let t = teacher.maxArchitecture
        guard t.family == .encoder, t.outputWidth == supernet.width else {
            throw SupernetError(field: "teacher", message: "expected an encoder of width \(supernet.width), got a \(t.family) of width \(t.outputWidth)")
        }
        guard t.depth % supernet.blocks == 0 else {
            throw SupernetError(field: "blocks", message: "the teacher's \(t.depth) layers cannot be cut into \(supernet.blocks) equal blocks")
        }
        self.supernet = supernet; self.teacher = teacher; self.seed = seed
    }

    /// The member each block trains at `step` (block b's part of members[b]).
    public func members(step: Int) -> [Architecture] {
        var rng = stepGenerator(seed: seed, step: step)
        return (0..<supernet.blocks).map { _ in supernet.space.decode(supernet.space.sample(using: &rng)) }
    }

    public func step(_ step: Int, input: TokenBatch, tokens: Int, rng: inout RandomGenerator) throws -> Trainer.StepResult {
        let states = try BlockwiseSupernet.teacherStates(teacher, input: input, blocks: supernet.blocks)
        var metrics: [String: Double] = [:], replicated: [String: Double] = [:]
        var total = 0.0
        for (b, arch) in members(step: step).enumerated() {
            let prediction = supernet.prediction(block: b, of: arch, input: input, states: states[b], training: true, rng: &rng)
            let loss = BlockwiseSupernet.loss(prediction, target: states[b + 1])
            let value = Double(loss.item())
            metrics["block_\(b)"] = value
            replicated["layers_\(b)"] = Double(supernet.layers(of: arch, block: b).count)
            total += value
            // The trainer stops on a non-finite loss before the update.
            guard value.isFinite else { break }
            loss.backward()
        }
        return .init(loss: total, tokens: tokens, metrics: metrics, replicated: replicated)
    }
}
