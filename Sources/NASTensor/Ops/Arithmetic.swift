import CKernels

// Broadcasting add, subtract, multiply, divide; scalar forms. Each with its backward.

extension Tensor {
    /// c = a ∘ b elementwise with broadcasting (no graph).
    static func binaryKernel(_ op: nk_binop, _ a: Tensor, _ b: Tensor, name: String) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : Broadcast.shape(a.shape, b.shape, op: name)
        let out = Tensor(uninitializedShape: shape)
        if out.count == 0 { return out }
        let pa = a.basePointer, pb = b.basePointer, pc = out.storage.pointer
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            Engine.parallelFor(out.count) { r in
                nk_binary(op, pa + r.lowerBound, 1, pb + r.lowerBound, 1, pc + r.lowerBound, r.count)
            }
            return out
        }
        StridedLoop.rows(shape: shape, strides: [Broadcast.strides(a, to: shape), Broadcast.strides(b, to: shape),
                                                 out.strides]) { o, n, s in
            if s[2] == 1 {
                nk_binary(op, pa + o[0], s[0], pb + o[1], s[1], pc + o[2], n)
            } else {
                for i in 0..<n { pc[o[2] + i * s[2]] = Tensor.apply(op, pa[o[0] + i * s[0]], pb[o[1] + i * s[1]]) }
            }
        }
        return out
    }

    @inline(__always) static func apply(_ op: nk_binop, _ x: Float, _ y: Float) -> Float {
        switch op {
        case NK_ADD: return x + y
        case NK_SUB: return x - y
        case NK_MUL: return x * y
        default: return x / y
        }
    }

    /// self += g for gradient accumulation (no graph): in place when self is the only owner of a
    /// contiguous storage of the same shape, otherwise by a new tensor.
    mutating func accumulate(_ g: Tensor) {
        if shape == g.shape && isContiguous && offset == 0 && isKnownUniquelyReferenced(&storage) {
            let p = storage.pointer
            if g.isContiguous {
                let q = g.basePointer
                Engine.parallelFor(count) { r in nk_accumulate(q + r.lowerBound, 1, p + r.lowerBound, 1, r.count) }
            } else {
                StridedLoop.accumulate(g, into: p, strides: strides)
            }
            node = nil
            return
        }
        self = Tensor.binaryKernel(NK_ADD, self, g, name: "add")
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        var out = binaryKernel(NK_ADD, a, b, name: "add")
        if let parents = Autograd.parents(a, b) {
            let sa = a.shape, sb = b.shape
            out.node = Node(parents, op: "add") { g, n in
                [n.needs(0) ? g.sum(toShape: sa) : nil, n.needs(1) ? g.sum(toShape: sb) : nil]
            }
        }
        return out
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        var out = binaryKernel(NK_SUB, a, b, name: "sub")
        if let parents = Autograd.parents(a, b) {
            let sa = a.shape, sb = b.shape
            out.node = Node(parents, op: "sub") { g, n in
                [n.needs(0) ? g.sum(toShape: sa) : nil, n.needs(1) ? (-g).sum(toShape: sb) : nil]
            }
        }
        return out
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        var out = binaryKernel(NK_MUL, a, b, name: "mul")
        if let parents = Autograd.parents(a, b) {
            let av = a.detached(), bv = b.detached()
            out.node = Node(parents, op: "mul") { g, n in
                [n.needs(0) ? binaryKernel(NK_MUL, g, bv, name: "mul").sum(toShape: av.shape) : nil,
                 n.needs(1) ? binaryKernel(NK_MUL, g, av, name: "mul").sum(toShape: bv.shape) : nil]
            }
        }
        return out
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        var out = binaryKernel(NK_DIV, a, b, name: "div")
        if let parents = Autograd.parents(a, b) {
            let av = a.detached(), bv = b.detached(), q = out.detached()
            out.node = Node(parents, op: "div") { g, n in
                // d(a/b)/da = 1/b ; d(a/b)/db = -a/b² = -(a/b)/b
                let gb = binaryKernel(NK_DIV, g, bv, name: "div")
                return [n.needs(0) ? gb.sum(toShape: av.shape) : nil,
                        n.needs(1) ? (-binaryKernel(NK_MUL, gb, q, name: "mul")).sum(toShape: bv.shape) : nil]
            }
        }
        return out
    }

    /// y = a·x + b elementwise (scalar affine map).
    public func affine(scale a: Float, shift b: Float) -> Tensor {
        let x = contiguous().detached()
        defer { withExtendedLifetime(x) {} }
        let out = Tensor(uninitializedShape: shape)
        let p = x.basePointer, q = out.storage.pointer
        Engine.parallelFor(count) { r in nk_affine(p + r.lowerBound, a, b, q + r.lowerBound, r.count) }
        var result = out
        if let parents = Autograd.parents(self) {
            result.node = Node(parents, op: "affine") { g, _ in [g.affine(scale: a, shift: 0)] }
        }
        return result
    }

    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    /// s / a elementwise.
    public static func / (s: Float, a: Tensor) -> Tensor { a.reciprocal() * s }
}
