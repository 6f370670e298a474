import CKernels
import Foundation

/// An n-dimensional Float32 array, row-major, with value semantics over shared storage.
///
/// Views (`slice`, `leading`, `permuted`, `transposed`, a `reshaped` of a contiguous tensor) share the
/// storage and differ only in shape, strides and offset. Writing through the public mutating API copies
/// the storage first when it is shared (copy on write). A tensor that an autodiff-recording op produced
/// carries its graph `node`.
public struct Tensor {
    public internal(set) var storage: TensorStorage
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int
    var node: Node?

    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int, node: Node? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.node = node
    }

    /// A new contiguous tensor with uninitialised contents (internal: every op overwrites all of it).
    init(uninitializedShape shape: [Int]) {
        let n = shape.reduce(1, *)
        self.init(storage: TensorStorage(uninitialized: n), shape: shape,
                  strides: Tensor.contiguousStrides(shape), offset: 0)
    }

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:scalars:): negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor(shape:scalars:): shape \(shape) holds \(shape.reduce(1, *)) values, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: scalars.count) }
    }

    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitializedShape: shape)
        let p = storage.pointer
        Engine.parallelFor(count) { r in nk_fill(p + r.lowerBound, value, r.count) }
    }

    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// Values drawn from N(mean, std²) with the counter-based generator (thread-count independent).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using rng: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let n = t.count, start = rng.reserve(n + (n & 1)), key = rng.key
        let p = t.storage.pointer
        Engine.parallelFor((n + 1) / 2, costPerItem: 16) { r in
            let lo = r.lowerBound * 2, hi = min(n, r.upperBound * 2)
            nk_fill_normal(p + lo, hi - lo, key, start + UInt64(lo), mean, std)
        }
        return t
    }

    /// Values drawn uniformly from [lo, hi).
    public static func randomUniform(_ shape: [Int], lo: Float = 0, hi: Float = 1,
                                     using rng: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let n = t.count, start = rng.reserve(n), key = rng.key
        let p = t.storage.pointer
        Engine.parallelFor(n, costPerItem: 4) { r in
            nk_fill_uniform(p + r.lowerBound, r.count, key, start + UInt64(r.lowerBound), lo, hi)
        }
        return t
    }

    // MARK: - Geometry

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }
    /// Whether this tensor takes part in gradient recording.
    public var requiresGrad: Bool { node != nil }
    /// Pointer to element 0 (read-only use; see `withMutableBuffer` for writes).
    public var basePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// Normalises a possibly negative axis.
    func axis(_ a: Int, _ op: String) -> Int {
        let r = a < 0 ? a + rank : a
        precondition(r >= 0 && r < Swift.max(rank, 1), "\(op): axis \(a) out of range for shape \(shape)")
        return r
    }

    // MARK: - Values

    /// The values in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return withExtendedLifetime(c) { Array(UnsafeBufferPointer(start: c.basePointer, count: c.count)) }
    }

    /// The value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item(): tensor of shape \(shape) has \(count) elements")
        return basePointer.pointee
    }

    public subscript(_ index: Int...) -> Float {
        precondition(index.count == rank, "subscript: \(index.count) indices for shape \(shape)")
        var o = offset
        for (i, v) in index.enumerated() {
            precondition(v >= 0 && v < shape[i], "subscript: index \(index) out of range for shape \(shape)")
            o += v * strides[i]
        }
        return storage.pointer[o]
    }

    /// Makes the storage unique and contiguous, then gives a mutable buffer over the values.
    /// Detaches the tensor from any autodiff graph.
    public mutating func withMutableBuffer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) || !isContiguous || offset != 0 || storage.count != count {
            self = detached().contiguousCopy()
        }
        node = nil
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// The same values with no autodiff history.
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// A contiguous copy (no graph).
    func contiguousCopy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        if count > 0 { StridedLoop.copy(from: self, to: out.storage.pointer) }
        return out
    }

    /// This tensor when already contiguous, otherwise a contiguous copy. Differentiable.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        var out = contiguousCopy()
        if let parents = Autograd.parents(self) {
            out.node = Node(parents, op: "contiguous") { g, _ in [g] }
        }
        return out
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let v = scalars.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(v)\(count > 8 ? ", …" : "")]"
    }
}
