import NASModels
import NASTensor
import NASTrain

/// AutoDistil's search objective (Xu et al., NeurIPS 2022): a candidate's task-agnostic self-attention
/// distillation loss with the weights it inherits from a supernet trained by that loss, on one fixed held-out
/// batch, without retraining. The loss is MiniLMv2's relation KL (`Distillation.attentionRelationKL`): for A in
/// {Q, K, V} of the last layer, R_A = softmax(A_r·A_rᵀ/√d_r) over R relation heads (the teacher's head count),
/// averaged KL(R_A^teacher ‖ R_A^student) over A, heads and real query positions. Lower is better.
///
/// With sub-space supernets (`SubspacePartition`), a candidate is scored by the supernet of the sub-space it
/// belongs to; one that belongs to none fails (thrown error), as does one outside a single supernet.
public final class DistillationObjective: Objective {
    /// One supernet per sub-space, in the partition's order (one: a plain supernet).
    public let supernets: [Supernet]
    public let input: TokenBatch
    public let relationHeads: Int
    let teacher: (q: Tensor, k: Tensor, v: Tensor)

    /// `teacher` runs once on `input`; its last layer must be attention with a qkv that `relationHeads` divides.
    public init(supernets: [Supernet], teacher: Transformer, relationHeads: Int, input: TokenBatch) throws {
        precondition(!supernets.isEmpty, "DistillationObjective: no supernet")
        let out = Autograd.noGrad { teacher(input) }
        guard let a = out.layers.last?.attention, relationHeads > 0, teacher.maxArchitecture.layers.last!.qkv % relationHeads == 0 else {
            throw SupernetError(field: "teacher", message: "the teacher's last layer must be attention with a qkv divisible by "
                                + "\(relationHeads) relation heads")
        }
        self.supernets = supernets; self.input = input; self.relationHeads = relationHeads
        self.teacher = (a.q, a.k, a.v)
    }

    public var spec: ObjectiveSpec { ObjectiveSpec(name: "distillation", maximize: false) }

    /// The supernet that scores `arch`: the one of its sub-space; with one supernet, that one if it holds `arch`.
    public func supernet(for arch: Architecture) throws -> Supernet {
        if supernets.count == 1, supernets[0].model.holds(arch) { return supernets[0] }
        if supernets.count > 1, let net = supernets.first(where: { $0.space.encode(arch) != nil }) { return net }
        throw SupernetError(field: "architecture", message: "\(arch.depth) layers, hidden \(arch.hidden) belongs to "
            + (supernets.count == 1 ? "no sub-network of the supernet (space \(supernets[0].space.name))"
                                    : "none of the sub-spaces \(supernets.map(\.space.name).joined(separator: ", "))"))
    }

    public func evaluate(_ arch: Architecture) throws -> Double {
        let net = try supernet(for: arch)
        guard let last = arch.layers.last, last.operation.isAttention, last.qkv % relationHeads == 0 else {
            throw SupernetError(field: "architecture", message: "relation distillation re-splits the last layer's qkv into \(relationHeads) "
                                + "heads; this member's last layer has qkv \(arch.layers.last?.qkv ?? 0)")
        }
        return Autograd.noGrad {
            let s = net.model(input, architecture: arch).layers.last!.attention!
            return Double(Distillation.attentionRelationKL(student: (s.q, s.k, s.v), teacher: teacher, relationHeads: relationHeads,
                                                           mask: input.attentionMask).item())
        }
    }
}
