import NASTensor

/// The one activation type of every layer and head: `activation(x)` applies it elementwise.
/// GELU (erf) x·Φ(x) (Hendrycks & Gimpel, 2016), its tanh approximation (GPT-2), or ReLU.
extension Architecture.Activation {
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: return x.gelu()
        case .geluTanh: return x.geluTanh()
        case .relu: return x.relu()
        }
    }
}
