import NASModels

/// Anything `swiftnas rank` can score an architecture with: a zero-shot proxy (reads the untrained
/// model and the batch of a `ProxyContext`), or a plain function of the architecture (an analytic
/// count, or a score computed elsewhere, e.g. a trained supernet's objective). Larger is meant to be
/// better; a score may be non-finite (the ranking drops that pair).
public struct RankingScorer {
    public enum Kind {
        case proxy(Proxy)
        case architecture((Architecture) throws -> Double)
    }

    /// The column name in the report.
    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// A proxy under its registry name.
    public static func proxy(_ proxy: Proxy) -> RankingScorer { RankingScorer(name: proxy.name, kind: .proxy(proxy)) }

    /// A function of the architecture alone.
    public static func architecture(_ name: String, _ score: @escaping (Architecture) throws -> Double) -> RankingScorer {
        RankingScorer(name: name, kind: .architecture(score))
    }

    /// The score of `context.architecture` (a function scorer never builds the context's model).
    public func score(_ context: ProxyContext) throws -> Double {
        switch kind {
        case .proxy(let p): return try p.score(context)
        case .architecture(let f): return try f(context.architecture)
        }
    }
}
