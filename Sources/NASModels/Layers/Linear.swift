import NASTensor

/// Elastic fully connected layer: owns its largest weight [outMax, inMax] and bias [outMax]; a call
/// runs the leading slice y = x · W[:out, :in]ᵀ + b[:out] (zero-copy, in = x's last dimension).
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inMax: Int, _ outMax: Int, name: String, bias: Bool = true, rng: inout RandomGenerator) {
        weight = Init.normal([outMax, inMax], name + ".weight", &rng)
        self.bias = bias ? Init.zeros([outMax], name + ".bias") : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var maxIn: Int { weight.shape[1] }
    public var maxOut: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor, out: Int? = nil) -> Tensor {
        let i = x.shape.last!, o = out ?? maxOut
        precondition(i <= maxIn && o <= maxOut, "Linear \(weight.name): slice [\(o), \(i)] exceeds [\(maxOut), \(maxIn)]")
        return x.matmul(weight.leading([o, i]), transposeB: true, bias: bias?.leading([o]))
    }
}
