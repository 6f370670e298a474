import Foundation
import NASModels
import NASTensor
import NASText
import NASTrain

/// BossNAS's self-supervised block-wise training and rating, for a space without a teacher (Li et al., ICCV 2021):
/// a `BlockwiseSupernet` whose outer width C is the space's largest hidden size, an exponential-moving-average
/// target copy of it, and per block a linear predictor P_b (C → C).
///
/// Training ("ensemble bootstrapping"): two views of a window (two masked-LM corruptions); the states at block b's
/// input come from the target's largest member on each view (s_b = the target's block b−1 output; block 0 reads the
/// tokens). K members are drawn per block; the target's outputs of all K on view 2, each normalised, are averaged
/// into one ensemble target t; each member's online output on view 1 predicts it:
///
///     L_b = 1/K Σ_k mean_tokens (2 − 2·cos(P_b(ŷ_b,k), t)),   t = mean_k normalise(ŷ′_b,k)  (no gradient)
///
/// and after every update θ′ ← m·θ′ + (1 − m)·θ (m = `momentum`). Rating: the population centre c_b is the mean of
/// the normalised target outputs of a fixed population (`population` members drawn from the space, seeded) on one
/// clean batch; a candidate's rating is Σ_b mean_tokens (1 − cos(ŷ′_b, c_b)), lower being nearer the centre (better),
/// and does not depend on which other candidates are rated with it. The target's parameters are the online ones'
/// names with a `target.` prefix, so one checkpoint holds both.
public final class BlockwiseBootstrapping {
    public let online: BlockwiseSupernet
    public let target: BlockwiseSupernet
    public let predictors: [Linear]
    public let momentum: Float
    public let paths: Int
    public let seed: UInt64
    let masking: MaskedLanguageModeling

    /// Modules a trainer checkpoints beside `online.model`: the adapters, the predictors and the whole target.
    public var modules: [Module] { online.modules + predictors + [target.model as Module] + target.modules }

    public init(space: SearchSpace, blocks: Int, masking: MaskedLanguageModeling, momentum: Float = 0.99, paths: Int = 2,
                seed: UInt64, rng: inout RandomGenerator) throws {
        let width = space.largest.hidden
        online = try BlockwiseSupernet(space: space, blocks: blocks, width: width, rng: &rng)
        target = try BlockwiseSupernet(space: space, blocks: blocks, width: width, rng: &rng)
        predictors = (0..<blocks).map { Linear(width, width, name: "blockwise.\($0).predictor", rng: &rng) }
        for (t, o) in zip(Self.parameters(target), Self.parameters(online)) {
            t.value = o.value
            t.name = "target." + o.name
        }
        self.momentum = momentum; self.paths = paths; self.seed = seed; self.masking = masking
    }

    static func parameters(_ net: BlockwiseSupernet) -> [Parameter] { net.model.parameters + net.modules.flatMap(\.parameters) }

    /// θ′ ← m·θ′ + (1 − m)·θ.
    public func updateTarget() {
        Autograd.noGrad {
            for (t, o) in zip(Self.parameters(target), Self.parameters(online)) { t.value = t.value * momentum + o.value * (1 - momentum) }
        }
    }

    /// The target's states at every block input along its largest member: [tokens-only nil, s_1, …, s_{B−1}].
    func states(_ input: TokenBatch) -> [Tensor?] {
        var rng = RandomGenerator(seed: 0)
        let largest = target.space.largest
        return Autograd.noGrad {
            var s: [Tensor?] = [nil]
            for b in 0..<(target.blocks - 1) {
                s.append(target.prediction(block: b, of: largest, input: input, states: s[b], training: false, rng: &rng))
            }
            return s
        }
    }

    /// x / ‖x‖ over the last axis.
    static func normalised(_ x: Tensor) -> Tensor {
        x / (x.square().sum(axes: [x.shape.count - 1], keepDims: true) + 1e-12).sqrt()
    }

    /// The members block b trains at `step`, K per block.
    public func members(step: Int) -> [[Architecture]] {
        var rng = stepGenerator(seed: seed, step: step)
        let space = online.space
        return (0..<online.blocks).map { _ in (0..<paths).map { _ in space.decode(space.sample(using: &rng)) } }
    }

    /// One step on a clean batch: the target's moving average first takes in the previous step's update (so a
    /// resumed run continues it exactly), then every block's ensemble-bootstrapping loss is back-propagated.
    public func step(_ step: Int, input clean: TokenBatch, tokens: Int, rng: inout RandomGenerator) -> Trainer.StepResult {
        if step > 0 { updateTarget() }
        let view1 = masking.corrupt(clean, using: &rng).input, view2 = masking.corrupt(clean, using: &rng).input
        let s1 = states(view1), s2 = states(view2)
        var metrics: [String: Double] = [:], total = 0.0
        for (b, members) in members(step: step).enumerated() {
            let t = Autograd.noGrad {
                let outputs = members.map { Self.normalised(target.prediction(block: b, of: $0, input: view2, states: s2[b], training: false, rng: &rng)) }
                return outputs.dropFirst().reduce(outputs[0], +) * (1 / Float(members.count))
            }
            var loss: Tensor?
            for arch in members {
                let q = Self.normalised(predictors[b](online.prediction(block: b, of: arch, input: view1, states: s1[b], training: true, rng: &rng)))
                let term = (2 - (q * t).sum(axes: [2]) * 2).mean() * (1 / Float(members.count))
                loss = loss.map { $0 + term } ?? term
            }
            let value = Double(loss!.item())
            metrics["block_\(b)"] = value
            total += value
            guard value.isFinite else { break }
            loss!.backward()
        }
        return .init(loss: total, tokens: tokens, metrics: metrics)
    }

    /// Each block's distance of every candidate's target output to the population's centre, mean over tokens of
    /// 1 − cos(ŷ′_b, c_b), on one clean batch: [candidate][block]. Lower is better.
    public func ratings(_ candidates: [Architecture], input: TokenBatch, population: Int = 16) -> [[Double]] {
        var rng = RandomGenerator(seed: 0), draw = RandomGenerator(seed: 0x504F_5055)   // "POPU"
        let members = (0..<population).map { _ in target.space.decode(target.space.sample(using: &draw)) }
        let s = states(input)
        var out = [[Double]](repeating: [], count: candidates.count)
        Autograd.noGrad {
            for b in 0..<target.blocks {
                func output(_ a: Architecture) -> Tensor {
                    Self.normalised(target.prediction(block: b, of: a, input: input, states: s[b], training: false, rng: &rng))
                }
                let centre = Self.normalised(members.dropFirst().reduce(output(members[0])) { $0 + output($1) })
                for (i, a) in candidates.enumerated() { out[i].append(Double((1 - (output(a) * centre).sum(axes: [2])).mean().item())) }
            }
        }
        return out
    }

    // MARK: - Checkpoints

    /// The checkpoints' `swiftnas_task`: the block-wise supernet's, with `"bootstrapping": {"momentum", "paths"}`.
    public var task: JSONValue {
        guard case .object(var o) = online.task else { return online.task }
        o["bootstrapping"] = .object(["momentum": .double(Double(momentum)), "paths": .int(paths)])
        return .object(o)
    }

    /// Loads a self-supervised block-wise checkpoint folder (online, predictors and target).
    public static func load(from folder: URL, masking: MaskedLanguageModeling) throws -> BlockwiseBootstrapping {
        let stored = try BlockwiseSupernet.stored(in: folder)
        guard let b = stored.bootstrapping else {
            throw SupernetError(path: folder.path, field: "swiftnas_task.bootstrapping", message: "missing: this supernet was trained on a teacher (rate it with --teacher)")
        }
        var rng = RandomGenerator(seed: 0)
        let boot = try BlockwiseBootstrapping(space: stored.space, blocks: stored.blocks, masking: masking, momentum: b.momentum,
                                              paths: b.paths, seed: 0, rng: &rng)
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        for module in [boot.online.model as Module] + boot.modules { try Checkpoint.load(module, from: file) }
        return boot
    }
}
