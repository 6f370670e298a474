import Foundation
import NASModels
import NASTensor
import NASText

/// Distillation from a teacher encoder during pretraining: the last hidden state by MSE (through a learned
/// projection when the widths differ) and the last layer's Q-Q, K-K, V-V relations by KL (MiniLMv2), with
/// the teacher's head count as the number of relation heads. The teacher sees the student's input.
public struct Distiller {
    /// The teacher (dropout off).
    public let teacher: Transformer
    /// Student width → teacher width for the hidden-state loss (nil when the widths are equal); trained
    /// with the student.
    public let projection: Linear?
    /// Heads the Q, K and V of both last layers are split into for the relation loss.
    public let relationHeads: Int

    /// The distiller's trainable modules (the projection), to train beside the student.
    public var modules: [Module] { projection.map { [$0] } ?? [] }

    /// The teacher's output on the last batch it saw: every member of a supernet step sees the same batch, so the
    /// teacher runs once per step.
    private let last = LastOutput()
    private final class LastOutput {
        var input: TokenBatch?
        var output: Transformer.Output?
    }

    /// Loads the teacher from the checkpoint folder `path` (or a training run's latest) and checks it against the student: the same
    /// vocabulary file as `vocabulary` (when both can be read), an encoder with the student's vocabulary
    /// size, and last layers that are attention with a qkv divisible by `relationHeads` (default: the
    /// teacher's head count). Mismatches are `TrainingInputError`s.
    /// `projectAlways`: build the projection even when the widths are equal (a supernet whose members of
    /// other widths are distilled through its leading columns).
    public init(teacher path: String, student: Architecture, vocabulary: URL, relationHeads: Int?, projectAlways: Bool = false,
                rng: inout RandomGenerator) throws {
        let folder = try TrainingInputs.checkpointFolder(path)   // a checkpoint, or a run's latest
        let (model, _, _) = try Checkpoint.loadTransformer(from: folder)
        let t = model.maxArchitecture
        let teacherVocab = folder.appendingPathComponent("vocab.txt")
        if let a = try? Data(contentsOf: teacherVocab), let b = try? Data(contentsOf: vocabulary), a != b {
            throw TrainingInputError(field: "vocabulary", "vocabulary mismatch: the teacher's \(teacherVocab.path) differs from \(vocabulary.path); "
                                     + "distillation needs the same tokenization")
        }
        guard t.vocabSize == student.vocabSize, t.family == .encoder else {
            throw TrainingInputError(field: "vocabSize", "the teacher (\(t.family), vocabulary \(t.vocabSize)) must be an encoder with the student's vocabulary (\(student.vocabSize))")
        }
        guard t.layers.last!.operation.isAttention else {
            throw TrainingInputError(file: folder.path, field: "layers", "the teacher's last layer is \(t.layers.last!.operation), not attention")
        }
        let heads = relationHeads ?? t.layers.last!.heads
        guard heads > 0, t.layers.last!.qkv % heads == 0 else {
            throw TrainingInputError(field: "relation-heads", "--relation-heads \(heads) must divide the teacher's last-layer qkv \(t.layers.last!.qkv)")
        }
        guard let last = student.layers.last, last.operation.isAttention, last.qkv % heads == 0 else {
            throw TrainingInputError(field: "relation-heads", "attention-relation distillation re-splits the student's last-layer qkv into "
                                     + "\(heads) relation heads, but the student's last layer has qkv \(student.layers.last?.qkv ?? 0) "
                                     + "(\(student.layers.last?.operation.description ?? "none")); use an attention layer with qkv divisible by \(heads), or set --relation-heads")
        }
        teacher = model
        teacher.hiddenDropout = 0
        teacher.attentionDropout = 0
        self.relationHeads = heads
        projection = projectAlways || student.outputWidth != t.outputWidth
            ? Linear(student.outputWidth, t.outputWidth, name: "distillation.projection", rng: &rng) : nil
    }

    /// The teacher's output on `input`, a constant: no graph is recorded through the teacher, so no gradient flows
    /// into it.
    public func teacherOutput(_ input: TokenBatch) -> Transformer.Output {
        if let seen = last.input, let output = last.output, seen.ids == input.ids, seen.typeIds == input.typeIds,
           seen.attentionMask == input.attentionMask, seen.batchSize == input.batchSize {
            return output
        }
        let output = Autograd.noGrad { teacher(input) }
        (last.input, last.output) = (input, output)
        return output
    }

    /// (hidden MSE, attention-relation KL) for the student's output on `input`.
    public func losses(student out: Transformer.Output, input: TokenBatch) -> (Tensor, Tensor) {
        let t = teacherOutput(input)
        let mask = input.attentionMask
        let hidden = Distillation.hiddenMSE(student: out.hidden, teacher: t.hidden, projection: projection, mask: mask)
        let s = out.layers.last!.attention!, a = t.layers.last!.attention!
        let relations = Distillation.attentionRelationKL(student: (s.q, s.k, s.v), teacher: (a.q, a.k, a.v),
                                                         relationHeads: relationHeads, mask: mask)
        return (hidden, relations)
    }
}
