import NASModels

/// The non-embedding ("decoder") parameter count, the training-free proxy of LiteTransformerSearch
/// (Javaheripi et al., "LiteTransformerSearch: training-free neural architecture search for efficient
/// language models", NeurIPS 2022): `Architecture.nonEmbeddingParameterCount`, i.e. every backbone
/// parameter except the word, position and token-type tables. Analytic; the model is never built.
public struct NonEmbeddingParameterCountProxy: Proxy {
    public init() {}
    public var name: String { "nonembedding-params" }
    public var needsGradients: Bool { false }
    public func score(_ context: ProxyContext) throws -> Double {
        Double(context.architecture.nonEmbeddingParameterCount)
    }
}
