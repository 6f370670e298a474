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
/// flows into the soft targets. Without it (uniform: one sub-network per step) there are no others. With
/// `labelWeight` 0 the first learns no labels, so its logits are no targets: in-place distillation is off.
///
/// With `teacherForEveryMember` (AutoDistil; Xu et al., NeurIPS 2022: every sampled student is distilled
/// task-agnostically from the teacher), every other sub-network also takes `teacherLoss`, logged with its
/// index (`attention_kl_smallest`, `attention_kl_2`, …).
public final class SupernetTraining {
    public let supernet: Supernet
    public let rule: SamplingRule
    /// An extra loss for the label-trained sub-network (e.g. hidden-state and attention-relation
    /// distillation from a teacher), with values to log.
    public var teacherLoss: ((Transformer.Output, TokenBatch) -> (loss: Tensor, metrics: [String: Double]))?
    /// The weight of the label loss of the first sub-network.
    public var labelWeight: Float = 1
    /// Whether every sub-network of the step, not only the first, takes `teacherLoss` (AutoDistil).
    public var teacherForEveryMember = false
    /// The data-parallel job this step runs on one rank of (nil: a single process).
    public var dataParallel: DataParallel?

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
        guard stored.rule?.rawValue == rule.name, stored.space == supernet.space else {
            throw SupernetError(path: folder.path, field: "swiftnas_task",
                                message: "the run was trained with \(stored.rule.map { "rule \($0.rawValue)" } ?? "gradient search") "
                                    + "on space \(stored.space.name); resume with the same")
        }
        try rule.restore(stored.ruleState)
    }

    /// Runs step `step` on a batch (`targets`: the masked-LM targets of encoders, nil for decoders) and
    /// returns the first sub-network's loss; the others' losses are logged (`kd_*`) and told to the rule,
    /// and every sub-network's parameter count (`params_<i>`, for the histogram of sizes trained).
    ///
    /// Under data parallelism (`dataParallel`; `input` and `targets` are this rank's rows of the step's
    /// batch) every rank trains the same sub-networks (the rule is seeded by the step); each loss is this
    /// rank's share of the global mean (the label and distillation losses over the N targets of the whole
    /// step, N all-reduced once; the teacher's losses by rows), so the trainer sums the accumulated
    /// gradients once, after all of the step's backward passes: a sum of gradients is linear, so one
    /// all-reduce of the accumulated sum equals one per sub-network at 1/(2 + random) of the traffic, and the
    /// in-place distillation targets (the largest's logits) belong to this rank's own rows, so no rank needs
    /// another's between the passes. The losses told to the rule are the global ones (all-reduced), so an
    /// adaptive rule learns the same on every rank.
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
        // The step's label targets: this rank's and the whole step's (the distillation losses average over
        // the logits' rows: the masked positions of encoders, every position of decoders).
        let count = (targets ?? CausalLMHead.targets(input)).reduce(0) { $1 != -100 ? $0 + 1 : $0 }
        let total = dataParallel?.globalCount(count) ?? count
        let rows = targets == nil ? input.batchSize * input.length : count
        let rowsTotal = targets == nil ? (dataParallel?.batchSize ?? input.batchSize) * input.length : total
        let rowShare = dataParallel.map { Float(input.batchSize) / Float($0.batchSize) } ?? 1
        var loss: Tensor?, soft: Tensor?
        var metrics: [String: Double] = ["lm": 0]
        if count > 0 {
            let (logits, labels) = supernet.logits(out, architecture: first, input: input, targets: targets)
            let lm = DataParallel.share(logits.crossEntropy(targets: labels), count: count, of: total)!
            loss = labelWeight == 1 ? lm : lm * labelWeight
            metrics["lm"] = Double(lm.item())
            soft = logits.detached()
        }
        if let teacherLoss {
            let (extra, values) = teacherLoss(out, input)
            let share = rowShare == 1 ? extra : extra * rowShare
            loss = loss.map { $0 + share } ?? share
            metrics.merge(values.mapValues { $0 * Double(rowShare) }) { a, _ in a }
        }
        let value = loss.map { Double($0.item()) } ?? 0
        var losses = [metrics["lm"]!]
        var finite = value.isFinite
        if finite { loss?.backward() }
        let inPlace = rule.inPlaceDistillation && labelWeight > 0
        let fromTeacher = teacherForEveryMember ? teacherLoss : nil
        if (inPlace || fromTeacher != nil) && architectures.count > 1 {
            for (i, arch) in architectures.enumerated().dropFirst() {
                let suffix = i == 1 ? "_smallest" : "_\(i)"
                // Every rank logs the same keys (the metrics are summed over ranks key by key).
                if inPlace { metrics["kd" + suffix] = finite ? 0 : .nan }
                guard finite else { continue }
                let sub = model(input, architecture: arch, training: false, rng: &rng)
                var memberLoss: Tensor?
                if inPlace, let soft {
                    let kd = DataParallel.share(
                        Distillation.softLabelLoss(student: supernet.logits(sub, architecture: arch, input: input, targets: targets).logits,
                                                   teacher: soft), count: rows, of: rowsTotal)!
                    metrics["kd" + suffix] = Double(kd.item())
                    memberLoss = kd
                }
                if let fromTeacher {
                    let (extra, values) = fromTeacher(sub, input)
                    memberLoss = memberLoss.map { $0 + extra } ?? extra
                    for (key, v) in values { metrics[key + suffix] = v }
                }
                guard let memberLoss else { continue }
                let value = Double(memberLoss.item())
                // The trainer stops on a non-finite loss before the update.
                finite = value.isFinite
                if finite { memberLoss.backward() }
                losses.append(value)
            }
        }
        var replicated: [String: Double] = [:]
        for (i, arch) in architectures.enumerated() { replicated["params_\(i)"] = Double(arch.parameterCount) }
        if let dataParallel {
            // Each rank's losses are shares (a rank without targets adds 0): their sums are the step's losses.
            let expected = inPlace || fromTeacher != nil ? architectures.count : 1
            losses += [Double](repeating: finite ? 0 : .nan, count: max(0, expected - losses.count))
            dataParallel.communicator.allReduceSum(&losses)
        }
        if losses.allSatisfy(\.isFinite) { rule.observe(step: step, architectures: architectures, losses: losses) }
        return .init(loss: value, tokens: tokens, metrics: metrics, replicated: replicated)
    }
}
