import NASModels

/// Matrix-multiply FLOPs of one forward pass of the backbone over one sequence of the batch's length
/// (`Architecture.flops(sequenceLength:)`), computed analytically; the model is never built.
public struct FLOPsProxy: Proxy {
    public init() {}
    public var name: String { "flops" }
    public var needsGradients: Bool { false }
    public func score(_ context: ProxyContext) throws -> Double {
        Double(context.architecture.flops(sequenceLength: context.batch.length))
    }
}
