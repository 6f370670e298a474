import Foundation
import NASSearch

/// A plot of one or more series against a shared x axis, drawn on the common `SVGFrame` (inline form):
/// each series as a polyline, a step line (`best so far`) or points; points may carry a trial number
/// (`data-trial`, clickable on a page) and a hover text (`<title>`). Horizontal reference lines
/// (budgets) are dashed and labelled. Non-finite values are left out and counted in a footnote.
public struct LinePlot: Sendable {
    public enum Style: Sendable { case line, step, points }

    public struct Series: Sendable {
        public var name: String
        public var colour: String
        public var style: Style
        public var xs: [Double]
        public var ys: [Double]
        /// Per point (parallel to `xs`), for `.points`: the trial number and the hover text.
        public var trials: [Int]?
        public var titles: [String]?
        /// The CSS class of every point or of the line (what the browser test counts).
        public var cssClass: String
        public init(name: String, colour: String, style: Style, xs: [Double], ys: [Double], trials: [Int]? = nil,
                    titles: [String]? = nil, cssClass: String = "series") {
            self.name = name; self.colour = colour; self.style = style; self.xs = xs; self.ys = ys
            self.trials = trials; self.titles = titles; self.cssClass = cssClass
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Dashed horizontal lines: (y, label).
    public var references: [(y: Double, label: String)]
    /// Plots log10(y) (e.g. a perplexity over decades) when every finite y is positive and they span more
    /// than a decade.
    public var logY: Bool
    public var width = 560.0
    public var height = 360.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series], references: [(y: Double, label: String)] = [],
                logY: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.references = references
        self.logY = logY
    }

    /// The inline SVG element.
    public func svg() -> String {
        let finiteY = series.flatMap { $0.ys.filter(\.isFinite) }
        let useLog = logY && finiteY.allSatisfy { $0 > 0 } && (finiteY.max() ?? 1) > 10 * (finiteY.min() ?? 1)
        let ty: (Double) -> Double = useLog ? { log10($0) } : { $0 }
        var allX: [Double] = [], allY: [Double] = []
        var omitted = 0
        for s in series {
            for (x, y) in zip(s.xs, s.ys) {
                if x.isFinite && y.isFinite { allX.append(x); allY.append(ty(y)) } else { omitted += 1 }
            }
        }
        allY += references.map { ty($0.y) }.filter(\.isFinite)
        let xAxis = ScatterPlot.linearAxis(allX)
        let yAxis = useLog ? ScatterPlot.logAxis(allY) : ScatterPlot.linearAxis(allY)
        let legendHeight = series.count > 1 ? 18.0 : 0
        let frame = SVGFrame(width: width, height: height, left: 72, right: 20, top: 40 + legendHeight, bottom: 60,
                             xAxis: xAxis, yAxis: yAxis)
        func px(_ v: Double) -> String { svgNumber(frame.px(v)) }
        func py(_ v: Double) -> String { svgNumber(frame.py(ty(v))) }
        var s = frame.open(title: title, xTitle: xLabel, yTitle: yLabel + (useLog ? " (log scale)" : ""), standalone: false)
        for r in references where ty(r.y).isFinite {
            s += "<line class=\"budget\" x1=\"\(svgNumber(frame.left))\" x2=\"\(svgNumber(frame.left + frame.plotWidth))\" "
            s += "y1=\"\(py(r.y))\" y2=\"\(py(r.y))\" stroke=\"#c0392b\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\"/>"
            s += "<text class=\"budget-label\" x=\"\(svgNumber(frame.left + frame.plotWidth - 4))\" y=\"\(svgNumber(frame.py(ty(r.y)) - 4))\" "
            s += "text-anchor=\"end\" fill=\"#c0392b\">\(HTML.escape(r.label))</text>\n"
        }
        for series in series {
            let points = zip(series.xs, series.ys).enumerated().filter { $0.element.0.isFinite && $0.element.1.isFinite }
            switch series.style {
            case .line, .step:
                guard let first = points.first else { continue }
                var d = "M \(px(first.element.0)) \(py(first.element.1))"
                for p in points.dropFirst() {
                    d += series.style == .step ? " H \(px(p.element.0)) V \(py(p.element.1))" : " L \(px(p.element.0)) \(py(p.element.1))"
                }
                s += "<path class=\"\(series.cssClass)\" d=\"\(d)\" fill=\"none\" stroke=\"\(series.colour)\" stroke-width=\"1.6\"/>\n"
            case .points:
                s += "<g fill=\"\(series.colour)\" fill-opacity=\"0.7\">\n"
                for (i, p) in points {
                    s += "<circle class=\"\(series.cssClass)\""
                    if let trials = series.trials, i < trials.count { s += " data-trial=\"\(trials[i])\"" }
                    s += " cx=\"\(px(p.0))\" cy=\"\(py(p.1))\" r=\"3\""
                    if let titles = series.titles, i < titles.count {
                        s += "><title>\(HTML.escape(titles[i]))</title></circle>\n"
                    } else {
                        s += "/>\n"
                    }
                }
                s += "</g>\n"
            }
        }
        if series.count > 1 {
            var x = frame.left
            s += "<g class=\"legend\" font-size=\"11\">"
            for series in series {
                let y = svgNumber(40)
                s += "<rect x=\"\(svgNumber(x))\" y=\"\(svgNumber(34))\" width=\"12\" height=\"4\" fill=\"\(series.colour)\"/>"
                s += "<text x=\"\(svgNumber(x + 16))\" y=\"\(y)\" dominant-baseline=\"middle\">\(HTML.escape(series.name))</text>"
                x += 28 + Double(series.name.count) * 6.5
            }
            s += "</g>\n"
        }
        if omitted > 0 {
            s += "<text class=\"note\" x=\"8\" y=\"\(svgNumber(height - 8))\" font-size=\"10\" fill=\"#555\">"
                + "\(omitted) non-finite values not plotted</text>\n"
        }
        return s + "</svg>\n"
    }
}
