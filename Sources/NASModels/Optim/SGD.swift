import CKernels
import NASTensor

/// Stochastic gradient descent with momentum and optional L2 weight decay, in PyTorch's form
/// (Sutskever et al. 2013, "On the importance of initialization and momentum in deep learning"):
///
///     g ← g + wd·p                      (L2 weight decay, skipped for excluded parameters)
///     buf ← g                           on the parameter's first update
///     buf ← μ·buf + g                   afterwards
///     p ← p − lr·buf
///
/// With `momentum == 0` no buffer is kept and the update is p ← p − lr·g.
/// The update runs in the C kernel `nk_sgd`, split across threads by `Engine.parallelFor`
/// (elementwise, so the result does not depend on the split).
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    /// μ.
    public var momentum: Float
    /// L2 coefficient wd (added to the gradient).
    public var weightDecay: Float
    /// Per parameter: whether weight decay applies (decided once, at init, by the exclusion predicate).
    public let decays: [Bool]
    public private(set) var stepCount = 0

    private var buffers: [[Float]]
    private var updates: [Int]

    /// - Parameters:
    ///   - excludeFromWeightDecay: parameters for which it returns true get no weight decay. The default
    ///     decays every parameter (as PyTorch's SGD); pass `WeightDecayExclusion.biasAndNorm` to skip
    ///     biases and normalisation weights.
    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0,
                excludeFromWeightDecay: (Parameter) -> Bool = WeightDecayExclusion.nothing) {
        precondition(momentum >= 0, "SGD: momentum \(momentum) must be ≥ 0")
        parameters.checkUnique("SGD")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        decays = parameters.map { !excludeFromWeightDecay($0) }
        buffers = Array(repeating: [], count: parameters.count)
        updates = Array(repeating: 0, count: parameters.count)
    }

    public func step() {
        stepCount += 1
        Autograd.noGrad {
            for (i, p) in parameters.enumerated() {
                guard let g = updatableGradient(p) else { continue }
                update(i, p, g)
                updates[i] += 1
            }
        }
    }

    private func update(_ i: Int, _ p: Parameter, _ g: Tensor) {
        let n = p.value.count, lr = learningRate, mu = momentum
        let wd = decays[i] ? weightDecay : 0
        let gp = g.basePointer
        p.value.withMutableBuffer { pb in
            let pp = pb.baseAddress!
            if mu == 0 {
                Engine.parallelFor(n, costPerItem: 2) { r in
                    nk_sgd(pp + r.lowerBound, gp + r.lowerBound, nil, r.count, lr, 0, wd, 1)
                }
                return
            }
            let first: Int32 = buffers[i].isEmpty ? 1 : 0
            if buffers[i].isEmpty { buffers[i] = [Float](repeating: 0, count: n) }
            buffers[i].withUnsafeMutableBufferPointer { bb in
                let bp = bb.baseAddress!
                Engine.parallelFor(n, costPerItem: 2) { r in
                    nk_sgd(pp + r.lowerBound, gp + r.lowerBound, bp + r.lowerBound, r.count, lr, mu, wd, first)
                }
            }
        }
        withExtendedLifetime(g) {}
    }

    public func stateDict() -> OptimizerState {
        OptimizerState(
            kind: "sgd", step: stepCount, learningRate: learningRate,
            hyperparameters: ["momentum": momentum, "weightDecay": weightDecay],
            parameters: parameters.indices.map { i in
                .init(name: parameters[i].name, shape: parameters[i].shape, step: updates[i],
                      buffers: buffers[i].isEmpty ? [:] : ["momentum_buffer": buffers[i]])
            })
    }

    public func load(state: OptimizerState) throws {
        try state.validate(kind: "sgd", parameters: parameters, bufferNames: ["momentum_buffer"],
                           hyperparameterNames: ["momentum", "weightDecay"])
        stepCount = state.step
        learningRate = state.learningRate
        momentum = state.hyperparameters["momentum"]!
        weightDecay = state.hyperparameters["weightDecay"]!
        updates = state.parameters.map(\.step)
        buffers = state.parameters.map { $0.buffers["momentum_buffer"] ?? [] }
    }
}
