/// Define-by-run reverse-mode automatic differentiation.
///
/// While recording is on, every op whose inputs carry a graph node attaches a `Node` to its output with
/// a closure that maps the output's gradient to its inputs' gradients. `Tensor.backward()` walks the
/// graph once in reverse topological order, accumulates gradients into the `Parameter`s at the leaves
/// and frees the graph as it goes. With recording off (`Autograd.noGrad`) ops build no node and no
/// closure at all.
public enum Autograd {
    nonisolated(unsafe) private static var recording = true

    /// Whether ops currently record the graph.
    public static var isRecording: Bool { recording }

    /// Runs `body` without recording (inference, proxies, optimizer updates).
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        let was = recording
        recording = false
        defer { recording = was }
        return try body()
    }

    /// Runs `body` with recording on (inside a `noGrad` scope, for example).
    public static func withGrad<T>(_ body: () throws -> T) rethrows -> T {
        let was = recording
        recording = true
        defer { recording = was }
        return try body()
    }

    /// The inputs' nodes when the op must record, or nil when it must not.
    @inline(__always)
    static func parents(_ inputs: Tensor...) -> [Node?]? { parents(inputs) }

    @inline(__always)
    static func parents(_ inputs: [Tensor]) -> [Node?]? {
        guard recording else { return nil }
        var any = false
        for t in inputs where t.node != nil { any = true }
        return any ? inputs.map { $0.node } : nil
    }
}

/// One recorded op (or a parameter leaf) of the graph.
final class Node {
    typealias Backward = (_ grad: Tensor, _ node: Node) -> [Tensor?]

    let op: String
    /// One entry per op input; nil for an input that needs no gradient.
    private(set) var parents: [Node?]
    private var backwardFn: Backward?
    /// Gradient accumulated so far during a backward pass.
    var grad: Tensor?

    /// Leaf: a view of a parameter's value; its gradient goes to the same view of `parameter.grad`.
    let parameter: Parameter?
    let leafShape: [Int], leafStrides: [Int], leafOffset: Int

    init(_ parents: [Node?], op: String, backward: @escaping Backward) {
        self.op = op
        self.parents = parents
        self.backwardFn = backward
        parameter = nil
        leafShape = []; leafStrides = []; leafOffset = 0
    }

    init(leaf parameter: Parameter, shape: [Int], strides: [Int], offset: Int) {
        op = "parameter"
        parents = []
        self.parameter = parameter
        leafShape = shape; leafStrides = strides; leafOffset = offset
    }

    /// Whether input `i` wants a gradient.
    func needs(_ i: Int) -> Bool { parents[i] != nil }

    /// For a parameter-leaf input `i`: the view of the parameter's gradient that this leaf covers
    /// (allocated as zeros on first use), so an op can accumulate into it directly, e.g. a GEMM with
    /// beta = 1 into the leading block of the parent's gradient. Nil for any other input.
    func leafGradient(_ i: Int) -> Tensor? {
        guard let p = parents[i], let param = p.parameter else { return nil }
        let g = param.gradientStorage()
        return Tensor(storage: g, shape: p.leafShape, strides: p.leafStrides, offset: p.leafOffset)
    }

    fileprivate func accumulate(_ g: Tensor) {
        if let param = parameter {
            // The first gradient of a leaf that covers the whole parameter is adopted as it is (no
            // zero-fill and add); tensors are values, so a later accumulation copies it if it is shared.
            if param.grad == nil && leafShape == param.shape && leafOffset == 0 && g.shape == param.shape
                && g.isContiguous && g.offset == 0 && g.storage.count == g.count && leafStrides == g.strides {
                param.setGrad(g.detached())
                return
            }
            let storage = param.gradientStorage()
            StridedLoop.accumulate(g, into: storage.pointer + leafOffset, strides: leafStrides)
        } else if grad == nil {
            grad = g
        } else {
            grad!.accumulate(g)
        }
    }

    fileprivate func runBackward() {
        guard let fn = backwardFn, let g = grad else { return }
        let grads = fn(g, self)
        precondition(grads.count == parents.count, "autodiff: \(op) returned \(grads.count) gradients for \(parents.count) inputs")
        for (p, pg) in zip(parents, grads) {
            if let p, let pg { p.accumulate(pg) }
        }
        // Free this part of the graph.
        backwardFn = nil
        grad = nil
        parents = []
    }
}

extension Tensor {
    /// Backpropagates from this tensor. Without `seed` the tensor must hold one value (the loss) and
    /// the seed is 1. Gradients add to the parameters' `grad` until they are zeroed. The graph is freed.
    public func backward(_ seed: Tensor? = nil) {
        guard let root = node else {
            preconditionFailure("backward(): tensor of shape \(shape) was not produced by recorded ops on parameters")
        }
        if let seed {
            precondition(seed.shape == shape, "backward(): seed shape \(seed.shape) differs from tensor shape \(shape)")
        } else {
            precondition(count == 1, "backward(): without a seed the tensor must be a scalar, got shape \(shape)")
        }
        Autograd.noGrad {
            // Iterative DFS for a reverse topological order.
            var order: [Node] = []
            var visited = Set<ObjectIdentifier>()
            var stack: [(Node, Int)] = [(root, 0)]
            visited.insert(ObjectIdentifier(root))
            while let (n, i) = stack.popLast() {
                if i < n.parents.count {
                    stack.append((n, i + 1))
                    if let p = n.parents[i], visited.insert(ObjectIdentifier(p)).inserted {
                        stack.append((p, 0))
                    }
                } else {
                    order.append(n)
                }
            }
            root.accumulate(seed?.detached() ?? Tensor(repeating: 1, shape: shape))
            for n in order.reversed() { n.runBackward() }
        }
    }
}
