import Foundation
import NASModels
import NASTensor

/// NASWOT (Mellor, Turner, Storkey & Crowley, "Neural architecture search without training",
/// ICML 2021): how differently the network's ReLU-like units split the inputs.
///     c_t = 1[z_t > 0] ∈ {0,1}^D,  the binary code of token t over the FFN pre-activations z of every
///           layer concatenated (D = Σ_l F_l; the sign of the pre-activation is the ReLU/GELU gate),
///     K_ab = c_a·c_b + (1 − c_a)·(1 − c_b) = D − Hamming(c_a, c_b),
///     score = log |det K|.
/// The "inputs" are tokens, not sequences: up to `maxTokens` (default 256) real tokens of the batch, a
/// seeded sample when there are more. The inputs must be distinct for K to say anything: two
/// occurrences of one id at one position differ only through their context (in a causal decoder not at
/// all when their prefixes agree), and at initialisation that rarely flips a unit, so their identical
/// codes would make K singular. Only the first occurrence of each (id, position) pair is therefore
/// eligible. K is built exactly (one 0/1 GEMM, integers) and log|det K| is
/// Σ log λ over the eigenvalues of the symmetric PSD matrix K (LAPACK `dsyevd`, Double). Eigenvalues
/// below N·λ_max·2⁻⁵² count as zero: a singular K (e.g. two tokens with identical codes) scores −∞, as
/// `slogdet` of a singular matrix. No gradients (`Autograd.noGrad`).
public struct NASWOTProxy: Proxy {
    public var maxTokens: Int

    public init(maxTokens: Int = 256) { self.maxTokens = maxTokens }

    public var name: String { "naswot" }
    public var needsGradients: Bool { false }

    public func score(_ context: ProxyContext) throws -> Double {
        guard maxTokens >= 1 else { throw ProxyError.invalidOption(proxy: name, message: "maxTokens = \(maxTokens) must be ≥ 1") }
        let tokens = context.realTokenIndices(limit: maxTokens, distinctIdAndPosition: true).map { Int32($0) }
        guard !tokens.isEmpty else { throw ProxyError.unusableContext("NASWOT needs at least one real token") }
        let codes: Tensor = Autograd.noGrad {
            let out = context.inferenceOutput
            let parts = out.layers.map { r -> Tensor in
                let d = r.preActivation.shape.last!
                let z = r.preActivation.reshaped([-1, d]).gather(rows: tokens)
                return Tensor(shape: z.shape, scalars: z.scalars.map { $0 > 0 ? 1 : 0 })
            }
            return Tensor.concat(parts, axis: 1)
        }
        let n = tokens.count
        return NASWOTProxy.logAbsDeterminant(NASWOTProxy.kernel(codes: codes), n: n)
    }

    /// K = c·cᵀ + (1 − c)·(1 − c)ᵀ for binary codes c [N, D] (0/1 values), row-major N × N, exact:
    /// K_ab = D − |c_a| − |c_b| + 2 c_a·c_b from one GEMM of 0/1 values (exact in Float up to D = 2²⁴).
    public static func kernel(codes c: Tensor) -> [Double] {
        precondition(c.rank == 2, "NASWOTProxy.kernel: codes must be [N, D], got \(c.shape)")
        let n = c.shape[0], d = c.shape[1]
        let (gram, ones): ([Float], [Float]) = Autograd.noGrad {
            (c.matmul(c, transposeB: true).scalars, c.sum(axes: [1]).scalars)
        }
        var k = [Double](repeating: 0, count: n * n)
        for a in 0..<n {
            for b in 0..<n {
                k[a * n + b] = Double(d) - Double(ones[a]) - Double(ones[b]) + 2 * Double(gram[a * n + b])
            }
        }
        return k
    }

    /// log |det K| of a symmetric positive semi-definite n × n matrix (row-major): Σ log λ_i over its
    /// eigenvalues (`dsyevd`); −∞ when an eigenvalue is at most n·λ_max·2⁻⁵² (singular).
    public static func logAbsDeterminant(_ k: [Double], n: Int) -> Double {
        let lambda = Linalg.symmetricEigenvalues(k, n: n)
        guard let top = lambda.last, top > 0 else { return -.infinity }
        let floor = Double(n) * top * Double.ulpOfOne
        var s = 0.0
        for l in lambda {
            if l <= floor { return -.infinity }
            s += Foundation.log(l)
        }
        return s
    }
}
