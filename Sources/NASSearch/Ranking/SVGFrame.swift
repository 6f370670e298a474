import Foundation

/// The frame every SwiftNAS plot shares: a white page with a title, grid lines with tick labels on both
/// axes, the plot border and the two axis titles; `px`/`py` map data to page coordinates. The plot
/// (scatter, Pareto front) adds its marks to `open(…)`'s output and closes the document with `</svg>`.
struct SVGFrame {
    var width = 720.0, height = 480.0
    var left: Double, right: Double, top: Double, bottom: Double
    var xAxis: ScatterPlot.Axis, yAxis: ScatterPlot.Axis

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    func px(_ v: Double) -> Double { left + (v - xAxis.lo) / (xAxis.hi - xAxis.lo) * plotWidth }
    func py(_ v: Double) -> Double { top + plotHeight - (v - yAxis.lo) / (yAxis.hi - yAxis.lo) * plotHeight }

    /// The document up to the plot's marks (titles and labels are escaped here).
    func open(title: String, xTitle: String, yTitle: String) -> String {
        let (w, h) = (plotWidth, plotHeight)
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(svgNumber(width))" height="\(svgNumber(height))" \
        viewBox="0 0 \(svgNumber(width)) \(svgNumber(height))" font-family="sans-serif" font-size="12">
        <rect width="\(svgNumber(width))" height="\(svgNumber(height))" fill="white"/>
        <text x="\(svgNumber(width / 2))" y="24" text-anchor="middle" font-size="15">\(ScatterPlot.escape(title))</text>

        """
        for (v, label) in xAxis.ticks {
            let x = svgNumber(px(v))
            s += "<line x1=\"\(x)\" y1=\"\(svgNumber(top))\" x2=\"\(x)\" y2=\"\(svgNumber(top + h + 4))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(x)\" y=\"\(svgNumber(top + h + 17))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        for (v, label) in yAxis.ticks {
            let y = svgNumber(py(v))
            s += "<line x1=\"\(svgNumber(left - 4))\" y1=\"\(y)\" x2=\"\(svgNumber(left + w))\" y2=\"\(y)\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(svgNumber(left - 7))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(label)</text>\n"
        }
        s += "<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top))\" width=\"\(svgNumber(w))\" height=\"\(svgNumber(h))\" "
            + "fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(svgNumber(left + w / 2))\" y=\"\(svgNumber(top + h + 36))\" text-anchor=\"middle\">\(ScatterPlot.escape(xTitle))</text>\n"
        s += "<text transform=\"translate(16 \(svgNumber(top + h / 2))) rotate(-90)\" text-anchor=\"middle\">"
        s += ScatterPlot.escape(yTitle) + "</text>\n"
        return s
    }
}

/// A coordinate as SVG text (two decimals).
func svgNumber(_ v: Double) -> String { String(format: "%.2f", v) }
