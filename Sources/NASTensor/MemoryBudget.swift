import Foundation

/// The one resource rule. Everything a user file or flag can size (a model from a config, a search
/// space, a batch, a corpus or TSV read into memory) is estimated in bytes *before* it is allocated,
/// with saturating arithmetic (`Size`) so that an absurd number is "too much", never an overflow trap,
/// and refused when the estimate exceeds `limit`: by default 75 % of min(physical memory, the cgroup's
/// memory limit), or what `--max-memory` sets. The error names what was being sized, the field and
/// value that made it large, the estimate and the limit.
public enum MemoryBudget {
    /// Why a job is refused: `subject` (e.g. "arch.json: field 'layers[0].ffn' = 10^12") would need
    /// `bytes`, over `limit`.
    public struct Exceeded: Error, Equatable, CustomStringConvertible, LocalizedError {
        public let subject: String
        public let bytes: Int
        public let limit: Int
        public var description: String {
            "\(subject) would need \(bytes == .max ? "more memory than can be counted" : "about " + MemoryBudget.format(bytes)), "
                + "over the memory limit of \(MemoryBudget.format(limit)) (--max-memory; default 75 % of the machine's "
                + "or container's memory)"
        }
        public var errorDescription: String? { description }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var override: Int?

    /// The limit in bytes: `--max-memory` when given, else 75 % of min(physical memory, cgroup limit).
    public static var limit: Int {
        get { lock.lock(); defer { lock.unlock() }; return override ?? defaultLimit }
        set { lock.lock(); defer { lock.unlock() }; override = newValue }
    }

    /// 75 % of min(physical memory, the cgroup v2 `memory.max` or v1 `memory.limit_in_bytes`).
    public static let defaultLimit: Int = {
        var available = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes > 0 {
                available = min(available, bytes)
            }
        }
        return available / 4 * 3
    }()

    /// Throws `Exceeded` when `bytes` (an estimate) is over the limit.
    public static func require(_ bytes: Size, for subject: @autoclosure () -> String) throws {
        let limit = self.limit
        if bytes.value > limit { throw Exceeded(subject: subject(), bytes: bytes.value, limit: limit) }
    }

    /// Bytes that reading the file at `url` fully into memory takes: its size × `expansion` (the ratio of
    /// the in-memory form, e.g. a String plus its token ids, to the bytes on disk). Refuses, naming the
    /// file and its size, when that is over the limit. Missing files pass (their reader reports them).
    public static func requireFile(_ url: URL, expansion: Int, what: String) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              let size = (attributes[.size] as? NSNumber)?.intValue else { return }
        try require(Size(size) * expansion, for: "\(url.path): \(what) of \(format(size)) read into memory")
    }

    /// Parses a byte count: a number with an optional K, M, G or T suffix (powers of 1024; "MB", "MiB"
    /// also accepted), e.g. "64M", "1.5G", "2000000". Nil for anything else, zero or negative.
    public static func parse(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var digits = Substring(text.trimmingCharacters(in: .whitespaces).uppercased()), scale = 1.0
        if digits.hasSuffix("IB") { digits = digits.dropLast(2) + "B" }   // "64MiB" → "64MB"
        if digits.hasSuffix("B") { digits = digits.dropLast() }
        if let last = digits.last, let unit = units[last] { scale = unit; digits = digits.dropLast() }
        guard let number = Double(digits), number.isFinite, number > 0 else { return nil }
        let bytes = number * scale
        return bytes >= 1 && bytes < Double(Int.max) ? Int(bytes) : nil
    }

    /// "12.0 MiB", "3.5 GiB", "800 B".
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), i = 0
        while value >= 1024 && i < units.count - 1 { value /= 1024; i += 1 }
        return i == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[i])
    }
}

/// A non-negative count or byte size computed from numbers a user can choose: `+` and `*` saturate at
/// `Int.max` ("more than any budget") instead of trapping on overflow, so that sizing an absurd model or
/// range gives a clear refusal. Negative operands count as zero.
public struct Size: Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) { self.value = max(value, 0) }
    public init(integerLiteral value: Int) { self.init(value) }
    public var description: String { value == .max ? "too many to count" : "\(value)" }
    /// True when a sum or product overflowed (or reached Int.max).
    public var isSaturated: Bool { value == .max }

    public static func + (a: Size, b: Size) -> Size {
        let (r, o) = a.value.addingReportingOverflow(b.value)
        return Size(o ? .max : r)
    }
    public static func * (a: Size, b: Size) -> Size {
        let (r, o) = a.value.multipliedReportingOverflow(by: b.value)
        return Size(o ? .max : r)
    }
    public static func + (a: Size, b: Int) -> Size { a + Size(b) }
    public static func * (a: Size, b: Int) -> Size { a * Size(b) }
    public static func * (a: Int, b: Size) -> Size { Size(a) * b }
    public static func += (a: inout Size, b: Size) { a = a + b }
    public static func < (a: Size, b: Size) -> Bool { a.value < b.value }
}
