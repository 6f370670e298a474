/// Signed b-bit codes (2 ≤ b ≤ 8) packed row by row, the storage of a low-bit quantized weight (`QuantizedCheckpoint`):
/// a code q ∈ −L…L, L = 2^{b−1} − 1, is the unsigned field q + L ∈ 0…2L of b bits. Field j of a row occupies bits
/// j·b … j·b + b − 1 of the row's bit stream, and stream bit k is bit k mod 8 of the row's byte ⌊k / 8⌋ (little-endian
/// order); every row starts on a byte, so a [rows, cols] matrix takes [rows, ⌈cols·b / 8⌉] bytes.
enum PackedCodes {
    static func bytesPerRow(cols: Int, bits: Int) -> Int { (cols * bits + 7) / 8 }

    /// Packs `values` ([rows, cols] row-major, each in ±(2^{b−1} − 1)).
    static func pack(_ values: [Int8], rows: Int, cols: Int, bits: Int) -> [UInt8] {
        precondition(values.count == rows * cols && (2...8).contains(bits), "PackedCodes: \(values.count) values for [\(rows), \(cols)] at \(bits) bits")
        let width = bytesPerRow(cols: cols, bits: bits), offset = (1 << (bits - 1)) - 1
        var bytes = [UInt8](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for c in 0..<cols {
                let field = Int(values[r * cols + c]) + offset
                precondition(field >= 0 && field <= 2 * offset, "PackedCodes: value \(values[r * cols + c]) outside ±\(offset)")
                for k in 0..<bits where field >> k & 1 == 1 {
                    let bit = c * bits + k
                    bytes[r * width + bit / 8] |= 1 << UInt8(bit % 8)
                }
            }
        }
        return bytes
    }

    /// The codes of `bytes` ([rows, ⌈cols·b / 8⌉]), or the index (r·cols + c) of the first field above 2L, which no code
    /// packs to.
    static func unpack(_ bytes: UnsafeRawBufferPointer, rows: Int, cols: Int, bits: Int) -> Result<[Int8], FieldOutOfRange> {
        let width = bytesPerRow(cols: cols, bits: bits), offset = (1 << (bits - 1)) - 1
        precondition(bytes.count == rows * width, "PackedCodes: \(bytes.count) bytes for [\(rows), \(cols)] at \(bits) bits")
        var values = [Int8](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                var field = 0
                for k in 0..<bits {
                    let bit = c * bits + k
                    field |= Int(bytes[r * width + bit / 8] >> UInt8(bit % 8) & 1) << k
                }
                guard field <= 2 * offset else { return .failure(FieldOutOfRange(index: r * cols + c, field: field)) }
                values[r * cols + c] = Int8(field - offset)
            }
        }
        return .success(values)
    }

    struct FieldOutOfRange: Error {
        var index: Int
        var field: Int
    }
}
