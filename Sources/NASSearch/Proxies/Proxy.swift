import Foundation
import NASModels

/// A zero-shot (training-free) proxy: a number computed from an untrained network that is meant to rank
/// architectures the way their trained accuracy would.
///
/// Every proxy reads one `ProxyContext` (the randomly initialised model of exactly the candidate's
/// architecture, a fixed batch of real text, a seed and the LM loss) and returns one score; larger is
/// meant to be better. A score may be non-finite (`NaN` when undefined, `-inf` for a singular kernel):
/// the ranking code drops such pairs. Scores are deterministic for a given context (seed, batch,
/// architecture) and engine thread count. `Proxies.named(_:)` maps the command-line names to types.
public protocol Proxy {
    /// The registry name (`w-pca`, `snip`, …).
    var name: String { get }
    /// Whether scoring runs a backward pass (costs a recorded graph).
    var needsGradients: Bool { get }
    func score(_ context: ProxyContext) throws -> Double
}

public enum ProxyError: Error, CustomStringConvertible, Equatable {
    /// `Proxies.named` was given a name it does not know.
    case unknownName(String, valid: [String])
    /// A proxy option is out of range.
    case invalidOption(proxy: String, message: String)
    /// The context cannot be scored (e.g. a batch with too few real tokens).
    case unusableContext(String)

    public var description: String {
        switch self {
        case .unknownName(let name, let valid):
            return "unknown proxy '\(name)'; valid names: \(valid.joined(separator: ", "))"
        case .invalidOption(let proxy, let message):
            return "proxy \(proxy): \(message)"
        case .unusableContext(let message):
            return "proxy context: \(message)"
        }
    }
}

/// The registry of proxies by name.
public enum Proxies {
    /// Every registered name, in a stable order.
    public static let names: [String] = [
        "w-pca", "pca", "params", "flops", "synflow", "snip", "grad-norm", "grasp", "fisher",
        "jacob-cov", "naswot", "zen", "head-confidence", "nonembedding-params",
    ]

    /// The proxy called `name` with its default options, or `evolved:FILE` (an `EvolvedProxy` stored by `proxy evolve
    /// --ranking`); an unknown name throws `ProxyError.unknownName` listing the valid ones.
    public static func named(_ name: String) throws -> Proxy {
        if name.hasPrefix("evolved:") { return try EvolvedProxy.load(URL(fileURLWithPath: String(name.dropFirst("evolved:".count)))) }
        switch name {
        case "w-pca": return WPCAProxy()
        case "pca": return PCAProxy()
        case "params": return ParameterCountProxy()
        case "flops": return FLOPsProxy()
        case "synflow": return SynFlowProxy()
        case "snip": return SNIPProxy()
        case "grad-norm": return GradNormProxy()
        case "grasp": return GraSPProxy()
        case "fisher": return FisherProxy()
        case "jacob-cov": return JacobianCovarianceProxy()
        case "naswot": return NASWOTProxy()
        case "zen": return ZenProxy()
        case "head-confidence": return HeadConfidenceProxy()
        case "nonembedding-params": return NonEmbeddingParameterCountProxy()
        default: throw ProxyError.unknownName(name, valid: names + ["evolved:FILE"])
        }
    }
}
