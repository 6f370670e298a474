import Foundation

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
            case .atLeast(let g): return "≥ \(g)"
            case .atMost(let g): return "≤ \(g)"
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

    /// Median seconds of two bodies timed alternately (a, b, a, b, …), so a burst of interference from
    /// other processes hits both sides of a ratio alike. `prepare` runs untimed before every `a`.
    static func interleaved(warmup: Int, runs: Int, prepare: () -> Void = {},
                            _ a: () -> Void, _ b: () -> Void) -> (a: Double, b: Double) {
        for _ in 0..<warmup { prepare(); a(); b() }
        var sa: [Double] = [], sb: [Double] = []
        for _ in 0..<runs {
            prepare()
            var t0 = now()
            a()
            sa.append(Double(now() - t0) * 1e-9)
            t0 = now()
            b()
            sb.append(Double(now() - t0) * 1e-9)
        }
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

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

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

    /// Writes the JSON array next to `path` under a temporary name, then renames it into place, so a
    /// reader never sees a half-written file.
    static func writeJSON(_ results: [BenchResult], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try Data(json(results).utf8).write(to: tmp)
        guard rename(tmp.path, url.path) == 0 else {
            let err = String(cString: strerror(errno))
            unlink(tmp.path)
            throw BenchError.write(path, err)
        }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case write(String, String)

    var description: String {
        switch self {
        case .write(let p, let e): return "cannot write \(p): \(e)"
        }
    }
}
