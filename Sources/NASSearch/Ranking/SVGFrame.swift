import Foundation

/// The frame every SwiftNAS plot shares: a white page with a title, grid lines with tick labels on both
/// axes, the plot border and the two axis titles; `px`/`py` map data to page coordinates. The plot
/// (scatter, Pareto front, the report's line plots) adds its marks to `open(…)`'s output and closes the
/// document with `</svg>`.
///
/// `standalone: false` gives the same drawing for inlining in an HTML page (no XML declaration; the
/// element has `class="plot"`, `role="img"` and the title as its `aria-label`). The frame's parts carry
/// classes (`frame-bg`, `grid`, `tick`, `frame-border`, `axis-title`, `plot-title`) so that a page's
/// style sheet can recolour them, e.g. for a dark colour scheme; a standalone file looks the same either way.
public struct SVGFrame: Sendable {
    public var width = 720.0, height = 480.0
    public var left: Double, right: Double, top: Double, bottom: Double
    public var xAxis: ScatterPlot.Axis, yAxis: ScatterPlot.Axis

    public init(width: Double = 720, height: Double = 480, left: Double, right: Double, top: Double, bottom: Double,
                xAxis: ScatterPlot.Axis, yAxis: ScatterPlot.Axis) {
        self.width = width; self.height = height
        self.left = left; self.right = right; self.top = top; self.bottom = bottom
        self.xAxis = xAxis; self.yAxis = yAxis
    }

    public var plotWidth: Double { width - left - right }
    public var plotHeight: Double { height - top - bottom }

    public func px(_ v: Double) -> Double { left + (v - xAxis.lo) / (xAxis.hi - xAxis.lo) * plotWidth }
    public func py(_ v: Double) -> Double { top + plotHeight - (v - yAxis.lo) / (yAxis.hi - yAxis.lo) * plotHeight }

    /// The document up to the plot's marks (titles and labels are escaped here).
    public func open(title: String, xTitle: String, yTitle: String, standalone: Bool = true) -> String {
        let (w, h) = (plotWidth, plotHeight)
        let size = "width=\"\(svgNumber(width))\" height=\"\(svgNumber(height))\" viewBox=\"0 0 \(svgNumber(width)) \(svgNumber(height))\""
        var s = standalone
            ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \(size) "
            : "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" role=\"img\" aria-label=\"\(ScatterPlot.escape(title))\" \(size) "
        s += """
        font-family="sans-serif" font-size="12">
        <rect class="frame-bg" width="\(svgNumber(width))" height="\(svgNumber(height))" fill="white"/>
        <text class="plot-title" x="\(svgNumber(width / 2))" y="24" text-anchor="middle" font-size="15">\(ScatterPlot.escape(title))</text>

        """
        for (v, label) in xAxis.ticks {
            let x = svgNumber(px(v))
            s += "<line x1=\"\(x)\" y1=\"\(svgNumber(top))\" x2=\"\(x)\" y2=\"\(svgNumber(top + h + 4))\" stroke=\"#ddd\" class=\"grid\"/>"
            s += "<text class=\"tick\" x=\"\(x)\" y=\"\(svgNumber(top + h + 17))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        for (v, label) in yAxis.ticks {
            let y = svgNumber(py(v))
            s += "<line x1=\"\(svgNumber(left - 4))\" y1=\"\(y)\" x2=\"\(svgNumber(left + w))\" y2=\"\(y)\" stroke=\"#ddd\" class=\"grid\"/>"
            s += "<text class=\"tick\" x=\"\(svgNumber(left - 7))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(label)</text>\n"
        }
        s += "<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top))\" width=\"\(svgNumber(w))\" height=\"\(svgNumber(h))\" "
            + "fill=\"none\" stroke=\"#333\" class=\"frame-border\"/>\n"
        s += "<text class=\"axis-title\" x=\"\(svgNumber(left + w / 2))\" y=\"\(svgNumber(top + h + 36))\" text-anchor=\"middle\">\(ScatterPlot.escape(xTitle))</text>\n"
        s += "<text class=\"axis-title\" transform=\"translate(16 \(svgNumber(top + h / 2))) rotate(-90)\" text-anchor=\"middle\">"
        s += ScatterPlot.escape(yTitle) + "</text>\n"
        return s
    }
}

/// A coordinate as SVG text (two decimals).
public func svgNumber(_ v: Double) -> String { String(format: "%.2f", v) }
