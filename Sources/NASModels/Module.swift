import NASTensor

/// A node of a model's module tree: parameters it holds itself, and named children. Parameter names are
/// dotted paths in the Hugging Face layout (`encoder.layer.0.attention.self.query.weight`), so checkpoints
/// load and export by name; module paths are the Swift attribute names (`blocks.3.intermediate`), the
/// handle for walking and updating the tree (in the spirit of mlx-swift's `children()`, `leafModules()`
/// and `update(modules:)`).
public protocol Module: AnyObject {
    /// Parameters held by this module itself (not by a child); default none.
    var ownParameters: [Parameter] { get }
    /// The child modules with their attribute names (`"blocks.0"` for an array element), in order;
    /// default none (a leaf).
    var children: [(name: String, module: any Module)] { get }
}

extension Module {
    public var ownParameters: [Parameter] { [] }
    public var children: [(name: String, module: any Module)] { [] }

    /// Every parameter of the tree: each child's in order, then this module's own (the order optimizers,
    /// checkpoints and gradient checks see).
    public var parameters: [Parameter] { children.flatMap { $0.module.parameters } + ownParameters }

    /// This module and every descendant with its dotted path ("" for `self`), depth-first, parents first.
    public func modules() -> [(path: String, module: any Module)] {
        [("", self)] + children.flatMap { child in
            child.module.modules().map { (path: $0.path.isEmpty ? child.name : child.name + "." + $0.path, module: $0.module) }
        }
    }

    /// The modules without children (Linear, LayerNorm, Embedding, parameter-free mixers), with paths.
    public func leafModules() -> [(path: String, module: any Module)] {
        modules().filter { $0.module.children.isEmpty }
    }

    /// Every `Linear` of the tree with its path.
    public func linears() -> [(path: String, linear: Linear)] {
        modules().compactMap { entry in (entry.module as? Linear).map { (entry.path, $0) } }
    }

    /// Applies `update` to every `Linear` whose (path, layer) passes `filter` — how a model's Linears are
    /// swapped to another arithmetic (fake-quantized, low precision) — and returns how many it updated.
    @discardableResult
    public func updateLinears(where filter: (String, Linear) -> Bool = { _, _ in true }, _ update: (Linear) -> Void) -> Int {
        let chosen = linears().filter { filter($0.path, $0.linear) }
        chosen.forEach { update($0.linear) }
        return chosen.count
    }

    /// Freezes (or unfreezes) every parameter of the modules whose path passes `filter` (and of their
    /// descendants; by default the whole tree): a frozen parameter
    /// takes part in no graph, so it gets no gradient and optimizers leave it as it is.
    public func freeze(_ frozen: Bool = true, where filter: (String) -> Bool = { _ in true }) {
        for entry in modules() where filter(entry.path) { entry.module.parameters.forEach { $0.requiresGrad = !frozen } }
    }

    public var namedParameters: [String: Parameter] {
        Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public var parameterElementCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Copies, for every parameter of `self`, the leading block of the same-named parameter of
    /// `source` (which must be at least as large): weight extraction from a supernet.
    public func loadLeadingSlices(from source: any Module) { loadLeadingSlices(from: source.namedParameters) }

    /// `loadLeadingSlices(from:)` with the source parameters given by the names of `self`'s.
    public func loadLeadingSlices(from src: [String: Parameter]) {
        for p in parameters {
            guard let s = src[p.name] else { preconditionFailure("loadLeadingSlices: source has no parameter \(p.name)") }
            p.value = Autograd.noGrad { s.value.leading(p.shape).contiguous() }
        }
    }
}

/// BERT initialisation: weights N(0, 0.02²), biases 0, LayerNorm γ = 1, β = 0.
enum Init {
    /// While true (`Init.$placeholders.withValue(true) { … }`), weights start at zero and draw nothing: a model built
    /// only to be overwritten by a checkpoint (every parameter, or loading fails) skips millions of normal draws.
    @TaskLocal static var placeholders = false

    static func normal(_ shape: [Int], _ name: String, std: Float = 0.02, _ rng: inout RandomGenerator) -> Parameter {
        Parameter(placeholders ? Tensor(zeros: shape) : Tensor.randomNormal(shape, std: std, using: &rng), name: name)
    }
    static func zeros(_ shape: [Int], _ name: String) -> Parameter { Parameter(Tensor(zeros: shape), name: name) }
    static func ones(_ shape: [Int], _ name: String) -> Parameter { Parameter(Tensor(repeating: 1, shape: shape), name: name) }
}
