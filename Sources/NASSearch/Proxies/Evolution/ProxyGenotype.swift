import NASTensor

/// An evolved proxy (EMQ, Dong et al., ICCV 2023: a proxy as a small computation graph over a network's statistics):
///
///     score(sample) = reduce( binary( u_k ∘ … ∘ u_1 (leaf_a),  v_m ∘ … ∘ v_1 (leaf_b) ) )
///
/// two leaves named by the caller (EMQ's unit statistics: weights, activations, gradients, Hessian, Fisher; an
/// architecture's per-layer features), each through a chain of at most `maxChain` unary ops (`ProxyUnary`), joined
/// by one binary op (`ProxyBinary`) and reduced to one number (`ProxyReduction`). Codable: the genotype is stored
/// with a result and read back as a named proxy.
public struct ProxyGenotype: Codable, Hashable, Sendable, CustomStringConvertible {
    public var leaves: [String]
    public var chains: [[ProxyUnary]]
    public var binary: ProxyBinary
    public var reduction: ProxyReduction

    public static let maxChain = 3

    public init(leaves: [String], chains: [[ProxyUnary]], binary: ProxyBinary, reduction: ProxyReduction) {
        precondition(leaves.count == 2 && chains.count == 2, "ProxyGenotype: two branches")
        (self.leaves, self.chains, self.binary, self.reduction) = (leaves, chains, binary, reduction)
    }

    /// The formula, innermost op first: `mean(square(gradients) * abs(weights))`.
    public var description: String {
        let branches = (0..<2).map { i in chains[i].reduce(leaves[i]) { "\($1.rawValue)(\($0))" } }
        return "\(reduction.rawValue)(\(branches[0]) \(binary.symbol) \(branches[1]))"
    }

    /// The score of one sample (its leaves by name), nil when a leaf is missing, a shape does not fit or a value is
    /// not finite.
    public func evaluate(_ leafValues: [String: ProxyValue]) -> Double? {
        var sides: [ProxyValue] = []
        for i in 0..<2 {
            guard var v = leafValues[leaves[i]] else { return nil }
            for op in chains[i] {
                guard let next = op.apply(v) else { return nil }
                v = next
            }
            sides.append(v)
        }
        return binary.apply(sides[0], sides[1]).flatMap(reduction.apply)
    }

    /// A uniform random genotype over `leafNames`: chains of 0…maxChain ops.
    public static func random(leafNames: [String], using rng: inout RandomGenerator) -> ProxyGenotype {
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let chains = (0..<2).map { _ in (0..<Int(rng.next() % UInt64(maxChain + 1))).map { _ in pick(ProxyUnary.allCases) } }
        return ProxyGenotype(leaves: [pick(leafNames), pick(leafNames)], chains: chains, binary: pick(ProxyBinary.allCases),
                             reduction: pick(ProxyReduction.allCases))
    }

    /// One random change: a leaf, a unary op replaced, inserted or removed, the binary op or the reduction.
    public func mutated(leafNames: [String], using rng: inout RandomGenerator) -> ProxyGenotype {
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        var g = self
        let side = Int(rng.next() % 2)
        switch rng.next() % 5 {
        case 0: g.leaves[side] = pick(leafNames)
        case 1:
            if g.chains[side].isEmpty { g.chains[side] = [pick(ProxyUnary.allCases)] }
            else { g.chains[side][Int(rng.next() % UInt64(g.chains[side].count))] = pick(ProxyUnary.allCases) }
        case 2:
            if g.chains[side].count < ProxyGenotype.maxChain {
                g.chains[side].insert(pick(ProxyUnary.allCases), at: Int(rng.next() % UInt64(g.chains[side].count + 1)))
            } else { g.chains[side].removeLast() }
        case 3: g.binary = pick(ProxyBinary.allCases)
        default: g.reduction = pick(ProxyReduction.allCases)
        }
        return g
    }

    /// A child taking each branch (leaf and chain) from either parent, and the binary op and reduction from either.
    public static func crossover(_ a: ProxyGenotype, _ b: ProxyGenotype, using rng: inout RandomGenerator) -> ProxyGenotype {
        var g = a
        for i in 0..<2 where rng.next() & 1 == 1 { (g.leaves[i], g.chains[i]) = (b.leaves[i], b.chains[i]) }
        if rng.next() & 1 == 1 { g.binary = b.binary }
        if rng.next() & 1 == 1 { g.reduction = b.reduction }
        return g
    }
}
