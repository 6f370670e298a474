import CKernels

/// bfloat16: the upper 16 bits of an IEEE-754 binary32 (8 exponent bits, 7 stored mantissa bits), so it
/// has fp32's range with about 3 significant decimal digits.
///
/// fp32 → bf16 rounds to nearest, ties to even (as Intel's `VCVTNEPS2BF16`; Kalamkar et al. 2019, "A
/// Study of BFLOAT16 for Deep Learning Training", arXiv:1905.12322); ±inf stays ±inf, NaN stays a quiet
/// NaN, finite values beyond the largest bf16 round to ±inf. bf16 → fp32 is exact.
public enum BF16 {
    /// The bf16 bit pattern nearest to `x` (ties to even).
    public static func round(_ x: Float) -> UInt16 {
        var x = x, y: UInt16 = 0
        nk_f32_to_bf16(&x, 1, &y, 1)
        return y
    }

    /// The fp32 value of a bf16 bit pattern (exact).
    public static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// `x` rounded to the nearest bf16, as fp32.
    public static func rounded(_ x: Float) -> Float { float(round(x)) }

    /// Rounds `count` values read at `source[i·stride]` into `destination` (vectorised C kernel).
    public static func convert(_ source: UnsafePointer<Float>, stride: Int = 1, into destination: UnsafeMutablePointer<UInt16>, count: Int) {
        nk_f32_to_bf16(source, stride, destination, count)
    }
}

/// A row-major bf16 matrix that owns its storage: a weight rounded once and reused by every
/// `matmulBF16` call, or an operand rounded for one call.
public final class BF16Matrix {
    public let rows: Int, cols: Int
    public let storage: UnsafeMutablePointer<UInt16>

    /// An uninitialised rows × cols matrix.
    public init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "BF16Matrix: negative size \(rows) × \(cols)")
        self.rows = rows
        self.cols = cols
        storage = LargeBufferCache.allocate(Swift.max(1, rows * cols) * 2).bindMemory(to: UInt16.self, capacity: Swift.max(1, rows * cols))
    }

    /// `source` rounded to bf16 (ties to even), row-major; rows are converted in parallel.
    public convenience init(rounding source: StridedMatrix<Float>) {
        self.init(rows: source.rows, cols: source.cols)
        let p = storage, cols = source.cols
        Engine.parallelFor(source.rows, costPerItem: cols) { r in
            for i in r {
                nk_f32_to_bf16(source.base + i * source.rowStride, source.colStride, p + i * cols, cols)
            }
        }
    }

    /// A 2-D tensor (any strides: a leading slice or a transposed view) rounded to bf16.
    public convenience init(rounding tensor: Tensor) {
        precondition(tensor.rank == 2, "BF16Matrix: needs a 2-D tensor, got shape \(tensor.shape)")
        self.init(rounding: StridedMatrix(tensor.basePointer, rows: tensor.shape[0], cols: tensor.shape[1],
                                          rowStride: tensor.strides[0], colStride: tensor.strides[1]))
        withExtendedLifetime(tensor) {}
    }

    deinit { LargeBufferCache.release(UnsafeMutableRawPointer(storage), Swift.max(1, rows * cols) * 2) }

    /// The matrix as a strided operand (row stride `cols`).
    public var matrix: StridedMatrix<UInt16> { StridedMatrix(UnsafePointer(storage), rows: rows, cols: cols, rowStride: cols) }

    /// The values as an fp32 tensor (exact).
    public func tensor() -> Tensor {
        let t = Tensor(uninitializedShape: [rows, cols])
        nk_bf16_to_f32(storage, t.storage.pointer, rows * cols)
        return t
    }
}
