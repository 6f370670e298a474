import Foundation
import NASTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The safetensors format (https://github.com/huggingface/safetensors):
//
//   [ N: UInt64, little-endian ][ N bytes: UTF-8 JSON header ][ data section ]
//
// The header is one JSON object. Each member but `__metadata__` describes a tensor:
//   "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// with `begin..<end` a byte range relative to the start of the data section, values little-endian,
// row-major. `__metadata__` (optional) maps strings to strings. The header may end in spaces (writers
// pad it so the data section starts 8-byte aligned). Ranges must tile the data section exactly: no
// overlap, no gap, no trailing bytes (the reference implementation's rule).

/// The element types of the safetensors format, named as in the header.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8E5M2 = "F8_E5M2", f8E4M3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case i64 = "I64", u64 = "U64", f64 = "F64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .i64, .u64, .f64: return 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f8E5M2, .f8E4M3, .f16, .bf16, .f32, .f64: return true
        default: return false
        }
    }
}

/// Why a safetensors file cannot be read or written. Every message names the file, and the tensor
/// when one is concerned, and says what was expected.
public enum SafeTensorsError: Error, Equatable, LocalizedError, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case fileTooShort(path: String, size: Int)
    case headerLengthOutOfRange(path: String, headerLength: UInt64, fileSize: Int)
    case headerNotUTF8(path: String)
    case headerNotJSON(path: String, reason: String)
    case headerNotObject(path: String, found: String)
    case invalidMetadata(path: String, reason: String)
    case entryNotObject(path: String, tensor: String, found: String)
    case missingField(path: String, tensor: String, field: String)
    case wrongFieldType(path: String, tensor: String, field: String, expected: String, found: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case invalidShape(path: String, tensor: String, reason: String)
    case invalidDataOffsets(path: String, tensor: String, reason: String)
    case sizeMismatch(path: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    case rangeOutsideData(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case overlappingRanges(path: String, tensor: String, other: String)
    case gapInData(path: String, tensor: String, begin: Int, expectedBegin: Int)
    case trailingData(path: String, dataEnd: Int, dataSize: Int)
    case tensorNotFound(path: String, tensor: String)
    case invalidTensorName(path: String, tensor: String, reason: String)
    case writeFailed(path: String, reason: String)

    /// The file concerned.
    public var path: String {
        switch self {
        case .cannotOpen(let p, _), .fileTooShort(let p, _), .headerLengthOutOfRange(let p, _, _),
             .headerNotUTF8(let p), .headerNotJSON(let p, _), .headerNotObject(let p, _),
             .invalidMetadata(let p, _), .entryNotObject(let p, _, _), .missingField(let p, _, _),
             .wrongFieldType(let p, _, _, _, _), .unknownDType(let p, _, _), .invalidShape(let p, _, _),
             .invalidDataOffsets(let p, _, _), .sizeMismatch(let p, _, _, _, _, _),
             .rangeOutsideData(let p, _, _, _, _), .overlappingRanges(let p, _, _), .gapInData(let p, _, _, _),
             .trailingData(let p, _, _), .tensorNotFound(let p, _), .invalidTensorName(let p, _, _),
             .writeFailed(let p, _):
            return p
        }
    }

    /// The tensor concerned, when the failure is about one.
    public var tensor: String? {
        switch self {
        case .entryNotObject(_, let t, _), .missingField(_, let t, _), .wrongFieldType(_, let t, _, _, _),
             .unknownDType(_, let t, _), .invalidShape(_, let t, _), .invalidDataOffsets(_, let t, _),
             .sizeMismatch(_, let t, _, _, _, _), .rangeOutsideData(_, let t, _, _, _),
             .overlappingRanges(_, let t, _), .gapInData(_, let t, _, _), .tensorNotFound(_, let t),
             .invalidTensorName(_, let t, _):
            return t
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .cannotOpen(p, reason):
            return "safetensors \(p): cannot open: \(reason)"
        case let .fileTooShort(p, size):
            return "safetensors \(p): file is \(size) bytes, expected at least 8 (the header length)"
        case let .headerLengthOutOfRange(p, n, size):
            return "safetensors \(p): header length \(n) does not fit: expected at most "
                + "\(min(size - 8, SafeTensorsFile.maxHeaderLength)) (file is \(size) bytes, limit "
                + "\(SafeTensorsFile.maxHeaderLength))"
        case let .headerNotUTF8(p):
            return "safetensors \(p): header is not valid UTF-8, expected a UTF-8 JSON object"
        case let .headerNotJSON(p, reason):
            return "safetensors \(p): header is not valid JSON (\(reason)), expected a JSON object"
        case let .headerNotObject(p, found):
            return "safetensors \(p): header is a JSON \(found), expected a JSON object"
        case let .invalidMetadata(p, reason):
            return "safetensors \(p): __metadata__ \(reason), expected an object of string values"
        case let .entryNotObject(p, t, found):
            return "safetensors \(p): tensor \"\(t)\": entry is a JSON \(found), expected an object "
                + "with dtype, shape and data_offsets"
        case let .missingField(p, t, field):
            return "safetensors \(p): tensor \"\(t)\": missing field \"\(field)\""
        case let .wrongFieldType(p, t, field, expected, found):
            return "safetensors \(p): tensor \"\(t)\": field \"\(field)\" is a JSON \(found), expected \(expected)"
        case let .unknownDType(p, t, dtype):
            return "safetensors \(p): tensor \"\(t)\": unknown dtype \"\(dtype)\", expected one of "
                + SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
        case let .invalidShape(p, t, reason):
            return "safetensors \(p): tensor \"\(t)\": invalid shape: \(reason)"
        case let .invalidDataOffsets(p, t, reason):
            return "safetensors \(p): tensor \"\(t)\": invalid data_offsets: \(reason)"
        case let .sizeMismatch(p, t, dtype, shape, expected, actual):
            return "safetensors \(p): tensor \"\(t)\": shape \(shape) of \(dtype) needs \(expected) bytes, "
                + "but data_offsets span \(actual)"
        case let .rangeOutsideData(p, t, begin, end, dataSize):
            return "safetensors \(p): tensor \"\(t)\": data_offsets [\(begin), \(end)] reach past the data "
                + "section, expected end <= \(dataSize)"
        case let .overlappingRanges(p, t, other):
            return "safetensors \(p): tensor \"\(t)\": data range overlaps that of tensor \"\(other)\""
        case let .gapInData(p, t, begin, expected):
            return "safetensors \(p): tensor \"\(t)\": data starts at \(begin), expected \(expected) "
                + "(bytes \(expected)..<\(begin) of the data section belong to no tensor)"
        case let .trailingData(p, end, size):
            return "safetensors \(p): tensors end at data byte \(end) but the data section holds \(size) "
                + "bytes, expected no trailing bytes"
        case let .tensorNotFound(p, t):
            return "safetensors \(p): no tensor named \"\(t)\""
        case let .invalidTensorName(p, t, reason):
            return "safetensors \(p): tensor \"\(t)\": \(reason)"
        case let .writeFailed(p, reason):
            return "safetensors \(p): write failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// A read-only memory mapping of a whole file (unmapped when the last reader goes away).
private final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int

    init(base: UnsafeRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}

/// A safetensors file opened for reading: memory-mapped, its header parsed and fully validated on
/// open (dtypes, shapes, byte ranges tiling the data section), tensors decoded on demand.
///
/// `tensor(_:)` gives a Float32 `Tensor` for every dtype: F32 is copied, F16/BF16/F8/F64 converted
/// (F64 rounds), and integer/BOOL data converted to the nearest Float (exact up to 2^24; use
/// `info(_:)` to see the stored dtype). Bytes are little-endian as the format prescribes.
/// The file must not be truncated by another process while it is open (that is a SIGBUS, as for any
/// mapping).
public struct SafeTensorsFile: Sendable {
    /// Where a tensor's data lies and how to read it.
    public struct TensorInfo: Equatable, Sendable {
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let dataOffsets: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Headers longer than this are refused (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    public let url: URL
    /// The tensor names, sorted.
    public let names: [String]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    private let entries: [String: TensorInfo]
    private let mapping: MappedFile
    private let dataStart: Int

    /// Maps and validates the file; throws `SafeTensorsError` for anything malformed.
    public init(contentsOf url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: AtomicFile.errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: AtomicFile.errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafeTensorsError.fileTooShort(path: path, size: size) }
        guard let raw = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              raw != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "mmap failed: \(AtomicFile.errnoText())")
        }
        let mapping = MappedFile(base: UnsafeRawPointer(raw), size: size)
        self.mapping = mapping

        let headerLength = UInt64(littleEndian: mapping.base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(size - 8), headerLength <= UInt64(SafeTensorsFile.maxHeaderLength) else {
            throw SafeTensorsError.headerLengthOutOfRange(path: path, headerLength: headerLength, fileSize: size)
        }
        let n = Int(headerLength)
        dataStart = 8 + n
        let dataSize = size - dataStart
        let headerBytes = UnsafeBufferPointer(start: mapping.base.assumingMemoryBound(to: UInt8.self) + 8, count: n)
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw SafeTensorsError.headerNotUTF8(path: path)
        }
        let header: JSONValue
        do {
            header = try JSONValue(parsing: headerBytes)
        } catch {
            throw SafeTensorsError.headerNotJSON(path: path, reason: "\(error)")
        }
        guard case .object(let members) = header else {
            throw SafeTensorsError.headerNotObject(path: path, found: header.typeName)
        }

        var metadata: [String: String] = [:]
        if let meta = members["__metadata__"] {
            guard case .object(let pairs) = meta else {
                throw SafeTensorsError.invalidMetadata(path: path, reason: "is a JSON \(meta.typeName)")
            }
            for (key, value) in pairs {
                guard case .string(let s) = value else {
                    throw SafeTensorsError.invalidMetadata(path: path,
                                                           reason: "value of \"\(key)\" is a JSON \(value.typeName)")
                }
                metadata[key] = s
            }
        }
        self.metadata = metadata

        var entries: [String: TensorInfo] = [:]
        let names = members.keys.filter { $0 != "__metadata__" }.sorted()
        for name in names {
            guard let entry = members[name] else { continue }
            entries[name] = try SafeTensorsFile.validateEntry(entry, name: name, path: path, dataSize: dataSize)
        }
        try SafeTensorsFile.checkTiling(entries, path: path, dataSize: dataSize)
        self.names = names
        self.entries = entries
    }

    /// One header entry checked on its own: fields, dtype, shape, range size and bounds.
    private static func validateEntry(_ entry: JSONValue, name: String, path: String,
                                      dataSize: Int) throws -> TensorInfo {
        guard case .object(let fields) = entry else {
            throw SafeTensorsError.entryNotObject(path: path, tensor: name, found: entry.typeName)
        }
        for field in ["dtype", "shape", "data_offsets"] where fields[field] == nil {
            throw SafeTensorsError.missingField(path: path, tensor: name, field: field)
        }
        guard case .string(let dtypeName) = fields["dtype"] else {
            throw SafeTensorsError.wrongFieldType(path: path, tensor: name, field: "dtype", expected: "a string",
                                                  found: fields["dtype"]?.typeName ?? "null")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard case .array(let dims) = fields["shape"] else {
            throw SafeTensorsError.wrongFieldType(path: path, tensor: name, field: "shape",
                                                  expected: "an array of non-negative integers",
                                                  found: fields["shape"]?.typeName ?? "null")
        }
        var shape: [Int] = []
        for (i, dim) in dims.enumerated() {
            guard case .int(let d) = dim else {
                throw SafeTensorsError.invalidShape(path: path, tensor: name,
                                                    reason: "dimension \(i) is a JSON \(dim.typeName), expected a non-negative integer")
            }
            guard d >= 0 else {
                throw SafeTensorsError.invalidShape(path: path, tensor: name,
                                                    reason: "dimension \(i) is \(d), expected a non-negative integer")
            }
            shape.append(d)
        }
        guard case .array(let offsets) = fields["data_offsets"] else {
            throw SafeTensorsError.wrongFieldType(path: path, tensor: name, field: "data_offsets",
                                                  expected: "an array [begin, end] of two integers",
                                                  found: fields["data_offsets"]?.typeName ?? "null")
        }
        guard offsets.count == 2, case .int(let begin) = offsets[0], case .int(let end) = offsets[1] else {
            throw SafeTensorsError.invalidDataOffsets(path: path, tensor: name,
                                                      reason: "expected an array [begin, end] of two integers")
        }
        guard begin >= 0, end >= 0 else {
            throw SafeTensorsError.invalidDataOffsets(path: path, tensor: name,
                                                      reason: "[\(begin), \(end)], expected non-negative offsets")
        }
        guard end >= begin else {
            throw SafeTensorsError.invalidDataOffsets(path: path, tensor: name,
                                                      reason: "[\(begin), \(end)], expected end >= begin")
        }
        // The element count must fit in Int even with a zero dimension, so that `Tensor` can form it
        // (its strides multiply the non-zero dimensions).
        var nonZeroProduct = 1
        for d in shape where d != 0 {
            let (p, overflow) = nonZeroProduct.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw SafeTensorsError.invalidShape(path: path, tensor: name,
                                                    reason: "\(shape) has too many elements")
            }
            nonZeroProduct = p
        }
        let count = shape.contains(0) ? 0 : nonZeroProduct
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw SafeTensorsError.invalidShape(path: path, tensor: name, reason: "\(shape) has too many elements")
        }
        guard bytes == end - begin else {
            throw SafeTensorsError.sizeMismatch(path: path, tensor: name, dtype: dtype.rawValue, shape: shape,
                                                expectedBytes: bytes, actualBytes: end - begin)
        }
        guard end <= dataSize else {
            throw SafeTensorsError.rangeOutsideData(path: path, tensor: name, begin: begin, end: end,
                                                    dataSize: dataSize)
        }
        return TensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// The ranges must tile the data section: sorted by begin, each starts where the previous ended.
    private static func checkTiling(_ entries: [String: TensorInfo], path: String, dataSize: Int) throws {
        let ordered = entries.sorted {
            ($0.value.dataOffsets.lowerBound, $0.value.dataOffsets.upperBound, $0.key)
                < ($1.value.dataOffsets.lowerBound, $1.value.dataOffsets.upperBound, $1.key)
        }
        var position = 0
        var previous: String?
        for (name, info) in ordered {
            let r = info.dataOffsets
            if r.lowerBound < position, let previous {
                throw SafeTensorsError.overlappingRanges(path: path, tensor: name, other: previous)
            }
            if r.lowerBound > position {
                throw SafeTensorsError.gapInData(path: path, tensor: name, begin: r.lowerBound, expectedBegin: position)
            }
            if !r.isEmpty || previous == nil {
                position = r.upperBound
                previous = name
            }
        }
        if position != dataSize {
            throw SafeTensorsError.trailingData(path: path, dataEnd: position, dataSize: dataSize)
        }
    }

    // MARK: - Access

    /// The dtype, shape and byte range of a tensor, or nil when the file has no such tensor.
    public func info(_ name: String) -> TensorInfo? { entries[name] }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The stored bytes of a tensor (little-endian, row-major), without conversion.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let info = entries[name] else {
            throw SafeTensorsError.tensorNotFound(path: url.path, tensor: name)
        }
        let start = mapping.base + dataStart + info.dataOffsets.lowerBound
        return try body(UnsafeRawBufferPointer(start: start, count: info.dataOffsets.count))
    }

    /// A tensor's values as a Float32 `Tensor` (converted from the stored dtype; see the type's doc).
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = entries[name] else {
            throw SafeTensorsError.tensorNotFound(path: url.path, tensor: name)
        }
        let src = mapping.base + dataStart + info.dataOffsets.lowerBound
        let count = info.count
        var t = Tensor(zeros: info.shape)
        guard count > 0 else { return t }
        t.withMutableBuffer { dst in
            guard let d = dst.baseAddress else { return }
            SafeTensorsFile.convert(info.dtype, from: src, to: d, count: count)
        }
        return t
    }

    /// Every tensor, by name.
    public func tensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in names { out[name] = try tensor(name) }
        return out
    }

    private static func convert(_ dtype: SafeTensorsDType, from src: UnsafeRawPointer,
                                to dst: UnsafeMutablePointer<Float>, count: Int) {
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            T(littleEndian: src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        switch dtype {
        case .f32:
            #if _endian(little)
            memcpy(dst, src, count * 4)
            #else
            for i in 0..<count { dst[i] = Float(bitPattern: load(i, UInt32.self)) }
            #endif
        case .f64:
            for i in 0..<count { dst[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case .f16:
            for i in 0..<count { dst[i] = halfToFloat(load(i, UInt16.self)) }
        case .bf16:
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(load(i, UInt16.self)) << 16) }
        case .f8E5M2:
            for i in 0..<count { dst[i] = halfToFloat(UInt16(load(i, UInt8.self)) << 8) }
        case .f8E4M3:
            for i in 0..<count { dst[i] = e4m3ToFloat(load(i, UInt8.self)) }
        case .bool, .u8:
            for i in 0..<count { dst[i] = Float(load(i, UInt8.self)) }
        case .i8:
            for i in 0..<count { dst[i] = Float(load(i, Int8.self)) }
        case .i16:
            for i in 0..<count { dst[i] = Float(load(i, Int16.self)) }
        case .u16:
            for i in 0..<count { dst[i] = Float(load(i, UInt16.self)) }
        case .i32:
            for i in 0..<count { dst[i] = Float(load(i, Int32.self)) }
        case .u32:
            for i in 0..<count { dst[i] = Float(load(i, UInt32.self)) }
        case .i64:
            for i in 0..<count { dst[i] = Float(load(i, Int64.self)) }
        case .u64:
            for i in 0..<count { dst[i] = Float(load(i, UInt64.self)) }
        }
    }

    /// IEEE binary16 → binary32 (exact; NaN payloads kept).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24  // zero or subnormal
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// OCP FP8 E4M3 ("FN": no infinities, S.1111.111 is NaN) → binary32.
    static func e4m3ToFloat(_ b: UInt8) -> Float {
        let sign = UInt32(b & 0x80) << 24
        let exponent = UInt32(b >> 3) & 0xF
        let mantissa = UInt32(b & 0x7)
        if exponent == 0xF && mantissa == 0x7 { return Float(bitPattern: sign | 0x7FC0_0000) }
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-9
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        return Float(bitPattern: sign | (exponent + 120) << 23 | mantissa << 20)
    }

    // MARK: - Writing

    /// One tensor to write: its name, dtype, shape and little-endian bytes (row-major).
    public struct Entry {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        let byteCount: Int
        let bytes: (inout AtomicFile.Writer) throws -> Void

        /// A tensor as F32 (written straight from its storage).
        public static func f32(_ name: String, _ tensor: Tensor) -> Entry {
            let c = tensor.detached().contiguous()
            return Entry(name: name, dtype: .f32, shape: c.shape, byteCount: c.count * 4) { out in
                guard c.count > 0 else { return }
                #if _endian(little)
                try out.write(UnsafeRawBufferPointer(start: c.basePointer, count: c.count * 4))
                #else
                try c.scalars.map { $0.bitPattern.littleEndian }.withUnsafeBytes { try out.write($0) }
                #endif
            }
        }

        /// Values stored as I8.
        public static func i8(_ name: String, _ values: [Int8], shape: [Int]) -> Entry {
            precondition(values.count == shape.reduce(1, *), "SafeTensors entry \(name): \(values.count) values for shape \(shape)")
            return Entry(name: name, dtype: .i8, shape: shape, byteCount: values.count) { out in
                try values.withUnsafeBytes { try out.write($0) }
            }
        }

        /// Bytes stored as U8.
        public static func u8(_ name: String, _ values: [UInt8], shape: [Int]) -> Entry {
            precondition(values.count == shape.reduce(1, *), "SafeTensors entry \(name): \(values.count) values for shape \(shape)")
            return Entry(name: name, dtype: .u8, shape: shape, byteCount: values.count) { out in
                try values.withUnsafeBytes { try out.write($0) }
            }
        }

        /// bf16 bit patterns stored as BF16.
        public static func bf16(_ name: String, _ bits: UnsafeBufferPointer<UInt16>, shape: [Int], owner: AnyObject) -> Entry {
            precondition(bits.count == shape.reduce(1, *), "SafeTensors entry \(name): \(bits.count) values for shape \(shape)")
            return Entry(name: name, dtype: .bf16, shape: shape, byteCount: bits.count * 2) { out in
                #if _endian(little)
                try withExtendedLifetime(owner) { try out.write(UnsafeRawBufferPointer(bits)) }
                #else
                try bits.map { $0.littleEndian }.withUnsafeBytes { try out.write($0) }
                #endif
            }
        }
    }

    /// Writes tensors as F32 in the given order (see the `Entry` overload).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws {
        try write(tensors.map { Entry.f32($0.name, $0.tensor) }, metadata: metadata, to: url)
    }

    /// Writes entries in the given order (header entries and data in that order), with optional
    /// `__metadata__`. The header is padded with spaces to a multiple of 8 bytes, so the data section
    /// starts 8-byte aligned. The file appears atomically (temporary file + rename).
    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to url: URL) throws {
        let path = url.path
        var seen = Set<String>()
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { "\(JSONValue.quoted($0)):\(JSONValue.quoted(metadata[$0] ?? ""))" }
                .joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        for entry in entries {
            let name = entry.name
            guard name != "__metadata__" else {
                throw SafeTensorsError.invalidTensorName(path: path, tensor: name,
                                                         reason: "the name is reserved for the metadata map")
            }
            guard seen.insert(name).inserted else {
                throw SafeTensorsError.invalidTensorName(path: path, tensor: name,
                                                         reason: "the name appears twice, expected unique names")
            }
            header += (first ? "" : ",") + JSONValue.quoted(name)
                + ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(entry.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offset),\(offset + entry.byteCount)]}"
            first = false
            offset += entry.byteCount
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        do {
            try AtomicFile.write(to: url) { out in
                var length = UInt64(headerBytes.count).littleEndian
                try withUnsafeBytes(of: &length) { try out.write($0) }
                try out.write(headerBytes)
                for entry in entries where entry.byteCount > 0 { try entry.bytes(&out) }
            }
        } catch let failure as AtomicFile.Failure {
            throw SafeTensorsError.writeFailed(path: path, reason: failure.reason)
        }
    }

    /// Writes tensors as F32 sorted by name (see the ordered overload).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try write(tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, metadata: metadata, to: url)
    }
}
