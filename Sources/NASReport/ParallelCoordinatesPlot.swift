import Foundation
import NASSearch

/// Parallel coordinates of a study's genes (Inselberg 1985): one vertical axis per gene (its choice
/// index, 0 at the bottom) and a last axis for the primary objective; each complete trial with a finite
/// objective is one polyline across the axes, coloured by its objective from the worst (dark blue) to
/// the best (yellow), best drawn last. Each line carries `data-trial` and a hover `<title>`.
public struct ParallelCoordinatesPlot: Sendable {
    public var genes: [(name: String, choices: Int)]
    public var trials: [Trial]
    public var settings: StudySettings

    public init(genes: [(name: String, choices: Int)], trials: [Trial], settings: StudySettings) {
        self.genes = genes; self.trials = trials; self.settings = settings
    }

    /// A colour on a dark-blue → teal → yellow ramp for t in [0, 1] (three linear pieces, viridis-like).
    static func colour(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let x = Swift.min(Swift.max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let i = Swift.min(Int(x), stops.count - 2), f = x - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        func mix(_ p: Double, _ q: Double) -> Int { Int((p + (q - p) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The inline SVG element.
    public func svg() -> String {
        let objective = settings.objectives.first
        let maximize = objective?.maximize ?? true
        let shown = trials.filter { $0.state == .complete && StudyReport.primaryValue($0, settings: settings).isFinite }
        let values = shown.map { StudyReport.primaryValue($0, settings: settings) }
        let yAxis = ScatterPlot.linearAxis(values)
        let axes = genes.count + 1
        let (left, right, top, bottom) = (56.0, 72.0, 48.0, 96.0)
        let spacing = Swift.max(48, Swift.min(110, 900 / Double(Swift.max(axes - 1, 1))))
        let width = left + right + spacing * Double(axes - 1), height = 420.0
        let plotH = height - top - bottom
        func ax(_ k: Int) -> Double { left + spacing * Double(k) }
        func gy(_ choice: Int, _ choices: Int) -> Double {
            top + plotH - (choices > 1 ? Double(choice) / Double(choices - 1) : 0.5) * plotH
        }
        func oy(_ v: Double) -> Double { top + plotH - (v - yAxis.lo) / (yAxis.hi - yAxis.lo) * plotH }
        let title = "Parallel coordinates: genes and \(objective?.name ?? "objective")"
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" role=\"img\" aria-label=\"\(HTML.escape(title))\" "
        s += "width=\"\(svgNumber(width))\" height=\"\(svgNumber(height))\" viewBox=\"0 0 \(svgNumber(width)) \(svgNumber(height))\" "
        s += "font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect class=\"frame-bg\" width=\"\(svgNumber(width))\" height=\"\(svgNumber(height))\" fill=\"white\"/>\n"
        s += "<text class=\"plot-title\" x=\"\(svgNumber(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(HTML.escape(title))</text>\n"
        // Worst first, so that the best lines are on top.
        let (lo, hi) = (values.min() ?? 0, values.max() ?? 1)
        let order = shown.indices.sorted { maximize ? values[$0] < values[$1] : values[$0] > values[$1] }
        s += "<g fill=\"none\" stroke-width=\"1.2\" stroke-opacity=\"0.75\">\n"
        for i in order {
            let t = shown[i]
            let quality = hi > lo ? (maximize ? (values[i] - lo) / (hi - lo) : (hi - values[i]) / (hi - lo)) : 1
            var points: [String] = []
            for (k, gene) in genes.enumerated() {
                let choice = k < t.genome.count ? t.genome[k] : 0
                points.append("\(svgNumber(ax(k))),\(svgNumber(gy(choice, gene.choices)))")
            }
            points.append("\(svgNumber(ax(genes.count))),\(svgNumber(oy(values[i])))")
            let hover = "trial \(t.number): \(objective?.name ?? "objective") \(HTML.value(values[i])); genome "
                + t.genome.map(String.init).joined(separator: " ")
            s += "<polyline class=\"pc-line\" data-trial=\"\(t.number)\" stroke=\"\(Self.colour(quality))\" "
            s += "points=\"\(points.joined(separator: " "))\"><title>\(HTML.escape(hover))</title></polyline>\n"
        }
        s += "</g>\n"
        // Axes on top of the lines, with their names (rotated) and end labels.
        for k in 0..<axes {
            let x = svgNumber(ax(k))
            s += "<line class=\"frame-border\" x1=\"\(x)\" y1=\"\(svgNumber(top))\" x2=\"\(x)\" y2=\"\(svgNumber(top + plotH))\" stroke=\"#333\"/>"
            let name = k < genes.count ? genes[k].name : (objective?.name ?? "objective")
            let (lowLabel, highLabel) = k < genes.count ? ("0", "\(Swift.max(genes[k].choices - 1, 0))")
                                                        : (yAxis.ticks.first?.1 ?? "", yAxis.ticks.last?.1 ?? "")
            s += "<text class=\"tick\" x=\"\(x)\" y=\"\(svgNumber(top - 6))\" text-anchor=\"middle\">\(HTML.escape(highLabel))</text>"
            s += "<text class=\"tick\" x=\"\(x)\" y=\"\(svgNumber(top + plotH + 14))\" text-anchor=\"middle\">\(HTML.escape(lowLabel))</text>"
            s += "<text class=\"axis-title\" transform=\"translate(\(x) \(svgNumber(top + plotH + 24))) rotate(40)\">\(HTML.escape(name))</text>\n"
        }
        s += "<text class=\"note\" x=\"8\" y=\"\(svgNumber(height - 6))\" font-size=\"10\" fill=\"#555\">\(shown.count) complete trials; "
            + "gene axes: choice index; colour: \(HTML.escape(objective?.name ?? "objective")) from worst (dark) to best (yellow)</text>\n"
        return s + "</svg>\n"
    }
}
