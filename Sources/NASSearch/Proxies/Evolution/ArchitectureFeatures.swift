import Foundation
import NASModels
import NASTensor

/// The per-layer features of an untrained architecture that evolved architecture proxies read (the leaves of a
/// `ProxyGenotype` for ranking), measured once per architecture on a `ProxyContext` — summaries, never raw
/// activations, so a whole benchmark's features fit in one small file:
///
/// - `pca` [1, L]: k_l, the principal components of layer l's FFN pre-activations explaining more than η of their
///   variance (`PCAProxy`); `spectrum-entropy` [1, L]: the entropy −Σ p_i log p_i of that spectrum, p = λ / Σλ;
/// - `activation-rms` [1, L]: the root mean square of layer l's output;
/// - `attention-entropy` [1, L]: the mean entropy of the attention rows (0 for a layer without attention);
/// - `grad-norm` [1, L]: ‖∂L/∂θ_l‖ of the LM loss over the block's parameters (one backward pass);
/// - `ffn`, `heads` [1, L] and `params`, `flops`, `depth` (numbers): the architecture's counts.
public enum ArchitectureFeatures {
    public static let leafNames = ["pca", "spectrum-entropy", "activation-rms", "attention-entropy", "grad-norm",
                                   "ffn", "heads", "params", "flops", "depth"]

    public static func measure(_ context: ProxyContext, eta: Double = 0.99) throws -> [String: ProxyValue] {
        let arch = context.architecture
        var pca: [Double] = [], entropy: [Double] = [], rms: [Double] = [], attention: [Double] = []
        try Autograd.noGrad {
            let out = context.inferenceOutput
            let tokens = context.realTokenIndices()
            guard tokens.count >= 2 else { throw ProxyError.unusableContext("features need at least 2 real tokens, got \(tokens.count)") }
            for (l, r) in out.layers.enumerated() {
                let d = r.preActivation.shape.last!
                let x = r.preActivation.reshaped([-1, d]).gather(rows: tokens.map { Int32($0) })
                let eigenvalues = Linalg.symmetricEigenvalues(PCAProxy.covariance(of: x)).map { max(Double($0), 0) }
                pca.append(Double(PCAProxy.componentCount(eigenvalues: eigenvalues, eta: eta)))
                let total = eigenvalues.reduce(0, +)
                entropy.append(total > 0 ? -eigenvalues.reduce(0.0) { $0 + ($1 > 0 ? $1 / total * log($1 / total) : 0) } : 0)
                let h = out.hiddenStates[l + 1].contiguous().scalars
                rms.append((h.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(h.count, 1))).squareRoot())
                if let p = r.attention?.probabilities.contiguous().scalars, let t = r.attention?.probabilities.shape.last, t > 0 {
                    var sum = 0.0
                    for v in p where v > 0 { sum -= Double(v) * log(Double(v)) }
                    attention.append(sum / Double(p.count / t))
                } else { attention.append(0) }
            }
        }
        context.zeroGrad()
        guard let loss = context.loss() else { throw ProxyError.unusableContext("no predicted token for the gradient features") }
        loss.backward()
        let gradients = context.model.blocks.prefix(arch.layers.count).map { block in
            block.parameters.reduce(0.0) { sum, p in sum + (p.grad?.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } ?? 0) }.squareRoot()
        }
        context.zeroGrad()
        return ["pca": ProxyValue(vector: pca), "spectrum-entropy": ProxyValue(vector: entropy), "activation-rms": ProxyValue(vector: rms),
                "attention-entropy": ProxyValue(vector: attention), "grad-norm": ProxyValue(vector: gradients),
                "ffn": ProxyValue(vector: arch.layers.map { Double($0.ffn) }), "heads": ProxyValue(vector: arch.layers.map { Double($0.heads) }),
                "params": ProxyValue(Double(arch.parameterCount)), "flops": ProxyValue(Double(arch.flops(sequenceLength: context.batch.length))),
                "depth": ProxyValue(Double(arch.layers.count))]
    }
}

/// An evolved architecture proxy (`proxy evolve --ranking`) as a `Proxy` that `rank` and `search` use by the name
/// `evolved:FILE`: the genotype over `ArchitectureFeatures`.
public struct EvolvedProxy: Proxy {
    public var genotype: ProxyGenotype
    public var eta: Double
    public init(genotype: ProxyGenotype, eta: Double = 0.99) { (self.genotype, self.eta) = (genotype, eta) }

    public var name: String { "evolved" }
    public var needsGradients: Bool { true }

    public func score(_ context: ProxyContext) throws -> Double {
        guard let s = genotype.evaluate(try ArchitectureFeatures.measure(context, eta: eta)) else {
            throw ProxyError.unusableContext("the evolved proxy \(genotype) is not defined on \(context.architecture.layers.count) layers")
        }
        return s
    }

    /// What `proxy evolve --ranking` writes: the genotype and η under `genotype` and `eta` (other fields ignored).
    struct File: Decodable { var genotype: ProxyGenotype; var eta: Double }

    /// The proxy stored in a `proxy evolve --ranking` file.
    public static func load(_ url: URL) throws -> EvolvedProxy {
        let file = try JSONFile.read(File.self, from: url)
        return EvolvedProxy(genotype: file.genotype, eta: file.eta)
    }
}
