import NASTensor

/// Anything that holds parameters. Parameter names are dotted paths in the Hugging Face layout
/// (`encoder.layer.0.attention.self.query.weight`), so checkpoints load and export by name.
public protocol Module: AnyObject {
    /// Parameters of this module and its children.
    var parameters: [Parameter] { get }
}

extension Module {
    public var namedParameters: [String: Parameter] {
        Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public var parameterElementCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Copies, for every parameter of `self`, the leading block of the same-named parameter of
    /// `source` (which must be at least as large): weight extraction from a supernet.
    public func loadLeadingSlices(from source: Module) {
        let src = source.namedParameters
        for p in parameters {
            guard let s = src[p.name] else { preconditionFailure("loadLeadingSlices: source has no parameter \(p.name)") }
            p.value = Autograd.noGrad { s.value.leading(p.shape).contiguous() }
        }
    }
}

/// BERT initialisation: weights N(0, 0.02²), biases 0, LayerNorm γ = 1, β = 0.
enum Init {
    static func normal(_ shape: [Int], _ name: String, std: Float = 0.02, _ rng: inout RandomGenerator) -> Parameter {
        Parameter(Tensor.randomNormal(shape, std: std, using: &rng), name: name)
    }
    static func zeros(_ shape: [Int], _ name: String) -> Parameter { Parameter(Tensor(zeros: shape), name: name) }
    static func ones(_ shape: [Int], _ name: String) -> Parameter { Parameter(Tensor(repeating: 1, shape: shape), name: name) }
}
