import NASTensor

/// A first-order optimizer over a fixed list of parameters.
///
/// The optimizer holds the parameters it was given (in that order) and its own per-parameter state
/// (moment buffers), keyed by the index in that list. `step()` updates every parameter that has a
/// gradient in place, from its `grad`; parameters whose `grad` is nil (not reached by the last
/// backward, e.g. a layer outside the sampled sub-network) or that are frozen (`requiresGrad == false`)
/// are skipped and their state is left untouched.
///
/// Checkpointing: `stateDict()` captures everything `step()` depends on besides the parameter values
/// and gradients (step counts, moment buffers, hyper-parameters including the learning rate);
/// `load(state:)` restores it into an optimizer built over the same parameter list, after which the
/// next `step()` is bit-identical to the one the saved optimizer would have taken.
public protocol Optimizer {
    /// The parameters this optimizer updates, in the order state is indexed by.
    var parameters: [Parameter] { get }
    /// The learning rate of the next `step()` (a schedule sets it before each step).
    var learningRate: Float { get set }
    /// Number of `step()` calls so far.
    var stepCount: Int { get }
    /// Updates every parameter that has a gradient, in place, from its gradient.
    mutating func step()
    /// Drops every parameter's gradient (sets it to nil; the next backward starts from zero).
    func zeroGrad()
    /// A snapshot of the optimizer's state (values are copied).
    func stateDict() -> OptimizerState
    /// Restores a snapshot taken by `stateDict()` of the same kind of optimizer over parameters with the
    /// same names and shapes in the same order. Throws (and changes nothing) on any mismatch.
    mutating func load(state: OptimizerState) throws
}

extension Optimizer {
    public func zeroGrad() {
        for p in parameters { p.zeroGrad() }
    }
}

/// The state of an optimizer, for checkpoints (Codable; JSON round-trips every finite Float exactly).
///
/// Buffer names follow PyTorch: Adam/AdamW use `"exp_avg"` (m) and `"exp_avg_sq"` (v), SGD uses
/// `"momentum_buffer"`. A parameter that has not been updated yet has `step == 0` and no buffers.
public struct OptimizerState: Codable, Equatable, Sendable {
    /// Which optimizer wrote it: `"sgd"`, `"adam"` or `"adamw"`.
    public var kind: String
    /// Number of `step()` calls so far.
    public var step: Int
    public var learningRate: Float
    /// The other hyper-parameters by name (e.g. `beta1`, `beta2`, `epsilon`, `weightDecay`, `momentum`).
    public var hyperparameters: [String: Float]
    /// One entry per parameter, in the optimizer's parameter order.
    public var parameters: [ParameterState]

    public struct ParameterState: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        /// Updates this parameter has received (Adam's bias correction uses it).
        public var step: Int
        /// Moment buffers, each with one value per element of the parameter (row-major).
        public var buffers: [String: [Float]]

        public init(name: String, shape: [Int], step: Int, buffers: [String: [Float]]) {
            self.name = name
            self.shape = shape
            self.step = step
            self.buffers = buffers
        }
    }

    public init(kind: String, step: Int, learningRate: Float, hyperparameters: [String: Float],
                parameters: [ParameterState]) {
        self.kind = kind
        self.step = step
        self.learningRate = learningRate
        self.hyperparameters = hyperparameters
        self.parameters = parameters
    }

    /// Checks that this state fits an optimizer of `kind` over `params` and carries `bufferNames` for
    /// every updated parameter, and that `hyperparameterNames` are all present.
    func validate(kind expected: String, parameters params: [Parameter], bufferNames: [String],
                  hyperparameterNames: [String]) throws {
        guard kind == expected else { throw OptimizerStateError.kindMismatch(expected: expected, found: kind) }
        guard step >= 0 else { throw OptimizerStateError.invalid("negative step count \(step)") }
        for h in hyperparameterNames where hyperparameters[h] == nil {
            throw OptimizerStateError.invalid("hyper-parameter \(h) missing")
        }
        guard parameters.count == params.count else {
            throw OptimizerStateError.parameterCount(expected: params.count, found: parameters.count)
        }
        for (i, (s, p)) in zip(parameters, params).enumerated() {
            guard s.name == p.name, s.shape == p.shape else {
                throw OptimizerStateError.parameterMismatch(index: i, expected: "\(p.name) \(p.shape)",
                                                            found: "\(s.name) \(s.shape)")
            }
            guard s.step >= 0 else { throw OptimizerStateError.invalid("parameter \(s.name): negative step") }
            if s.buffers.isEmpty { continue }
            let n = p.shape.reduce(1, *)
            for b in bufferNames {
                guard let buf = s.buffers[b] else {
                    throw OptimizerStateError.invalid("parameter \(s.name): buffer \(b) missing")
                }
                guard buf.count == n else {
                    throw OptimizerStateError.invalid("parameter \(s.name): buffer \(b) holds \(buf.count) values, expected \(n)")
                }
            }
        }
    }
}

/// Why `Optimizer.load(state:)` refused a state.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    case kindMismatch(expected: String, found: String)
    case parameterCount(expected: Int, found: Int)
    case parameterMismatch(index: Int, expected: String, found: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .kindMismatch(e, f): return "optimizer state: written by \(f), cannot load into \(e)"
        case let .parameterCount(e, f): return "optimizer state: \(f) parameters, optimizer has \(e)"
        case let .parameterMismatch(i, e, f): return "optimizer state: parameter \(i) is \(f), optimizer has \(e)"
        case let .invalid(m): return "optimizer state: \(m)"
        }
    }
}

/// Which parameters weight decay leaves alone.
public enum WeightDecayExclusion {
    /// Biases and normalisation weights (the usual BERT / GPT recipe): a parameter is excluded when its
    /// name ends in "bias", or contains "LayerNorm", "layer_norm" or "norm" (case-insensitive), or when
    /// it has rank ≤ 1 (vectors and scalars: biases, LayerNorm gains, embeddings are rank 2).
    public static func biasAndNorm(_ p: Parameter) -> Bool {
        let n = p.name.lowercased()
        return n.hasSuffix("bias") || n.contains("layernorm") || n.contains("layer_norm") || n.contains("norm")
            || p.shape.count <= 1
    }

    /// Excludes nothing: every parameter is decayed.
    public static func nothing(_ p: Parameter) -> Bool { false }
}

extension Array where Element == Parameter {
    /// Fails when the same parameter object appears twice (it would be updated twice per step).
    func checkUnique(_ who: String) {
        var seen = Set<ObjectIdentifier>()
        for p in self {
            precondition(seen.insert(ObjectIdentifier(p)).inserted, "\(who): parameter \(p.name) listed twice")
        }
    }
}

/// The gradient of `p` as a contiguous tensor, or nil when the optimizer must skip `p`.
func updatableGradient(_ p: Parameter) -> Tensor? {
    guard p.requiresGrad, let g = p.grad, p.value.count > 0 else { return nil }
    return g.isContiguous ? g : g.contiguous()
}
