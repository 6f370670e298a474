import Foundation
import NASModels

/// One benchmark figure. Written to JSON as `{"name", "value", "unit", "reference", "ratio"}`
/// (`reference` and `ratio` are null for a figure without a reference).
struct BenchResult {
    /// What the ratio should be (table only, not written to JSON).
    enum Goal {
        case atLeast(Double)
        case atMost(Double)

        func met(by ratio: Double) -> Bool {
            switch self {
            case .atLeast(let g): return ratio >= g
            case .atMost(let g): return ratio <= g
            }
        }

        var text: String {
            switch self {
            case .atLeast(let g): return "≥ " + String(format: "%.3g", g)
            case .atMost(let g): return "≤ " + String(format: "%.3g", g)
            }
        }
    }

    var name: String
    var value: Double
    var unit: String
    var reference: Double?
    var ratio: Double?
    var goal: Goal?

    /// A figure measured against a reference; `ratio` defaults to value / reference.
    init(_ name: String, value: Double, unit: String, reference: Double? = nil, ratio: Double? = nil, goal: Goal? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.reference = reference
        self.ratio = ratio ?? reference.map { value / $0 }
        self.goal = goal
    }
}

/// Timing: warm-up runs, then the median of the timed runs (a monotonic clock, nanoseconds).
enum Measure {
    @inline(__always)
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func median(_ xs: [Double]) -> Double {
        precondition(!xs.isEmpty, "median of no samples")
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
    }

    /// Median seconds of `body` over `runs` timed runs after `warmup` untimed ones. `prepare` runs
    /// before every run, untimed (e.g. zeroing gradients).
    static func seconds(warmup: Int, runs: Int, prepare: () -> Void = {}, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { prepare(); body() }
        var samples: [Double] = []
        samples.reserveCapacity(runs)
        for _ in 0..<runs {
            prepare()
            let t0 = now()
            body()
            samples.append(Double(now() - t0) * 1e-9)
        }
        return median(samples)
    }

    /// Median seconds of two bodies timed alternately in the order a b b a a b b a …, so a burst of
    /// interference from other processes, or a drift, hits both sides of a ratio alike and neither
    /// always runs right after the other. `prepare` runs untimed before every `a`.
    static func interleaved(warmup: Int, runs: Int, prepare: () -> Void = {},
                            _ a: () -> Void, _ b: () -> Void) -> (a: Double, b: Double) {
        for _ in 0..<warmup { prepare(); a(); b() }
        var sa: [Double] = [], sb: [Double] = []
        func timeA() {
            prepare()
            let t0 = now()
            a()
            sa.append(Double(now() - t0) * 1e-9)
        }
        func timeB() {
            let t0 = now()
            b()
            sb.append(Double(now() - t0) * 1e-9)
        }
        for i in 0..<runs {
            if i % 2 == 0 { timeA(); timeB() } else { timeB(); timeA() }
        }
        return (median(sa), median(sb))
    }

    /// Median seconds of two bodies measured in blocks a…a b…b b…b a…a (half the runs per block), for
    /// bodies that leave something behind that would disturb the other if they alternated run by run
    /// (OpenBLAS worker threads busy-wait for ~0.1 s after a multi-threaded call). `settle` runs before
    /// the a-block that follows the b-blocks. The mirrored order still cancels a linear drift.
    static func blocks(warmup: Int, runs: Int, _ a: () -> Void, _ b: () -> Void,
                       settle: () -> Void) -> (a: Double, b: Double) {
        let h1 = runs / 2, h2 = runs - runs / 2
        var sa: [Double] = [], sb: [Double] = []
        func time(_ body: () -> Void, _ count: Int, into s: inout [Double]) {
            for _ in 0..<count {
                let t0 = now()
                body()
                s.append(Double(now() - t0) * 1e-9)
            }
        }
        for _ in 0..<warmup { a() }
        time(a, h1, into: &sa)
        for _ in 0..<warmup { b() }
        time(b, h1, into: &sb)
        time(b, h2, into: &sb)
        settle()
        time(a, h2, into: &sa)
        return (median(sa), median(sb))
    }
}

/// Printing and writing a list of results.
enum BenchReport {
    static func format(_ v: Double?) -> String {
        guard let v else { return "-" }
        let a = Swift.abs(v)
        if a >= 100 { return String(format: "%.1f", v) }
        if a >= 1 { return String(format: "%.2f", v) }
        return String(format: "%.3f", v)
    }

    static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let n = s.count
        if n >= width { return s }
        let fill = String(repeating: " ", count: width - n)
        return left ? s + fill : fill + s
    }

    /// A fixed-width table: name, value, unit, reference, ratio, goal (✓ met, ✗ missed).
    static func table(_ results: [BenchResult]) -> String {
        let header = ["name", "value", "unit", "reference", "ratio", "goal"]
        var rows: [[String]] = results.map { r in
            var goal = ""
            if let g = r.goal, let ratio = r.ratio { goal = "\(g.text) \(g.met(by: ratio) ? "✓" : "✗")" }
            return [r.name, format(r.value), r.unit, format(r.reference), format(r.ratio), goal]
        }
        rows.insert(header, at: 0)
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var lines: [String] = []
        for (i, row) in rows.enumerated() {
            let cells = row.enumerated().map { c, s in pad(s, widths[c], left: c == 0 || c == 2 || c == 5) }
            lines.append(cells.joined(separator: "  "))
            if i == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        return lines.joined(separator: "\n")
    }

    static func jsonString(_ s: String) -> String { JSONValue.quoted(s) }

    static func jsonNumber(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "null" }
        return String(format: "%.6g", v)
    }

    static func json(_ results: [BenchResult]) -> String {
        let records = results.map { r in
            "  {\"name\": \(jsonString(r.name)), \"value\": \(jsonNumber(r.value)), \"unit\": \(jsonString(r.unit)), "
                + "\"reference\": \(jsonNumber(r.reference)), \"ratio\": \(jsonNumber(r.ratio))}"
        }
        return "[\n" + records.joined(separator: ",\n") + "\n]\n"
    }

    /// Writes the JSON array atomically (temp file + rename), so a reader never sees half a file.
    static func writeJSON(_ results: [BenchResult], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(Data(json(results).utf8), to: url)
    }
}

