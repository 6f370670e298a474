import NASTensor

/// Elastic LayerNorm: γ, β of the largest width; a call normalises over x's last dimension d and
/// uses γ[:d], β[:d].
public final class LayerNorm: Module {
    public let gamma: Parameter
    public let beta: Parameter
    public let eps: Float

    public init(_ dimMax: Int, name: String, eps: Float) {
        gamma = Init.ones([dimMax], name + ".weight")
        beta = Init.zeros([dimMax], name + ".bias")
        self.eps = eps
    }

    public var ownParameters: [Parameter] { [gamma, beta] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let d = x.shape.last!
        return x.layerNorm(gamma: gamma.leading([d]), beta: beta.leading([d]), eps: eps)
    }
}
