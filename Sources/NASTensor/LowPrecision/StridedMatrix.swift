/// A read-only matrix of `rows × cols` elements with element (i, j) at `base[i·rowStride + j·colStride]`:
/// how the low-precision GEMMs take their operands, so leading slices (`W[:out, :in]` with the parent's
/// row stride) and transposed views need no copy.
public struct StridedMatrix<Element> {
    public var base: UnsafePointer<Element>
    public var rows: Int, cols: Int
    public var rowStride: Int, colStride: Int

    public init(_ base: UnsafePointer<Element>, rows: Int, cols: Int, rowStride: Int, colStride: Int = 1) {
        precondition(rows >= 0 && cols >= 0, "StridedMatrix: negative size \(rows) × \(cols)")
        self.base = base
        self.rows = rows
        self.cols = cols
        self.rowStride = rowStride
        self.colStride = colStride
    }

    /// The transpose: the same memory with the strides swapped.
    public var transposed: StridedMatrix {
        StridedMatrix(base, rows: cols, cols: rows, rowStride: colStride, colStride: rowStride)
    }

    /// Rows `lo..<hi`.
    func rows(_ lo: Int, _ hi: Int) -> StridedMatrix {
        StridedMatrix(base + lo * rowStride, rows: hi - lo, cols: cols, rowStride: rowStride, colStride: colStride)
    }

    /// Columns `lo..<hi`.
    func cols(_ lo: Int, _ hi: Int) -> StridedMatrix {
        StridedMatrix(base + lo * colStride, rows: rows, cols: hi - lo, rowStride: rowStride, colStride: colStride)
    }
}
