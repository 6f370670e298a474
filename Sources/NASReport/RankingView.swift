import Foundation
import NASSearch

/// The views of a ranking folder (what `swiftnas rank --out DIR` writes): the τ/ρ/r/within-band τ table
/// from `ranking.json` and, from `scores.csv`, one scatter plot per proxy (proxy score against the
/// ground truth; hover: the architecture's id).
public struct RankingView: Sendable {
    public var folder: String
    public var result: RankingResult
    /// The ground truth's name (the second column of `scores.csv`), its values and each proxy's scores.
    public var targetName: String
    public var ids: [String]
    public var target: [Double]
    public var scores: [(name: String, values: [Double])]

    /// Reads `ranking.json` and `scores.csv` of `folder`.
    public init(folder: URL) throws {
        self.folder = folder.relativePath
        let json = folder.appendingPathComponent("ranking.json"), csv = folder.appendingPathComponent("scores.csv")
        do {
            result = try RankingResult(jsonData: try Data(contentsOf: json))
        } catch {
            throw ReportInputError(path: json.relativePath, message: "cannot read the ranking: \(error)")
        }
        guard let text = try? String(contentsOf: csv, encoding: .utf8) else {
            throw ReportInputError(path: csv.relativePath, message: "cannot read the scores (missing or not UTF-8)")
        }
        let rows = CSV.rows(text)
        guard let header = rows.first, header.count >= 2 else {
            throw ReportInputError(path: csv.relativePath, message: "expected a header `id,<target>,<proxy>…`")
        }
        targetName = header[1]
        var ids: [String] = [], target: [Double] = []
        var columns = Array(repeating: [Double](), count: header.count - 2)
        for (line, row) in rows.dropFirst().enumerated() where !(row.count == 1 && row[0].isEmpty) {
            guard row.count == header.count else {
                throw ReportInputError(path: csv.relativePath, message: "line \(line + 2) has \(row.count) fields, expected \(header.count)")
            }
            ids.append(row[0])
            target.append(Double(row[1]) ?? .nan)
            for k in columns.indices { columns[k].append(Double(row[k + 2]) ?? .nan) }
        }
        self.ids = ids
        self.target = target
        scores = zip(header.dropFirst(2), columns).map { ($0, $1) }
    }

    public func sections() -> [ReportPage.Section] {
        [.init(id: "correlations", heading: "Rank correlations", html: tableHTML()),
         .init(id: "scatter", heading: "Proxy vs ground truth", html: scatterHTML())]
    }

    public func page() -> ReportPage {
        ReportPage(title: "Ranking \(folder)", subtitle: "protocol \(result.protocol) · \(result.architectures) architectures · "
                   + "\(result.tokens) tokens", sections: sections())
    }

    func tableHTML() -> String {
        var s = "<table class=\"sortable ranking\"><thead><tr><th class=\"text\">proxy</th><th>kendall τ</th><th>spearman ρ</th>"
            + "<th>pearson r</th><th>in-band τ</th><th>s/arch</th></tr></thead><tbody>\n"
        for p in result.proxies {
            s += "<tr class=\"proxy-row\"><td class=\"text\">\(HTML.escape(p.name))</td>"
            for v in [p.kendall, p.spearman, p.pearson, p.withinBandKendall] {
                s += "<td data-sort=\"\(HTML.sortKey(v))\">\(HTML.correlation(v))</td>"
            }
            s += "<td data-sort=\"\(HTML.sortKey(p.secondsPerArch))\">\(p.secondsPerArch.isNaN ? "n/a" : String(format: "%.4f", p.secondsPerArch))</td></tr>\n"
        }
        s += "</tbody></table>\n<p class=\"note\">Against \(HTML.escape(targetName)). In-band τ: Kendall τ-b inside bands of size "
            + "within 1.10× of the band's first member (bands under 5 rows skipped), n-weighted mean.</p>"
        return s
    }

    func scatterHTML() -> String {
        var s = "<div class=\"plots\">"
        for (k, p) in scores.enumerated() {
            let proxy = result.proxies.first { $0.name == p.name } ?? (k < result.proxies.count ? result.proxies[k] : nil)
            let tau = proxy.map { HTML.correlation($0.kendall) } ?? "n/a"
            var plot = ScatterPlot(x: p.values, y: target, title: "\(p.name) vs \(targetName), τ = \(tau)", xLabel: p.name,
                                   yLabel: targetName)
            plot.labels = ids.map { "architecture \($0)" }
            (plot.width, plot.height) = (560, 420)
            s += "<figure>\(plot.svg(standalone: false))</figure>"
        }
        return s + "</div>"
    }
}

/// A minimal RFC 4180 reader: fields split at commas, quoted fields may hold commas, quotes ("") and
/// line breaks.
enum CSV {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, afterQuote = false
        for c in text {
            if quoted {
                if c == "\"" { quoted = false; afterQuote = true } else { field.append(c) }
                continue
            }
            switch c {
            case "\"":
                if afterQuote { field.append("\"") }
                quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r\n": row.append(field); rows.append(row); row = []; field = ""
            case "\r": break
            default: field.append(c)
            }
            afterQuote = false
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
