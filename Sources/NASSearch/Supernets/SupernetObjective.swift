import NASModels
import NASTensor

/// One-shot scoring: a candidate's language-model loss with the weights it inherits from a trained
/// supernet, on one fixed held-out batch, without any retraining (AutoTinyBERT's SuperPLM search; Yin
/// et al., ACL 2021). Encoders: the masked-LM cross-entropy of a fixed, seeded corruption of the batch;
/// decoders: the next-token cross-entropy. Lower is better. A candidate that is no sub-network of the
/// supernet fails (thrown error).
public final class SupernetObjective: Objective {
    public let supernet: Supernet
    public let input: TokenBatch
    public let targets: [Int32]?

    /// `input` and `targets` as `Supernet.logits` takes them (targets: encoders' masked-LM targets).
    public init(supernet: Supernet, input: TokenBatch, targets: [Int32]?) {
        self.supernet = supernet; self.input = input; self.targets = targets
    }

    public var spec: ObjectiveSpec { ObjectiveSpec(name: "supernet", maximize: false) }

    public func evaluate(_ arch: Architecture) throws -> Double {
        try supernet.loss(of: arch, input: input, targets: targets)
    }
}
