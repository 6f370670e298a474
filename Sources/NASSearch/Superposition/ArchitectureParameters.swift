import NASModels
import NASTensor

/// The architecture parameters of gradient-based search on a weight-entangled space (TangleNAS;
/// Sukthanker et al., "Weight-Entanglement Meets Gradient-Based Neural Architecture Search", AutoML 2024):
/// one logit vector α per searchable dimension, initialised 1e-3·N(0, 1) as DARTS does — the depth, the
/// hidden (embedding) width, and per layer slot the head count, the qkv width (when it is a gene of its
/// own; otherwise it is the hidden width) and the FFN width (absolute, or a ratio of the hidden width).
/// A space with `.shared` layers has one slot for all layers, `.perLayer` one per layer of the largest
/// depth. Dimensions with a single choice carry no α (their weight is the constant [1]).
public final class ArchitectureParameters {
    /// A searchable dimension.
    public enum Dimension: Hashable, Sendable, CustomStringConvertible {
        case depth, hidden
        case heads(slot: Int), qkv(slot: Int), ffn(slot: Int)

        public var description: String {
            switch self {
            case .depth: return "depth"
            case .hidden: return "hidden"
            case .heads(let s): return "layer.\(s).heads"
            case .qkv(let s): return "layer.\(s).qkv"
            case .ffn(let s): return "layer.\(s).ffn"
            }
        }
    }

    public let space: SearchSpace
    /// The choices of each dimension, ascending (FFN: the gene's values — widths, or ratios when `ffnIsRatio`).
    public let depths: [Int], hiddens: [Int], heads: [Int], qkvs: [Int]?, ffns: [Int]
    public let ffnIsRatio: Bool
    /// Layer slots: 1 for shared layers, the largest depth for per-layer genes.
    public let slots: Int
    /// α of every dimension with at least two choices.
    public let alphas: [Dimension: Parameter]

    /// α for `space`; fails for spaces gradient search cannot superpose (whole-block, operation or
    /// stacked-FFN genes, factorised embeddings, or a qkv width some head count does not divide).
    public init(space: SearchSpace, rng: inout RandomGenerator) throws {
        func refuse(_ message: String) -> SupernetError { SupernetError(field: "space \(space.name)", message: message) }
        guard space.blocks == nil, (space.operation ?? [.sdp]) == [.sdp], space.ffnCount == nil, space.ffnStackWidth == nil,
              space.embeddingSize == nil || space.hidden == [space.embeddingSize!] else {
            throw refuse("gradient search superposes depth, hidden, heads, qkv and FFN widths of SDP layers; this space has "
                + "block, operation, stacked-FFN or factorised-embedding genes")
        }
        self.space = space
        depths = space.depth.sorted(); hiddens = space.hidden.sorted()
        heads = (space.heads ?? [1]).sorted(); qkvs = space.qkv?.sorted()
        ffnIsRatio = space.ffn == nil
        ffns = (space.ffn ?? space.ffnRatio ?? [4]).sorted()
        slots = space.layers == .shared ? 1 : depths.last!
        for q in qkvs ?? hiddens {
            if let h = heads.first(where: { q % $0 != 0 }) {
                throw refuse("\(h) heads do not divide the qkv width \(q); superposition runs every (qkv, heads) pair")
            }
        }
        var alphas: [Dimension: Parameter] = [:]
        func add(_ d: Dimension, _ n: Int) {
            guard n > 1 else { return }
            alphas[d] = Parameter(Tensor.randomNormal([n], std: 1e-3, using: &rng), name: "alpha.\(d)")
        }
        add(.depth, depths.count); add(.hidden, hiddens.count)
        for s in 0..<slots {
            add(.heads(slot: s), heads.count); add(.qkv(slot: s), qkvs?.count ?? 1); add(.ffn(slot: s), ffns.count)
        }
        self.alphas = alphas
    }

    /// Every dimension in a fixed order (depth, hidden, then per slot heads, qkv, FFN).
    public var dimensions: [Dimension] {
        [.depth, .hidden] + (0..<slots).flatMap { [Dimension.heads(slot: $0), .qkv(slot: $0), .ffn(slot: $0)] }
    }

    /// The α parameters in `dimensions` order (what the architecture optimizer updates).
    public var parameters: [Parameter] { dimensions.compactMap { alphas[$0] } }

    /// The number of choices of a dimension.
    public func count(_ d: Dimension) -> Int {
        switch d {
        case .depth: return depths.count
        case .hidden: return hiddens.count
        case .heads: return heads.count
        case .qkv: return qkvs?.count ?? 1
        case .ffn: return ffns.count
        }
    }

    /// The slot of layer `l`.
    public func slot(ofLayer l: Int) -> Int { slots == 1 ? 0 : l }

    /// The FFN width of FFN choice `k` at hidden width `e`.
    public func ffnWidth(_ k: Int, hidden e: Int) -> Int { ffnIsRatio ? ffns[k] * e : ffns[k] }

    /// The architecture that takes choice `pick(d)` in every dimension (index into its choices).
    public func architecture(_ pick: (Dimension) -> Int) -> Architecture {
        var arch = space.largest
        let e = hiddens[pick(.hidden)]
        arch.hidden = e
        arch.layers = (0..<depths[pick(.depth)]).map { l in
            let s = slot(ofLayer: l)
            return Architecture.Layer(heads: heads[pick(.heads(slot: s))], qkv: qkvs.map { $0[pick(.qkv(slot: s))] } ?? e,
                                      ffn: ffnWidth(pick(.ffn(slot: s)), hidden: e))
        }
        return arch
    }

    /// E_w[#parameters] under the product distribution of the weights, differentiable in w:
    /// Σₑ wₑ·base(e) + Σ_l P(depth > l)·Σ_{e,q,f} wₑ·w_q·w_f·layer(e, q, f), with base(e) and layer(e, q, f)
    /// read off `Architecture.parameterCount` (a network's count is additive over its layers; heads add none).
    public func expectedParameters(_ w: MixingWeights) -> Tensor {
        let wE = w[.hidden], active = Superposition.mask(w[.depth], widths: depths, size: depths.last!)
        var total = (wE * Tensor(shape: [hiddens.count], scalars: parameterTables.base)).sum()
        for l in 0..<depths.last! {
            let s = slot(ofLayer: l), table = parameterTables.layer
            let omega = Superposition.combinations([wE, w[.qkv(slot: s)], w[.ffn(slot: s)]])
            total = total + (omega * Tensor(shape: [table.count], scalars: table)).sum() * active.slice(axis: 0, l..<(l + 1))
        }
        return total
    }

    /// base(e) per hidden width, and layer(e, q, f) over the (hidden, qkv, FFN) combinations (hidden slowest).
    private lazy var parameterTables: (base: [Float], layer: [Float]) = {
        func count(_ e: Int, _ layers: [Architecture.Layer]) -> Double {
            var arch = space.largest
            arch.hidden = e; arch.layers = layers
            return Double(arch.parameterCount)
        }
        func layer(_ e: Int, _ q: Int, _ f: Int) -> Architecture.Layer { .init(heads: 1, qkv: q, ffn: f) }
        let base = hiddens.map { e in Float(2 * count(e, [layer(e, e, e)]) - count(e, [layer(e, e, e), layer(e, e, e)])) }
        let table = hiddens.flatMap { e in (qkvs ?? [e]).flatMap { q in ffns.indices.map { k -> Float in
            let f = ffnWidth(k, hidden: e)
            return Float(count(e, [layer(e, q, f), layer(e, q, f)]) - count(e, [layer(e, q, f)]))
        } } }
        return (base, table)
    }()

    /// The choice of every dimension that gives `arch` (nil when the dimensions cannot express it: a
    /// value outside the choices, or layers that differ where the space shares one slot). Dimensions of
    /// layers past its depth take choice 0 (they do not run).
    public func choices(of arch: Architecture) -> ((Dimension) -> Int)? {
        guard let depth = depths.firstIndex(of: arch.depth), let hidden = hiddens.firstIndex(of: arch.hidden) else { return nil }
        var picks: [Dimension: Int] = [.depth: depth, .hidden: hidden]
        for (l, layer) in arch.layers.enumerated() {
            let s = slot(ofLayer: l)
            guard let h = heads.firstIndex(of: layer.heads),
                  let f = ffns.indices.first(where: { ffnWidth($0, hidden: arch.hidden) == layer.ffn }),
                  let q = qkvs.map({ $0.firstIndex(of: layer.qkv) }) ?? (layer.qkv == arch.hidden ? 0 : nil) else { return nil }
            for (d, k) in [(Dimension.heads(slot: s), h), (.ffn(slot: s), f), (.qkv(slot: s), q)] {
                if let earlier = picks[d], earlier != k { return nil }
                picks[d] = k
            }
        }
        return { picks[$0] ?? 0 }
    }

    /// The index of the largest α of dimension `d` (0 without α).
    public func argmaxChoice(_ d: Dimension) -> Int {
        alphas[d].map { a in a.value.scalars.indices.max { a.value.scalars[$0] < a.value.scalars[$1] }! } ?? 0
    }

    /// The architecture of the largest α in every dimension (the argmax selection).
    public func argmax() -> Architecture { architecture(argmaxChoice) }
}

/// One set of mixing weights w, one tensor [n] per dimension (Σw = 1; one-hot for a single sub-network),
/// as a sampler makes them from α — in the graph when they should carry gradient to α.
public struct MixingWeights {
    public var weights: [ArchitectureParameters.Dimension: Tensor]

    public init(_ weights: [ArchitectureParameters.Dimension: Tensor]) { self.weights = weights }

    /// The one-hot weights of choice `pick(d)` in every dimension of `parameters`.
    public static func oneHot(_ parameters: ArchitectureParameters, _ pick: (ArchitectureParameters.Dimension) -> Int) -> MixingWeights {
        MixingWeights(Dictionary(uniqueKeysWithValues: parameters.dimensions.map { d in
            let n = parameters.count(d), k = pick(d)
            return (d, Tensor(shape: [n], scalars: (0..<n).map { $0 == k ? 1 : 0 }))
        }))
    }

    /// The weights of every dimension with α: one-hot on the choice of a `fixed` (decided) dimension, `free(d, α)`
    /// for the others.
    public init(_ parameters: ArchitectureParameters, fixed: [ArchitectureParameters.Dimension: Int],
                free: (ArchitectureParameters.Dimension, Parameter) -> Tensor) {
        self.init(Dictionary(uniqueKeysWithValues: parameters.dimensions.compactMap { d in
            guard let alpha = parameters.alphas[d] else { return nil }
            guard let k = fixed[d] else { return (d, free(d, alpha)) }
            let n = parameters.count(d)
            return (d, Tensor(shape: [n], scalars: (0..<n).map { $0 == k ? 1 : 0 }))
        }))
    }

    /// The weights of dimension `d` ([1] when it has no choice).
    public subscript(_ d: ArchitectureParameters.Dimension) -> Tensor { weights[d] ?? Tensor(shape: [1], scalars: [1]) }
}
