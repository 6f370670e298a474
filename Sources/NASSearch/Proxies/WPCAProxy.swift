import NASModels

/// W-PCA (Wang et al., "W-PCA based gradient-free proxy for efficient search of lightweight language
/// models", ICLR 2025): the parameter count weighted by the FFN's principal-component count,
///     W-PCA = #params × (1/L) Σ_l k_l,
/// with k_l the number of principal components of layer l's FFN pre-activations H = X·W₁ᵀ + b₁ that
/// explain a share of the variance strictly greater than η (default 0.99) — see `PCAProxy` for the
/// exact computation (centred covariance by one GEMM, eigenvalues by LAPACK `ssyevd`).
/// #params is `Architecture.parameterCount` (the backbone, embeddings included). Layers are aggregated
/// by the mean (depth is already in #params; a sum over layers differs by the factor L). No gradients
/// (`Autograd.noGrad`).
public struct WPCAProxy: Proxy {
    public var eta: Double
    /// At most this many real tokens (a seeded sample); nil: all real tokens of the batch.
    public var maxTokens: Int?

    public init(eta: Double = 0.99, maxTokens: Int? = nil) {
        self.eta = eta
        self.maxTokens = maxTokens
    }

    public var name: String { "w-pca" }
    public var needsGradients: Bool { false }

    public func score(_ context: ProxyContext) throws -> Double {
        let ks = try PCAProxy.componentCounts(context, eta: eta, maxTokens: maxTokens, proxy: name)
        return Double(context.architecture.parameterCount) * Double(ks.reduce(0, +)) / Double(ks.count)
    }
}
