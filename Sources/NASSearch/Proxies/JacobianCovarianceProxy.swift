import Foundation
import NASModels
import NASTensor

/// Jacobian covariance, v1 of "Neural architecture search without training" (Mellor, Turner, Storkey
/// & Crowley, arXiv 2006.04647v1, 2020; the ICML 2021 version replaced it by NASWOT):
///     J_n = ∂(Σ output of sequence n) / ∂(input embeddings of sequence n), flattened to T·H values,
///     Σ = the B × B correlation matrix of the rows J_n (as `numpy.corrcoef`),
///     score = −Σ_i [ log(σ_i + k) + 1/(σ_i + k) ],  k = 10⁻⁵, σ_i the eigenvalues of Σ.
/// The input embeddings are made a graph leaf through `Transformer`'s `embeddingHook` (the embedding
/// output after the embedding LayerNorm for encoders). "Output" is the LM logits summed over the
/// vocabulary at the real tokens (`ProxyContext.vocabularySummedLogits`): the last hidden state of a
/// post-LN encoder sums to exactly 0 at every token, which would make J identically zero. Sequences are
/// independent, so one backward of the total gives every J_n. Eigenvalues by LAPACK `dsyevd`. A
/// sequence with constant J (zero variance) makes Σ undefined: the score is then NaN.
public struct JacobianCovarianceProxy: Proxy {
    public init() {}
    public var name: String { "jacob-cov" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        let b = context.batch.batchSize, t = context.batch.length
        var leaf: Parameter?
        context.zeroGrad()
        defer { context.zeroGrad() }
        let y = Autograd.withGrad { () -> Tensor in
            let out = context.forward(embeddingHook: { x in
                let p = Parameter(x.detached(), name: "input")
                leaf = p
                return p.tensor
            })
            return context.vocabularySummedLogits(out)
        }
        let weights = (0..<(b * t)).map { context.isReal($0) ? Float(1) : 0 }
        y.backward(Tensor(shape: [b * t], scalars: weights))
        guard let j = leaf?.grad else { return .nan }
        let width = j.count / b
        return JacobianCovarianceProxy.score(jacobians: j.scalars.map(Double.init), rows: b, columns: width)
    }

    /// The score of `rows` Jacobians of `columns` values each (row-major).
    public static func score(jacobians: [Double], rows b: Int, columns n: Int) -> Double {
        precondition(jacobians.count == b * n, "JacobianCovarianceProxy.score: \(jacobians.count) values for \(b) × \(n)")
        var centred = jacobians
        for r in 0..<b {
            var mean = 0.0
            for c in 0..<n { mean += centred[r * n + c] }
            mean /= Double(n)
            var sq = 0.0
            for c in 0..<n { centred[r * n + c] -= mean; sq += centred[r * n + c] * centred[r * n + c] }
            let norm = sq.squareRoot()
            if norm == 0 { return .nan }
            for c in 0..<n { centred[r * n + c] /= norm }
        }
        var corr = [Double](repeating: 0, count: b * b)
        for r in 0..<b {
            for s in r..<b {
                var d = 0.0
                for c in 0..<n { d += centred[r * n + c] * centred[s * n + c] }
                corr[r * b + s] = d
                corr[s * b + r] = d
            }
        }
        let k = 1e-5
        return -Linalg.symmetricEigenvalues(corr, n: b).reduce(0.0) { $0 + Foundation.log($1 + k) + 1 / ($1 + k) }
    }
}
