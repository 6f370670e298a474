/// A trainable tensor: owns its (largest) value and its gradient.
///
/// Weight entanglement: an elastic layer asks for `leading([out, in])`, a strided view of the leading
/// block `W[:out, :in]` that shares the value's storage. Its gradient lands in the same block of
/// `grad`; the rest of `grad` is untouched.
public final class Parameter {
    public var name: String
    /// The full value, contiguous. Optimizers update it in place.
    public var value: Tensor {
        // Checked against the stored shape, not `oldValue` (reading it would keep a second reference
        // to the storage and force every in-place update to copy).
        didSet { precondition(value.shape == shape, "Parameter \(name): shape change \(shape) → \(value.shape)") }
    }
    /// The value's shape (fixed for the parameter's life).
    public let shape: [Int]
    /// Accumulated gradient (nil until the first backward that reaches this parameter, or after `zeroGrad`).
    public private(set) var grad: Tensor?
    /// Frozen parameters (e.g. a teacher's) take part in no graph.
    public var requiresGrad: Bool

    public init(_ value: Tensor, name: String = "", requiresGrad: Bool = true) {
        self.value = value.isContiguous && value.offset == 0 ? value.detached() : value.contiguousCopy()
        self.shape = value.shape
        self.name = name
        self.requiresGrad = requiresGrad
    }

    /// The whole value as a graph leaf (when recording).
    public var tensor: Tensor { leading(value.shape) }

    /// The leading block `value[:d0, :d1, …]` as a zero-copy view (a graph leaf when recording).
    public func leading(_ dims: [Int]) -> Tensor {
        precondition(dims.count == value.rank && zip(dims, value.shape).allSatisfy { $0 >= 0 && $0 <= $1 },
                     "Parameter \(name).leading: \(dims) is not a leading block of \(value.shape)")
        var t = Tensor(storage: value.storage, shape: dims, strides: value.strides, offset: 0)
        if requiresGrad && Autograd.isRecording {
            t.node = Node(leaf: self, shape: dims, strides: value.strides, offset: 0)
        }
        return t
    }

    /// The storage of `grad`, created as zeros when absent.
    func gradientStorage() -> TensorStorage {
        if grad == nil || !isKnownUniquelyReferenced(&grad!.storage) {
            grad = grad.map { $0.contiguousCopy() } ?? Tensor(zeros: value.shape)
        }
        return grad!.storage
    }

    /// Sets the gradient (e.g. after clipping). Shape must match.
    public func setGrad(_ g: Tensor?) {
        if let g { precondition(g.shape == value.shape, "Parameter \(name).setGrad: \(g.shape) vs \(value.shape)") }
        grad = g?.isContiguous == true && g?.offset == 0 ? g!.detached() : g?.contiguousCopy()
    }

    public func zeroGrad() { grad = nil }
}
