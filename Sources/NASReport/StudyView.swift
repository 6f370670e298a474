import Foundation
import NASModels
import NASSearch

/// The views of a study: summary, optimisation history, Pareto front (hover: architecture and costs),
/// budgets, parallel coordinates, gene importance (η², `GeneImportance`) and the trial table.
public struct StudyView: Sendable {
    /// A window of the trial table: `offset` trials skipped, at most `limit` shown (nil: all).
    public struct TablePage: Sendable {
        public var offset: Int
        public var limit: Int?
        /// Builds the link of another page (dashboard); nil: no links (the static report shows every row).
        public var link: (@Sendable (Int) -> String)?
        public init(offset: Int = 0, limit: Int? = nil, link: (@Sendable (Int) -> String)? = nil) {
            self.offset = offset; self.limit = limit; self.link = link
        }
        public static let all = TablePage()
    }

    public var snapshot: StudySnapshot
    public init(snapshot: StudySnapshot) { self.snapshot = snapshot }

    var settings: StudySettings { snapshot.settings }
    var trials: [Trial] { snapshot.trials }

    /// Every section, the trial table windowed by `page`.
    public func sections(page: TablePage = .all) -> [ReportPage.Section] {
        [
            .init(id: "summary", heading: "Study", html: summaryHTML()),
            .init(id: "history", heading: "Optimisation history", html: historyHTML()),
            .init(id: "pareto", heading: "Pareto front", html: paretoHTML()),
            .init(id: "budgets", heading: "Budgets", html: budgetsHTML()),
            .init(id: "parallel", heading: "Parallel coordinates", html: parallelHTML()),
            .init(id: "importance", heading: "Gene importance", html: importanceHTML()),
            .init(id: "trials", heading: "Trials", html: tableHTML(page: page)),
        ]
    }

    /// The whole page of a static report.
    public func page() -> ReportPage {
        ReportPage(title: "Study \(snapshot.location)", subtitle: "\(trials.count) trials", sections: sections())
    }

    // MARK: - Sections

    func summaryHTML() -> String {
        var s = "<pre class=\"summary\">\(HTML.escape(StudyReport.summary(trials, settings: settings)))</pre>\n"
        if let best = StudyReport.best(trials, settings: settings).first {
            s += "<p>Best feasible trial: <a href=\"#trial-\(best.number)\" data-trial=\"\(best.number)\">trial \(best.number)</a> — "
                + HTML.escape(StudyReport.layerSummary(best.architecture)) + "</p>\n"
        }
        return s
    }

    func historyHTML() -> String {
        guard let objective = settings.objectives.first else { return "<p>The study has no objective.</p>" }
        let complete = trials.filter { $0.state == .complete && StudyReport.primaryValue($0, settings: settings).isFinite }
        let points = LinePlot.Series(
            name: objective.name, colour: "#1f77b4", style: .points,
            xs: complete.map { Double($0.number) }, ys: complete.map { StudyReport.primaryValue($0, settings: settings) },
            trials: complete.map(\.number), titles: complete.map(hoverText), cssClass: "trial-point")
        // Best so far among the feasible trials, in the objective's direction.
        var bestX: [Double] = [], bestY: [Double] = []
        var best: Double?
        for t in trials where StudyReport.isFeasible(t, settings: settings) {
            let v = StudyReport.primaryValue(t, settings: settings)
            if best == nil || (objective.maximize ? v > best! : v < best!) {
                best = v; bestX.append(Double(t.number)); bestY.append(v)
            }
        }
        if let best, let last = trials.last { bestX.append(Double(last.number)); bestY.append(best) }
        let line = LinePlot.Series(name: "best feasible so far", colour: "#e67e22", style: .step, xs: bestX, ys: bestY,
                                   cssClass: "best-so-far")
        let plot = LinePlot(title: "\(objective.name) per trial", xLabel: "trial",
                            yLabel: "\(objective.name) (\(objective.maximize ? "higher" : "lower") is better)", series: [points, line])
        let failed = trials.count { $0.state == .failed }
        return "<figure>\(plot.svg())</figure>\n<p class=\"note\">Each point is a complete trial; click one for its architecture. "
            + "\(failed) failed trial\(failed == 1 ? "" : "s") not plotted.</p>"
    }

    func paretoHTML() -> String {
        "<figure>\(StudyReport.paretoSVG(trials, settings: settings, standalone: false))</figure>\n"
            + "<p class=\"note\">Hover a point for its objective, costs and layers; click it for its architecture.</p>"
    }

    func budgetsHTML() -> String {
        guard !settings.constraints.isEmpty else { return "<p>The study has no budget (no constraint).</p>" }
        var s = "<div class=\"plots\">"
        for cost in CostKind.allCases {
            let constraints = settings.constraints.filter { $0.cost == cost }
            guard !constraints.isEmpty else { continue }
            let (scale, unit): (Double, String) = cost == .params ? (1e6, "M") : cost == .flops ? (1e9, "G") : (1, "ms")
            let shown = trials.filter { $0.costs.value(cost)?.isFinite ?? false }
            let series = LinePlot.Series(
                name: cost.rawValue, colour: "#1f77b4", style: .points, xs: shown.map { Double($0.number) },
                ys: shown.map { $0.costs.value(cost)! / scale }, trials: shown.map(\.number), titles: shown.map(hoverText),
                cssClass: "budget-point")
            var references: [(y: Double, label: String)] = []
            for c in constraints {
                if let lo = c.min { references.append((lo / scale, Constraint(cost, min: lo).description)) }
                if let hi = c.max { references.append((hi / scale, Constraint(cost, max: hi).description)) }
            }
            let plot = LinePlot(title: "\(cost.rawValue) per trial and its budget", xLabel: "trial", yLabel: "\(cost.rawValue) (\(unit))",
                                series: [series], references: references)
            s += "<figure>\(plot.svg())</figure>"
        }
        return s + "</div>"
    }

    func parallelHTML() -> String {
        guard let space = snapshot.space else { return "<p>The study's search space cannot be read by this build.</p>" }
        return "<figure>\(ParallelCoordinatesPlot(genes: space.genes, trials: trials, settings: settings).svg())</figure>"
    }

    func importanceHTML() -> String {
        guard let space = snapshot.space, let objective = settings.objectives.first else {
            return "<p>The study's search space cannot be read by this build.</p>"
        }
        let rows = GeneImportance.etaSquared(trials: trials, settings: settings, geneNames: space.genes.map(\.name))
        var s = "<p class=\"note\">Method: one-way ANOVA per gene — η², the share of the variance of \(HTML.escape(objective.name)) "
            + "explained by grouping the complete trials by the gene's choice (SS between / SS total). Each gene on its own, "
            + "no interactions; with few trials per choice η² overstates a gene's share.</p>\n"
        s += "<table class=\"sortable importance\"><thead><tr><th class=\"text\">gene</th><th>η²</th><th class=\"text\"></th>"
            + "<th>choices seen</th><th>trials</th></tr></thead><tbody>\n"
        for r in rows {
            let width = r.etaSquared.isFinite ? Int((r.etaSquared * 160).rounded()) : 0
            s += "<tr><td class=\"text\">\(HTML.escape(r.gene))</td><td data-sort=\"\(HTML.sortKey(r.etaSquared))\">"
                + (r.etaSquared.isFinite ? String(format: "%.3f", r.etaSquared) : "n/a")
                + "</td><td class=\"text\"><span class=\"bar\" style=\"width:\(width)px\"></span></td>"
                + "<td>\(r.choicesSeen)</td><td>\(r.trials)</td></tr>\n"
        }
        return s + "</tbody></table>"
    }

    func tableHTML(page: TablePage) -> String {
        let names = settings.objectives.map(\.name)
        let start = min(max(0, page.offset), trials.count)
        let end = page.limit.map { min(trials.count, start + max(0, $0)) } ?? trials.count
        var s = ""
        if let limit = page.limit, let link = page.link, limit > 0 {
            s += pager(start: start, end: end, limit: limit, link: link)
        }
        s += "<div class=\"table-wrap\"><table class=\"sortable trials\"><thead><tr><th>#</th><th class=\"text\">state</th>"
        s += names.map { "<th>\(HTML.escape($0))</th>" }.joined()
        s += "<th>params M</th><th>FLOPs G</th><th>latency ms</th><th>seconds</th><th class=\"text\">budget / failure</th>"
            + "<th class=\"text\">layers</th></tr></thead><tbody>\n"
        for t in trials[start..<end] {
            s += "<tr id=\"trial-\(t.number)\" class=\"\(t.state.rawValue)\"><td data-sort=\"\(t.number)\">\(t.number)</td>"
            s += "<td class=\"text\">\(t.state.rawValue)</td>"
            for name in names {
                s += "<td data-sort=\"\(HTML.sortKey(t.objectives[name]))\">\(HTML.value(t.objectives[name]))</td>"
            }
            let latency = t.costs.measuredLatencyMs ?? t.costs.latencyMs
            s += "<td data-sort=\"\(t.costs.params)\">\(HTML.scaled(Double(t.costs.params), by: 1e6))</td>"
            s += "<td data-sort=\"\(t.costs.flops)\">\(HTML.scaled(Double(t.costs.flops), by: 1e9))</td>"
            s += "<td data-sort=\"\(HTML.sortKey(latency))\">"
                + (latency.map { String(format: "%.3f", $0) + (t.costs.measuredLatencyMs != nil ? "*" : "") } ?? "-") + "</td>"
            s += "<td data-sort=\"\(HTML.sortKey(t.seconds))\">\(String(format: "%.2f", t.seconds))</td>"
            s += "<td class=\"text\">\(HTML.escape(verdict(t)))</td>"
            s += "<td class=\"text\">\(HTML.escape(StudyReport.layerSummary(t.architecture)))"
            s += "<details><summary>architecture JSON</summary><pre class=\"architecture\">\(HTML.escape(Self.architectureFile(t)))</pre></details></td></tr>\n"
        }
        s += "</tbody></table></div>\n"
        s += "<p class=\"note\">Trials \(start)…\(max(start, end) - 1 < start ? start : end - 1) of \(trials.count). Click a header to sort "
            + "(this page's rows); * measured latency.</p>"
        return s
    }

    /// Links to the previous and next pages and to the first and last.
    func pager(start: Int, end: Int, limit: Int, link: (Int) -> String) -> String {
        var parts: [String] = []
        if start > 0 {
            parts.append("<a href=\"\(HTML.escape(link(0)))\">first</a>")
            parts.append("<a href=\"\(HTML.escape(link(max(0, start - limit))))\" rel=\"prev\">previous</a>")
        }
        parts.append("<span>trials \(start)–\(max(start, end - 1)) of \(trials.count)</span>")
        if end < trials.count {
            parts.append("<a href=\"\(HTML.escape(link(end)))\" rel=\"next\">next</a>")
            parts.append("<a href=\"\(HTML.escape(link(((trials.count - 1) / limit) * limit)))\">last</a>")
        }
        return "<p class=\"pager\">" + parts.joined(separator: " ") + "</p>\n"
    }

    /// Why a trial does not count: its failure reason, "running"/"waiting", the constraints it breaks with
    /// its cost, or "ok".
    func verdict(_ t: Trial) -> String {
        switch t.state {
        case .failed: return t.failure.map { "failed: \($0)" } ?? "failed"
        case .running: return "running" + (t.worker.map { " on \($0)" } ?? "")
        case .waiting: return "waiting (re-queued)"
        case .complete: break
        }
        let broken = settings.constraints.filter { !$0.allows(t.costs) }
        if !broken.isEmpty {
            return "over budget: " + broken.map { c in
                let v = t.costs.value(c.cost).map { c.cost == .params ? String(format: "%.3fM", $0 / 1e6)
                                                   : c.cost == .flops ? String(format: "%.3fG", $0 / 1e9) : String(format: "%.3f ms", $0) } ?? "unknown"
                return "\(c.cost.rawValue) \(v), allowed \(c.description)"
            }.joined(separator: "; ")
        }
        if !StudyReport.primaryValue(t, settings: settings).isFinite { return "objective not finite" }
        return "ok"
    }

    /// The hover text of a trial's point.
    func hoverText(_ t: Trial) -> String {
        var s = "trial \(t.number)"
        for o in settings.objectives { s += ": \(o.name) \(HTML.value(t.objectives[o.name]))" }
        s += String(format: "; %.3fM params, %.3f GFLOPs", Double(t.costs.params) / 1e6, Double(t.costs.flops) / 1e9)
        if let l = t.costs.measuredLatencyMs ?? t.costs.latencyMs { s += String(format: ", %.3f ms", l) }
        return s + "; " + StudyReport.layerSummary(t.architecture)
    }

    /// The trial's architecture as the pretty JSON file the CLI accepts (`--arch FILE`), as
    /// `swiftnas study export` writes it.
    public static func architectureFile(_ t: Trial) -> String {
        guard case .object(let root) = StudyReport.exportJSON([t]), case .array(let rows)? = root["trials"],
              case .object(let row)? = rows.first, let arch = row["architecture"], arch != .null,
              let text = try? arch.serialized(pretty: true) else { return "null" }
        return text
    }
}
