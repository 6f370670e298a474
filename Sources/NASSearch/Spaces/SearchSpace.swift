import NASModels
import NASTensor

/// A genome: one choice index per gene of a `SearchSpace` (`space.genes`). Inactive genes (the layers
/// beyond the chosen depth) are kept, so that mutation and crossover can bring them back, as in
/// AutoTinyBERT's and HAT's encodings.
public typealias Genome = [Int]

/// A search space as data: the choices of every architecture dimension, and the operators a search
/// strategy needs — `sample`, `mutate`, `stepMutate`, `crossover` — plus `decode` (genome → architecture),
/// `encode` (architecture → genome, nil outside the space) and `vector` (a genome as numbers in [0, 1]).
///
/// Networks have `depth` layers of one hidden width; each layer takes its choices from the layer genes:
/// either a whole `block` (W-PCA's space) or any of `operation`, `heads`, `qkv`, `ffn` or `ffnRatio`
/// (FFN width = ratio × hidden), `ffnCount` (dense FFN layers, FlexiBERT's `num_feed_forward`) and
/// `ffnStackWidth` (the width of the stacked layers after the first, FlexiBERT's `feed_forward_dimension`;
/// default: the first layer's width). With `layers == .shared` one set of layer genes serves every layer (homogeneous,
/// AutoTinyBERT); with `.perLayer` each layer slot has its own (heterogeneous, FlexiBERT, TangleNAS).
/// When `qkv` is not a gene it equals the layer's width (hidden, or its bottleneck).
///
/// Heads must divide qkv: every operator repairs a genome whose heads do not by taking the choice of
/// heads nearest (by index, lower on ties) that divides it. `validate()` checks that such a choice
/// always exists.
public struct SearchSpace: Equatable, Sendable {
    public enum LayerGenes: String, Sendable { case shared, perLayer = "per-layer" }

    /// One whole-layer template (W-PCA's 12 blocks). `qkv` nil: the block's width.
    public struct Block: Equatable, Sendable {
        public var heads: Int
        public var qkv: Int?
        public var ffn: Int
        public var bottleneck: Int?
        public var operation: Architecture.Operation
        public init(heads: Int, qkv: Int? = nil, ffn: Int, bottleneck: Int? = nil, operation: Architecture.Operation = .sdp) {
            self.heads = heads; self.qkv = qkv; self.ffn = ffn; self.bottleneck = bottleneck; self.operation = operation
        }
    }

    public var name: String
    public var family: Architecture.Family
    public var vocabSize: Int
    public var maxPositions: Int
    /// Factorised embedding width (fixed; nil, or equal to the sampled hidden size: no factorisation).
    public var embeddingSize: Int?
    public var activation: Architecture.Activation?
    public var depth: [Int]
    public var hidden: [Int]
    public var layers: LayerGenes
    public var blocks: [Block]?
    public var operation: [Architecture.Operation]?
    public var heads: [Int]?
    public var qkv: [Int]?
    public var ffn: [Int]?
    public var ffnRatio: [Int]?
    public var ffnCount: [Int]?
    public var ffnStackWidth: [Int]?

    public init(name: String, family: Architecture.Family, vocabSize: Int, maxPositions: Int, embeddingSize: Int? = nil,
                activation: Architecture.Activation? = nil, depth: [Int], hidden: [Int], layers: LayerGenes,
                blocks: [Block]? = nil, operation: [Architecture.Operation]? = nil, heads: [Int]? = nil, qkv: [Int]? = nil,
                ffn: [Int]? = nil, ffnRatio: [Int]? = nil, ffnCount: [Int]? = nil, ffnStackWidth: [Int]? = nil) {
        self.name = name; self.family = family; self.vocabSize = vocabSize; self.maxPositions = maxPositions
        self.embeddingSize = embeddingSize; self.activation = activation; self.depth = depth; self.hidden = hidden
        self.layers = layers; self.blocks = blocks; self.operation = operation; self.heads = heads; self.qkv = qkv
        self.ffn = ffn; self.ffnRatio = ffnRatio; self.ffnCount = ffnCount; self.ffnStackWidth = ffnStackWidth
    }

    // MARK: - Genes

    /// The per-layer gene kinds present, in genome order.
    enum LayerGene: String, CaseIterable { case block, operation, heads, qkv, ffn, ffnRatio, ffnCount, ffnStackWidth }

    var layerGenes: [LayerGene] {
        LayerGene.allCases.filter { choiceCount($0) != nil }
    }

    func choiceCount(_ gene: LayerGene) -> Int? {
        switch gene {
        case .block: return blocks?.count
        case .operation: return operation?.count
        case .heads: return heads?.count
        case .qkv: return qkv?.count
        case .ffn: return ffn?.count
        case .ffnRatio: return ffnRatio?.count
        case .ffnCount: return ffnCount?.count
        case .ffnStackWidth: return ffnStackWidth?.count
        }
    }

    public var maxDepth: Int { depth.max() ?? 0 }

    /// The widest first FFN layer of any member (W-PCA's covariance is D × D with D this wide).
    public var maxFFN: Int {
        max(ffn?.max() ?? 0, (ffnRatio?.max() ?? 0) * (hidden.max() ?? 0), blocks?.map(\.ffn).max() ?? 0)
    }
    var slots: Int { layers == .shared ? 1 : maxDepth }

    /// Every gene: its name (`depth`, `hidden`, `layers[3].heads` or `layer.heads` when shared) and
    /// number of choices, in genome order.
    public var genes: [(name: String, choices: Int)] {
        var out = [("depth", depth.count), ("hidden", hidden.count)]
        for slot in 0..<slots {
            let prefix = layers == .shared ? "layer." : "layers[\(slot)]."
            for g in layerGenes { out.append((prefix + g.rawValue, choiceCount(g)!)) }
        }
        return out
    }

    /// The number of distinct genomes (an upper bound on distinct architectures), as a Double.
    public var size: Double { genes.reduce(1.0) { $0 * Double($1.choices) } }

    func geneIndex(slot: Int, _ gene: LayerGene) -> Int {
        2 + slot * layerGenes.count + layerGenes.firstIndex(of: gene)!
    }

    // MARK: - Decoding

    /// The architecture a genome stands for.
    public func decode(_ genome: Genome) -> Architecture {
        precondition(genome.count == genes.count, "SearchSpace \(name): genome of \(genome.count) genes, expected \(genes.count)")
        let d = depth[genome[0]], h = hidden[genome[1]]
        let layerList = (0..<d).map { i -> Architecture.Layer in
            let slot = layers == .shared ? 0 : i
            func pick<T>(_ gene: LayerGene, _ values: [T]?) -> T? { values.map { $0[genome[geneIndex(slot: slot, gene)]] } }
            if let block = pick(.block, blocks) {
                return Architecture.Layer(heads: block.heads, qkv: block.qkv ?? block.bottleneck ?? h, ffn: block.ffn,
                                          operation: block.operation, bottleneck: block.bottleneck)
            }
            let f = pick(.ffn, ffn) ?? (pick(.ffnRatio, ffnRatio) ?? 4) * h
            let count = pick(.ffnCount, ffnCount) ?? 1
            return Architecture.Layer(heads: pick(.heads, heads) ?? 1, qkv: pick(.qkv, qkv) ?? h, ffn: f,
                                      operation: pick(.operation, operation) ?? .sdp,
                                      ffnStack: Array(repeating: pick(.ffnStackWidth, ffnStackWidth) ?? f, count: count - 1))
        }
        return Architecture(family: family, vocabSize: vocabSize, maxPositions: maxPositions, hidden: h,
                            embeddingSize: embeddingSize == h ? nil : embeddingSize, layers: layerList, activation: activation)
    }

    /// The genome of `arch` (inactive layer genes at their first choice), or nil when `arch` is not in the space.
    public func encode(_ arch: Architecture) -> Genome? {
        guard arch.family == family, arch.vocabSize == vocabSize, arch.maxPositions == maxPositions,
              activation == nil || arch.activation == activation,
              let d = depth.firstIndex(of: arch.depth), let h = hidden.firstIndex(of: arch.hidden) else { return nil }
        var genome = [Int](repeating: 0, count: genes.count)
        genome[0] = d; genome[1] = h
        let h0 = arch.hidden
        for (i, layer) in arch.layers.enumerated() where layers == .perLayer || i == 0 {
            for gene in layerGenes {
                let index: Int?
                switch gene {
                case .block: index = blocks!.firstIndex { b in
                    b.heads == layer.heads && (b.qkv ?? b.bottleneck ?? h0) == layer.qkv && b.ffn == layer.ffn
                        && b.bottleneck == layer.bottleneck && b.operation == layer.operation }
                case .operation: index = operation!.firstIndex(of: layer.operation)
                case .heads: index = heads!.firstIndex(of: layer.heads)
                case .qkv: index = qkv!.firstIndex(of: layer.qkv)
                case .ffn: index = ffn!.firstIndex(of: layer.ffn)
                case .ffnRatio: index = layer.ffn % h0 == 0 ? ffnRatio!.firstIndex(of: layer.ffn / h0) : nil
                case .ffnCount: index = ffnCount!.firstIndex(of: layer.ffnStack.count + 1)
                // Without stacked layers the gene is inactive: its first choice.
                case .ffnStackWidth: index = layer.ffnStack.first.map { ffnStackWidth!.firstIndex(of: $0) } ?? 0
                }
                guard let index else { return nil }
                genome[geneIndex(slot: i, gene)] = index
            }
        }
        // Whatever the genes do not hold (shared layers differing, fixed fields) shows up here.
        return decode(genome) == arch && repaired(genome) == genome ? genome : nil
    }

    /// The genome as numbers in [0, 1] (choice index / (choices − 1); 0 for single-choice genes).
    public func vector(_ genome: Genome) -> [Double] {
        zip(genome, genes).map { g, gene in gene.choices > 1 ? Double(g) / Double(gene.choices - 1) : 0 }
    }

    /// Whether `genome` has the right length, every index in range, and repaired heads.
    public func contains(_ genome: Genome) -> Bool {
        genome.count == genes.count && zip(genome, genes).allSatisfy { $0 >= 0 && $0 < $1.choices } && repaired(genome) == genome
    }

    /// The operations a supernet of this space holds in every layer, when its layers choose among
    /// several (nil otherwise); WMA is sized for the fewest heads a member may use.
    public var operationChoices: OperationChoices? {
        guard let operation, operation.count > 1 else { return nil }
        return OperationChoices(operations: operation, fewestHeads: heads?.min() ?? 1)
    }

    // MARK: - Extremes

    /// The largest member: every gene at its choice of the largest value (for `block` and `operation`
    /// genes, the choice whose layer has the most parameters). A weight-entangled supernet is built at
    /// this architecture, and the sandwich rule trains it every step (BigNAS).
    public var largest: Architecture { decode(extreme(largest: true)) }

    /// The smallest member: every gene at its choice of the smallest value (fewest parameters for
    /// `block` and `operation` genes).
    public var smallest: Architecture { decode(extreme(largest: false)) }

    /// The genome of `largest` (or `smallest`), repaired so that heads divide qkv.
    public func extreme(largest: Bool) -> Genome {
        func pick(_ values: [Int]) -> Int {
            let order = values.indices.sorted { (values[$0], $0) < (values[$1], $1) }
            return largest ? order.last! : order.first!
        }
        var genome = [Int](repeating: 0, count: genes.count)
        genome[0] = pick(depth); genome[1] = pick(hidden)
        let h = hidden[genome[1]]
        // A block or an operation is measured by the parameters of one layer built with it at width h.
        func layerSize(_ layer: Architecture.Layer) -> Int {
            Architecture(family: family, vocabSize: 1, maxPositions: 1, typeVocabSize: 0, hidden: h, layers: [layer]).parameterCount
        }
        for slot in 0..<slots {
            for gene in layerGenes {
                let k = geneIndex(slot: slot, gene)
                switch gene {
                case .block:
                    genome[k] = pick(blocks!.map { b in
                        layerSize(.init(heads: b.heads, qkv: b.qkv ?? b.bottleneck ?? h, ffn: b.ffn, operation: b.operation,
                                        bottleneck: b.bottleneck))
                    })
                case .operation:
                    genome[k] = pick(operation!.map { layerSize(.init(heads: heads?.max() ?? 1, qkv: qkv?.max() ?? h, ffn: 1, operation: $0)) })
                case .heads: genome[k] = pick(heads!)
                case .qkv: genome[k] = pick(qkv!)
                case .ffn: genome[k] = pick(ffn!)
                case .ffnRatio: genome[k] = pick(ffnRatio!)
                case .ffnCount: genome[k] = pick(ffnCount!)
                case .ffnStackWidth: genome[k] = pick(ffnStackWidth!)
                }
            }
        }
        return repaired(genome)
    }

    // MARK: - Operators

    /// Every gene uniformly at random, then repaired.
    public func sample(using rng: inout RandomGenerator) -> Genome {
        repaired(genes.map { Int(rng.next() % UInt64($0.choices)) })
    }

    /// Each gene, with probability `probability`, resampled to a different choice (W-PCA's GA: p = 0.1).
    public func mutate(_ genome: Genome, probability: Double, using rng: inout RandomGenerator) -> Genome {
        var g = genome
        for (k, gene) in genes.enumerated() where gene.choices > 1 && rng.uniform() < Float(probability) {
            g[k] = (g[k] + 1 + Int(rng.next() % UInt64(gene.choices - 1))) % gene.choices
        }
        return repaired(g)
    }

    /// Each gene, with probability `probability`, moved one choice up or down (AutoTinyBERT's step mutation;
    /// at an end of the range it moves inward).
    public func stepMutate(_ genome: Genome, probability: Double, using rng: inout RandomGenerator) -> Genome {
        var g = genome
        for (k, gene) in genes.enumerated() where gene.choices > 1 && rng.uniform() < Float(probability) {
            let up = rng.next() & 1 == 0
            g[k] = g[k] == 0 ? 1 : g[k] == gene.choices - 1 ? g[k] - 1 : g[k] + (up ? 1 : -1)
        }
        return repaired(g)
    }

    /// Uniform crossover: each gene from `a` or `b` with probability ½.
    public func crossover(_ a: Genome, _ b: Genome, using rng: inout RandomGenerator) -> Genome {
        repaired(zip(a, b).map { x, y in rng.next() & 1 == 0 ? x : y })
    }

    /// `genome` with every layer slot's heads set, if needed, to the nearest choice that divides its qkv.
    public func repaired(_ genome: Genome) -> Genome {
        guard let heads, layerGenes.contains(.heads) else { return genome }
        var g = genome
        let h = hidden[g[1]]
        for slot in 0..<slots {
            let width = qkv.map { $0[g[geneIndex(slot: slot, .qkv)]] } ?? h
            let k = geneIndex(slot: slot, .heads)
            if width % heads[g[k]] == 0 { continue }
            let valid = heads.indices.filter { width % heads[$0] == 0 }
            if let nearest = valid.min(by: { (abs($0 - g[k]), $0) < (abs($1 - g[k]), $1) }) { g[k] = nearest }
        }
        return g
    }
}
