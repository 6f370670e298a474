import NASModels

/// The parameter count of the backbone (`Architecture.parameterCount`: embeddings included, task heads
/// excluded), computed analytically from the architecture; the model is never built.
public struct ParameterCountProxy: Proxy {
    public init() {}
    public var name: String { "params" }
    public var needsGradients: Bool { false }
    public func score(_ context: ProxyContext) throws -> Double { Double(context.architecture.parameterCount) }
}
