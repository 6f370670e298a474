import Foundation
import NASModels
import NASTensor
import NASTrain

/// One training step of a supernet under a `SamplingRule`, for `Trainer.train`: the rule's
/// sub-networks run on the same batch, each forward followed by its own backward, so their gradients
/// add up in the shared leading blocks; the trainer then makes one update.
///
/// The first sub-network learns from the labels (masked-LM or next-token cross-entropy), with dropout,
/// plus `teacherLoss` when distilling from a teacher. With in-place distillation (sandwich, complexity)
/// every other sub-network learns, without dropout, from the first one's logits on the same batch,
/// detached — KL(softmax(z_first) ‖ softmax(z_sub)) (BigNAS; Yu et al., ECCV 2020) — so no gradient
/// flows into the soft targets. Without it (uniform: one sub-network per step) there are no others.
public final class SupernetTraining {
    public let supernet: Supernet
    public let rule: SamplingRule
    /// An extra loss for the label-trained sub-network (e.g. hidden-state and attention-relation
    /// distillation from a teacher), with values to log.
    public var teacherLoss: ((Transformer.Output, TokenBatch) -> (loss: Tensor, metrics: [String: Double]))?
    /// The weight of the label loss of the first sub-network.
    public var labelWeight: Float = 1

    public init(supernet: Supernet, rule: SamplingRule) {
        self.supernet = supernet; self.rule = rule
    }

    /// Makes `trainer`'s checkpoints supernet checkpoints (`Supernet.task`: the space, the rule and its
    /// state at that step), and, when the trainer resumed (call after `prepare`), restores the rule's
    /// state from the checkpoint it resumed from.
    public func attach(to trainer: Trainer) throws {
        trainer.task = supernet.task(rule: rule)
        trainer.willCheckpoint = { [unowned self, unowned trainer] in trainer.task = self.supernet.task(rule: self.rule) }
        guard let folder = trainer.resumedFrom else { return }
        let stored = try Supernet.stored(in: folder)
        guard stored.rule.rawValue == rule.name, stored.space == supernet.space else {
            throw SupernetError(path: folder.path, field: "swiftnas_task",
                                message: "the run was trained with rule \(stored.rule.rawValue) on space \(stored.space.name); resume with the same")
        }
        try rule.restore(stored.ruleState)
    }

    /// Runs step `step` on a batch (`targets`: the masked-LM targets of encoders, nil for decoders) and
    /// returns the first sub-network's loss; the others' losses are logged (`kd_*`) and told to the rule,
    /// and every sub-network's parameter count (`params_<i>`, for the histogram of sizes trained).
    public func step(_ step: Int, input: TokenBatch, targets: [Int32]?, tokens: Int,
                     rng: inout RandomGenerator) throws -> Trainer.StepResult {
        let architectures = rule.architectures(step: step)
        if let outside = architectures.first(where: { !supernet.model.holds($0) }) {
            throw SupernetError(field: "space \(supernet.space.name)", message: "step \(step) drew a member (\(outside.depth) layers, "
                + "hidden \(outside.hidden)) that is not a leading slice of the largest")
        }
        let model = supernet.model
        let first = architectures[0]
        let out = model(input, architecture: first, training: true, rng: &rng)
        let (logits, labels) = supernet.logits(out, architecture: first, input: input, targets: targets)
        let lm = logits.crossEntropy(targets: labels)
        var loss = labelWeight == 1 ? lm : lm * labelWeight
        var metrics: [String: Double] = ["lm": Double(lm.item())]
        if let teacherLoss {
            let (extra, values) = teacherLoss(out, input)
            loss = loss + extra
            metrics.merge(values) { a, _ in a }
        }
        let value = Double(loss.item())
        var losses = [metrics["lm"]!]
        guard value.isFinite else { return .init(loss: value, tokens: tokens, metrics: metrics) }
        loss.backward()
        if rule.inPlaceDistillation && architectures.count > 1 {
            let soft = logits.detached()
            for (i, arch) in architectures.enumerated().dropFirst() {
                let sub = model(input, architecture: arch, training: false, rng: &rng)
                let kd = Distillation.softLabelLoss(student: supernet.logits(sub, architecture: arch, input: input, targets: targets).logits,
                                                    teacher: soft)
                let value = Double(kd.item())
                metrics[i == 1 ? "kd_smallest" : "kd_\(i)"] = value
                // The trainer stops on a non-finite loss before the update.
                guard value.isFinite else { return .init(loss: value, tokens: tokens, metrics: metrics) }
                kd.backward()
                losses.append(value)
            }
        }
        for (i, arch) in architectures.enumerated() { metrics["params_\(i)"] = Double(arch.parameterCount) }
        rule.observe(step: step, architectures: architectures, losses: losses)
        return .init(loss: value, tokens: tokens, metrics: metrics)
    }
}
