import Foundation
import NASModels

/// A scatter plot written as a small, dependency-free SVG file (e.g. a proxy's score against GLUE).
///
/// Points with a non-finite coordinate (or x ≤ 0 on a log axis) are left out and counted in a
/// footnote; every plotted point is one `<circle>`, and nothing else in the file is a circle. With
/// `labels` (one per point), each circle carries its label as a `<title>` (a hover text in browsers).
public struct ScatterPlot: Sendable {
    public struct Point: Equatable, Sendable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    public enum XScale: Sendable {
        /// Logarithmic when every finite x is positive and max/min > 1e3 (proxies such as synflow
        /// span orders of magnitude), linear otherwise.
        case automatic
        case linear
        case logarithmic
    }

    public var points: [Point]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: XScale
    /// One text per point (e.g. the architecture's id), shown on hover; nil: none.
    public var labels: [String]?
    public var width = 640.0
    public var height = 480.0

    public init(points: [Point], title: String, xLabel: String, yLabel: String, xScale: XScale = .automatic) {
        self.points = points
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
    }

    /// Pairs `x[i]` with `y[i]` (same length).
    public init(x: [Double], y: [Double], title: String, xLabel: String, yLabel: String, xScale: XScale = .automatic) {
        precondition(x.count == y.count, "x and y of different lengths: \(x.count) vs \(y.count)")
        self.init(points: zip(x, y).map { Point(x: $0, y: $1) }, title: title, xLabel: xLabel, yLabel: yLabel,
                  xScale: xScale)
    }

    /// Whether the x axis is logarithmic (resolving `.automatic`).
    public var usesLogX: Bool {
        switch xScale {
        case .linear: return false
        case .logarithmic: return true
        case .automatic:
            let xs = points.filter { $0.x.isFinite && $0.y.isFinite }.map(\.x)
            guard let lo = xs.min(), let hi = xs.max(), lo > 0 else { return false }
            return hi / lo > 1e3
        }
    }

    /// The SVG document; `standalone: false` for inlining in an HTML page (see `SVGFrame`).
    public func svg(standalone: Bool = true) -> String {
        let logX = usesLogX
        let shownIndices = points.indices.filter { points[$0].x.isFinite && points[$0].y.isFinite && (!logX || points[$0].x > 0) }
        let shown = shownIndices.map { points[$0] }
        let nonFinite = points.count(where: { !($0.x.isFinite && $0.y.isFinite) })
        let nonPositive = points.count - shown.count - nonFinite
        let tx: (Double) -> Double = logX ? { log10($0) } : { $0 }
        let xAxis = logX ? Self.logAxis(shown.map { tx($0.x) }) : Self.linearAxis(shown.map(\.x))
        let yAxis = Self.linearAxis(shown.map(\.y))
        let frame = SVGFrame(width: width, height: height, left: 72, right: 32, top: 40, bottom: 64, xAxis: xAxis, yAxis: yAxis)
        func px(_ v: Double) -> Double { frame.px(v) }
        func py(_ v: Double) -> Double { frame.py(v) }
        var s = frame.open(title: title, xTitle: xLabel + (logX ? " (log scale)" : ""), yTitle: yLabel, standalone: standalone)
        s += "<g class=\"points\" fill=\"#1f77b4\" fill-opacity=\"0.6\" stroke=\"#1f4e79\" stroke-width=\"0.5\">\n"
        for i in shownIndices {
            let p = points[i]
            s += "<circle cx=\"\(svgNumber(px(tx(p.x))))\" cy=\"\(svgNumber(py(p.y)))\" r=\"3\""
            if let labels, i < labels.count {
                s += "><title>\(Self.escape(labels[i]))</title></circle>\n"
            } else {
                s += "/>\n"
            }
        }
        s += "</g>\n"
        var note = "n = \(shown.count) plotted"
        if nonFinite > 0 { note += "; \(nonFinite) with non-finite values omitted" }
        if nonPositive > 0 { note += "; \(nonPositive) with x ≤ 0 omitted (log axis)" }
        s += "<text class=\"note\" x=\"8\" y=\"\(svgNumber(height - 8))\" font-size=\"10\" fill=\"#555\">\(note)</text>\n</svg>\n"
        return s
    }

    /// Writes the SVG atomically (temporary file in the same folder, then rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(svg().utf8), to: url)
    }

    // MARK: - Axes

    /// An axis: its data range and labelled ticks (value, label).
    public struct Axis: Sendable {
        public var lo: Double, hi: Double
        public var ticks: [(Double, String)]
        public init(lo: Double, hi: Double, ticks: [(Double, String)]) { self.lo = lo; self.hi = hi; self.ticks = ticks }
    }

    /// "Nice numbers" (P. Heckbert, Graphics Gems, 1990): a range rounded out to multiples of a step
    /// of 1, 2 or 5 × 10^k, about five ticks.
    public static func linearAxis(_ values: [Double]) -> Axis {
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if hi - lo <= 0 { let pad = max(1, abs(lo) * 0.1); lo -= pad; hi += pad }
        let step = niceNumber(niceNumber(hi - lo, round: false) / 4, round: true)
        let niceLo = (lo / step).rounded(.down) * step, niceHi = (hi / step).rounded(.up) * step
        let steps = ((niceHi - niceLo) / step).rounded()
        guard step.isFinite, step > 0, steps.isFinite, steps >= 1, steps <= 20 else {
            // Extreme magnitudes (e.g. ±1e308): no nice grid, just label the ends.
            return Axis(lo: lo, hi: hi, ticks: [(lo, String(format: "%g", lo)), (hi, String(format: "%g", hi))])
        }
        (lo, hi) = (niceLo, niceHi)
        let decimals = max(0, Int(-log10(step).rounded(.down)))
        let count = Int(steps)
        let ticks = (0...count).map { i -> (Double, String) in
            var v = lo + Double(i) * step
            if abs(v) < step * 1e-9 { v = 0 }
            let plain = decimals <= 6 && abs(v) < 1e7
            return (v, plain ? String(format: "%.\(decimals)f", v) : String(format: "%.4g", v))
        }
        return Axis(lo: lo, hi: hi, ticks: ticks)
    }

    /// Whole decades of log10-transformed values, at most about eight labelled.
    public static func logAxis(_ exponents: [Double]) -> Axis {
        let lo = (exponents.min() ?? 0).rounded(.down)
        var hi = (exponents.max() ?? 1).rounded(.up)
        if hi <= lo { hi = lo + 1 }
        let stride = max(1, Int(((hi - lo) / 8).rounded(.up)))
        let ticks = Swift.stride(from: Int(lo), through: Int(hi), by: stride).map { k -> (Double, String) in
            (Double(k), abs(k) <= 3 ? String(format: "%g", pow(10, Double(k))) : "1e\(k)")
        }
        return Axis(lo: lo, hi: hi, ticks: ticks)
    }

    static func niceNumber(_ x: Double, round: Bool) -> Double {
        let exponent = log10(x).rounded(.down)
        let fraction = x / pow(10, exponent)
        let nice: Double
        if round { nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10 }
        else { nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10 }
        return nice * pow(10, exponent)
    }

    /// `s` as XML/HTML text or attribute value (`&`, `<`, `>`, `"` escaped).
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

