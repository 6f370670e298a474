import NASTensor

/// DARTS-PT: perturbation-based architecture selection (Wang et al., "Rethinking Architecture Selection in
/// Differentiable NAS", ICLR 2021). α's magnitudes need not say which choice the supernet relies on; the
/// loss does. Until every dimension is decided:
///
/// 1. take an undecided dimension d at random;
/// 2. for each choice i of d, remove it — w_d with entry i set to 0 and renormalised, the other undecided
///    dimensions at their expected weights, the decided ones one-hot — and measure the validation loss;
/// 3. fix d to the choice whose removal raises the loss most;
/// 4. fine-tune the supernet briefly with the decided dimensions fixed (`fineTune`), then repeat.
///
/// The expected weights are softmax(α) (the DARTS mixture; for DrNAS and GDAS too, as their samplers'
/// relaxations). The loss and the fine-tuning are closures, so the rule is tested on constructed losses.
public struct PerturbationSelection {
    public let parameters: ArchitectureParameters

    public init(parameters: ArchitectureParameters) { self.parameters = parameters }

    /// The weights with the decided dimensions one-hot and the rest softmax(α), without graph.
    public func weights(fixed: [ArchitectureParameters.Dimension: Int]) -> MixingWeights {
        MixingWeights(parameters, fixed: fixed) { _, alpha in Autograd.noGrad { alpha.value.softmax() } }
    }

    /// `weights` with choice `i` of `d` removed (zeroed, the rest renormalised).
    func removing(_ i: Int, of d: ArchitectureParameters.Dimension, from w: MixingWeights) -> MixingWeights {
        var s = w[d].scalars
        s[i] = 0
        let total = s.reduce(0, +)
        var out = w
        out.weights[d] = Tensor(shape: [s.count], scalars: s.map { total > 0 ? $0 / total : 1 / Float(s.count - 1) })
        return out
    }

    /// One decision: the dimension, the loss after removing each choice, and the choice kept.
    public struct Decision {
        public var dimension: ArchitectureParameters.Dimension
        public var losses: [Double]
        public var choice: Int
    }

    /// Decides every dimension with α; returns the decisions in order (the architecture is
    /// `parameters.architecture { fixed[$0] }` over them).
    public func select(loss: (MixingWeights) throws -> Double, fineTune: ([ArchitectureParameters.Dimension: Int]) throws -> Void,
                       using rng: inout RandomGenerator) rethrows -> [Decision] {
        var undecided = parameters.dimensions.filter { parameters.alphas[$0] != nil }
        var fixed: [ArchitectureParameters.Dimension: Int] = [:], decisions: [Decision] = []
        while !undecided.isEmpty {
            let d = undecided.remove(at: Int(rng.next() % UInt64(undecided.count)))
            let base = weights(fixed: fixed)
            let losses = try (0..<parameters.count(d)).map { try loss(removing($0, of: d, from: base)) }
            let choice = losses.indices.max { losses[$0] < losses[$1] }!
            fixed[d] = choice
            decisions.append(Decision(dimension: d, losses: losses, choice: choice))
            try fineTune(fixed)
        }
        return decisions
    }
}
