import Dispatch
import NASModels
import NASTensor

/// Vanilla PCA proxy: the mean over layers of the number of principal components of the FFN
/// pre-activations that explain more than a share η of their variance.
///
/// For layer l, H_l = X·W₁ᵀ + b₁ is the first FFN dense output before the activation
/// (`TransformerBlock.Result.preActivation`), taken at every real token of the batch (or a seeded
/// sample of `maxTokens` of them): an N × D matrix. Its columns are centred, C = HᵀH/(N − 1) (one GEMM),
/// the eigenvalues λ₁ ≥ … ≥ λ_D of C come from LAPACK `ssyevd` (values only; tiny negative rounding
/// values are clamped to 0), and
///     k_l = min { k : (λ₁ + … + λ_k) / (λ₁ + … + λ_D) > η }      (strictly greater; η = 0.99 by default).
/// Score = (1/L) Σ_l k_l. This is the PCA half of W-PCA (Wang et al., "W-PCA based gradient-free proxy
/// for efficient search of lightweight language models", ICLR 2025). Layers are aggregated by the mean,
/// so depth enters W-PCA only through the parameter count (a sum over layers differs by the factor L).
/// Gradient-free: the forward runs under `Autograd.noGrad`.
public struct PCAProxy: Proxy {
    public var eta: Double
    /// At most this many real tokens (a seeded sample); nil: all real tokens of the batch.
    public var maxTokens: Int?

    public init(eta: Double = 0.99, maxTokens: Int? = nil) {
        self.eta = eta
        self.maxTokens = maxTokens
    }

    public var name: String { "pca" }
    public var needsGradients: Bool { false }

    public func score(_ context: ProxyContext) throws -> Double {
        let ks = try PCAProxy.componentCounts(context, eta: eta, maxTokens: maxTokens, proxy: name)
        return Double(ks.reduce(0, +)) / Double(ks.count)
    }

    /// k_l for every layer of the context's architecture.
    public static func componentCounts(_ context: ProxyContext, eta: Double, maxTokens: Int?,
                                       proxy: String = "pca") throws -> [Int] {
        guard eta > 0 && eta < 1 else { throw ProxyError.invalidOption(proxy: proxy, message: "η = \(eta) must be in (0, 1)") }
        if let m = maxTokens, m < 2 { throw ProxyError.invalidOption(proxy: proxy, message: "maxTokens = \(m) must be ≥ 2") }
        let tokens = context.realTokenIndices(limit: maxTokens)
        guard tokens.count >= 2 else { throw ProxyError.unusableContext("PCA needs at least 2 real tokens, got \(tokens.count)") }
        let all = tokens.count == context.batch.batchSize * context.batch.length
        return context.componentCounts(key: "\(eta)/\(maxTokens ?? -1)") {
          Autograd.noGrad {
            let out = context.inferenceOutput
            let covariances = out.layers.map { r -> Tensor in
                let pre = r.preActivation
                let d = pre.shape.last!
                var x = pre.reshaped([-1, d])
                if !all { x = x.gather(rows: tokens.map { Int32($0) }) }
                return covariance(of: x)
            }
            // One single-threaded LAPACK solve per layer, the layers spread over the engine's threads.
            var counts = [Int](repeating: 0, count: covariances.count)
            counts.withUnsafeMutableBufferPointer { c in
                let out = c.baseAddress!
                DispatchQueue.concurrentPerform(iterations: covariances.count) { i in
                    out[i] = componentCount(eigenvalues: Linalg.symmetricEigenvalues(covariances[i]).map(Double.init), eta: eta)
                }
            }
            return counts
          }
        }
    }

    /// The sample covariance of the rows of `x` [N, D]: centre the columns, then one GEMM.
    static func covariance(of x: Tensor) -> Tensor {
        Autograd.noGrad {
            let centred = x - x.mean(axes: [0], keepDims: true)
            return centred.matmul(centred, transposeA: true, alpha: 1 / Float(x.shape[0] - 1))
        }
    }

    /// k for the rows of `x` [N, D] (N ≥ 2): centre the columns, covariance by one GEMM, `ssyevd`.
    public static func componentCount(of x: Tensor, eta: Double) -> Int {
        precondition(x.rank == 2 && x.shape[0] >= 2, "PCAProxy.componentCount: needs [N ≥ 2, D], got \(x.shape)")
        let eigenvalues = Linalg.symmetricEigenvalues(covariance(of: x))
        return componentCount(eigenvalues: eigenvalues.map(Double.init), eta: eta)
    }

    /// The smallest k whose k largest eigenvalues hold a share of the total strictly greater than η
    /// (negative values, rounding noise of a PSD matrix, count as 0). 0 when the total is 0.
    public static func componentCount(eigenvalues: [Double], eta: Double) -> Int {
        let values = eigenvalues.map { Swift.max($0, 0) }.sorted(by: >)
        let total = values.reduce(0, +)
        guard total > 0 else { return 0 }
        var cumulative = 0.0
        for (i, v) in values.enumerated() {
            cumulative += v
            if cumulative / total > eta { return i + 1 }
        }
        return values.count
    }
}
