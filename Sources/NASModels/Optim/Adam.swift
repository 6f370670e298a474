import CKernels
import Foundation
import NASTensor

/// Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"), with weight decay either as
/// an L2 term added to the gradient (PyTorch's `Adam`) or decoupled (see `AdamW`).
///
/// For a parameter p with gradient g at its t-th update (t counts this parameter's updates, from 1):
///
///     g ← g + wd·p                                  (only in `.l2` mode)
///     m ← β1·m + (1−β1)·g
///     v ← β2·v + (1−β2)·g²
///     bc1 = 1 − β1^t,  bc2 = 1 − β2^t
///     p ← p·(1 − lr·wd) − (lr/bc1)·m / (sqrt(v/bc2) + ε)   (the decay factor only in `.decoupled` mode)
///
/// Parameters for which the exclusion predicate holds (by default biases, normalisation weights and
/// any rank-1 parameter) get no weight decay in either mode. The update runs in the C kernel
/// `nk_adam` over contiguous ranges split by `Engine.parallelFor`; it is elementwise, so the result is
/// the same for any split.
public class Adam: Optimizer {
    public enum WeightDecayMode: String, Codable, Sendable {
        /// g ← g + wd·p before the moments (Adam with L2 regularisation).
        case l2
        /// p ← p − lr·wd·p beside the Adam step (AdamW, Loshchilov & Hutter 2019).
        case decoupled
    }

    public let parameters: [Parameter]
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public let weightDecayMode: WeightDecayMode
    /// Per parameter: whether weight decay applies (decided once, at init, by the exclusion predicate).
    public let decays: [Bool]
    public private(set) var stepCount = 0

    /// First and second moments per parameter (empty until the parameter's first update).
    private var m: [[Float]]
    private var v: [[Float]]
    /// Updates per parameter: t of the bias correction.
    private var updates: [Int]

    /// - Parameters:
    ///   - excludeFromWeightDecay: parameters for which it returns true get no weight decay
    ///     (default `WeightDecayExclusion.biasAndNorm`).
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, weightDecayMode: WeightDecayMode = .l2,
                excludeFromWeightDecay: (Parameter) -> Bool = WeightDecayExclusion.biasAndNorm) {
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                     "Adam: betas (\(beta1), \(beta2)) must lie in [0, 1)")
        precondition(epsilon >= 0, "Adam: epsilon \(epsilon) must be ≥ 0")
        parameters.checkUnique("Adam")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecayMode = weightDecayMode
        decays = parameters.map { !excludeFromWeightDecay($0) }
        m = Array(repeating: [], count: parameters.count)
        v = Array(repeating: [], count: parameters.count)
        updates = Array(repeating: 0, count: parameters.count)
    }

    /// `"adam"` or `"adamw"` (by weight-decay mode), as written in `OptimizerState.kind`.
    public var kind: String { weightDecayMode == .l2 ? "adam" : "adamw" }

    public func step() {
        stepCount += 1
        Autograd.noGrad {
            for (i, p) in parameters.enumerated() {
                guard let g = updatableGradient(p) else { continue }
                updates[i] += 1
                update(i, p, g)
            }
        }
    }

    private func update(_ i: Int, _ p: Parameter, _ g: Tensor) {
        let n = p.value.count, t = Double(updates[i])
        // Bias corrections in Double, as PyTorch computes them in Python floats.
        let bc1 = Float(1 - pow(Double(beta1), t)), bc2 = Float(1 - pow(Double(beta2), t))
        let lr = learningRate, b1 = beta1, b2 = beta2, eps = epsilon
        let wd = decays[i] ? weightDecay : 0
        let l2 = weightDecayMode == .l2 ? wd : 0, decoupled = weightDecayMode == .decoupled ? wd : 0
        if m[i].isEmpty {
            m[i] = [Float](repeating: 0, count: n)
            v[i] = [Float](repeating: 0, count: n)
        }
        let gp = g.basePointer
        p.value.withMutableBuffer { pb in
            let pp = pb.baseAddress!
            m[i].withUnsafeMutableBufferPointer { mb in
                v[i].withUnsafeMutableBufferPointer { vb in
                    let mp = mb.baseAddress!, vp = vb.baseAddress!
                    Engine.parallelFor(n, costPerItem: 8) { r in
                        if l2 == 0 {
                            nk_adam(pp + r.lowerBound, gp + r.lowerBound, mp + r.lowerBound, vp + r.lowerBound,
                                    r.count, lr, b1, b2, eps, bc1, bc2, decoupled)
                            return
                        }
                        // L2: the kernel sees g + wd·p, built block by block in a scratch buffer.
                        let block = 4096
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { tmp in
                            let tp = tmp.baseAddress!
                            var lo = r.lowerBound
                            while lo < r.upperBound {
                                let c = min(block, r.upperBound - lo)
                                for k in 0..<c { tp[k] = gp[lo + k] + l2 * pp[lo + k] }
                                nk_adam(pp + lo, tp, mp + lo, vp + lo, c, lr, b1, b2, eps, bc1, bc2, 0)
                                lo += c
                            }
                        }
                    }
                }
            }
        }
        withExtendedLifetime(g) {}
    }

    private var hyperparameters: [String: Float] {
        ["beta1": beta1, "beta2": beta2, "epsilon": epsilon, "weightDecay": weightDecay]
    }

    public func stateDict() -> OptimizerState {
        OptimizerState(
            kind: kind, step: stepCount, learningRate: learningRate, hyperparameters: hyperparameters,
            parameters: parameters.indices.map { i in
                .init(name: parameters[i].name, shape: parameters[i].shape, step: updates[i],
                      buffers: m[i].isEmpty ? [:] : ["exp_avg": m[i], "exp_avg_sq": v[i]])
            })
    }

    public func load(state: OptimizerState) throws {
        try state.validate(kind: kind, parameters: parameters, bufferNames: ["exp_avg", "exp_avg_sq"],
                           hyperparameterNames: Array(hyperparameters.keys))
        let h = state.hyperparameters
        stepCount = state.step
        learningRate = state.learningRate
        beta1 = h["beta1"]!
        beta2 = h["beta2"]!
        epsilon = h["epsilon"]!
        weightDecay = h["weightDecay"]!
        updates = state.parameters.map(\.step)
        m = state.parameters.map { $0.buffers["exp_avg"] ?? [] }
        v = state.parameters.map { $0.buffers["exp_avg_sq"] ?? [] }
    }
}

/// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
/// Regularization"): p ← p·(1 − lr·wd) − (lr/bc1)·m / (sqrt(v/bc2) + ε), the decay applied to the
/// parameter directly rather than through the gradient, so it is not rescaled by the adaptive step.
/// Biases, normalisation weights and rank-1 parameters are not decayed by default.
public final class AdamW: Adam {
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01,
                excludeFromWeightDecay: (Parameter) -> Bool = WeightDecayExclusion.biasAndNorm) {
        super.init(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2,
                   epsilon: epsilon, weightDecay: weightDecay, weightDecayMode: .decoupled,
                   excludeFromWeightDecay: excludeFromWeightDecay)
    }
}
