import Foundation
import NASModels

/// What `swiftnas study` shows of a study: its best trials, its Pareto front, exports (JSON, CSV), text
/// tables and the Pareto plot (SVG). Pure functions of the settings and the trials.
///
/// A trial is *feasible* when it is complete, every constraint of the settings allows its costs, and its
/// primary objective (`settings.objectives[0]`) is finite.
public enum StudyReport {

    // MARK: - Selection

    /// The primary objective's value of `trial` (NaN when it has none).
    public static func primaryValue(_ trial: Trial, settings: StudySettings) -> Double {
        guard let objective = settings.objectives.first else { return .nan }
        return trial.objectives[objective.name] ?? .nan
    }

    /// Whether `trial` is complete, within every constraint, and has a finite primary objective.
    public static func isFeasible(_ trial: Trial, settings: StudySettings) -> Bool {
        trial.state == .complete && settings.constraints.allow(trial.costs)
            && primaryValue(trial, settings: settings).isFinite
    }

    /// The `top` best feasible trials by the primary objective (largest first when it is maximized,
    /// smallest first otherwise), ties broken by the lower trial number.
    public static func best(_ trials: [Trial], settings: StudySettings, top: Int = 1) -> [Trial] {
        guard let objective = settings.objectives.first else { return [] }
        let ranked = trials.filter { isFeasible($0, settings: settings) }.sorted { a, b in
            let x = primaryValue(a, settings: settings), y = primaryValue(b, settings: settings)
            if x != y { return objective.maximize ? x > y : x < y }
            return a.number < b.number
        }
        return Array(ranked.prefix(max(0, top)))
    }

    /// The Pareto front of the feasible trials in (primary objective, `settings.paretoCost`): the
    /// objective in its direction (maximized unless the settings say otherwise), the cost minimized.
    /// Trials whose cost is unknown or not finite take no part. Sorted by cost, then by objective (best
    /// first), then by number. Uses `ParetoFront.nonDominatedSort`; equal points all belong to the front.
    public static func paretoFront(_ trials: [Trial], settings: StudySettings) -> [Trial] {
        guard let objective = settings.objectives.first else { return [] }
        let candidates = trials.filter {
            isFeasible($0, settings: settings) && ($0.costs.value(settings.paretoCost)?.isFinite ?? false)
        }
        let sign = objective.maximize ? -1.0 : 1.0
        let points = candidates.map { [sign * primaryValue($0, settings: settings), $0.costs.value(settings.paretoCost)!] }
        let front = ParetoFront.nonDominatedSort(points).first ?? []
        return front.sorted { i, j in
            if points[i][1] != points[j][1] { return points[i][1] < points[j][1] }
            if points[i][0] != points[j][0] { return points[i][0] < points[j][0] }
            return candidates[i].number < candidates[j].number
        }.map { candidates[$0] }
    }

    // MARK: - Exports

    /// The trials as JSON:
    ///
    ///     {"trials": [{"number": 0, "state": "complete",
    ///                  "architecture": {…the Architecture's JSON object…},
    ///                  "objectives": {"w-pca": 12.5, …},           (null: not finite)
    ///                  "costs": {"params": 4200000, "flops": 530000000,
    ///                            "latency_ms": 3.2, "measured_latency_ms": 3.4}}]}   (latencies when known)
    ///
    /// A failed trial adds `"failure": "why"` and, when its worker died and its genome was re-queued,
    /// `"requeued_as": number`; a storage that records workers (PostgreSQL) adds `"worker": "host:pid"`.
    /// `state` is also "running" or "waiting" for trials in progress.
    /// An architecture that cannot be encoded (a non-finite `layerNormEps`) is written as null.
    public static func exportJSON(_ trials: [Trial]) -> JSONValue {
        .object(["trials": .array(trials.map { t in
            var members: [String: JSONValue] = [
                "number": .int(t.number),
                "state": .string(t.state.rawValue),
                "architecture": (try? StudyRecord.architectureJSON(t.architecture)) ?? .null,
                "objectives": StudyRecord.objectivesJSON(t.objectives),
                "costs": StudyRecord.costsJSON(t.costs),
            ]
            if let failure = t.failure { members["failure"] = .string(failure) }
            if let requeued = t.requeuedAs { members["requeued_as"] = .int(requeued) }
            if let worker = t.worker { members["worker"] = .string(worker) }
            return .object(members)
        })])
    }

    /// The trials as CSV (RFC 4180 quoting, lines ending in "\n"), one row per trial:
    ///
    ///     number,state,<each objective of the settings>,params,flops,latency_ms,measured_latency_ms,depth,hidden,architecture,failure
    ///
    /// `failure` is a failed trial's reason (empty otherwise). Numbers are written in Swift's shortest exact form; an empty cell is an unknown or non-finite
    /// value. `architecture` is the compact JSON object, always quoted (its quotes doubled). Any other
    /// field holding a comma, quote or line break is quoted too.
    public static func exportCSV(_ trials: [Trial], settings: StudySettings) -> String {
        let names = settings.objectives.map(\.name)
        var header = ["number", "state"] + names
        header += ["params", "flops", "latency_ms", "measured_latency_ms", "depth", "hidden", "architecture", "failure"]
        var out = header.map { csvField($0) }.joined(separator: ",") + "\n"
        func number(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "" }
            return "\(v)"
        }
        for t in trials {
            var row = [String(t.number), t.state.rawValue] + names.map { number(t.objectives[$0]) }
            row += [String(t.costs.params), String(t.costs.flops), number(t.costs.latencyMs), number(t.costs.measuredLatencyMs),
                    String(t.architecture.depth), String(t.architecture.hidden)]
            let architecture = (try? StudyRecord.architectureText(t.architecture)) ?? ""
            out += row.map { csvField($0) }.joined(separator: ",") + "," + csvField(architecture, alwaysQuote: true)
                + "," + csvField(t.failure ?? "") + "\n"
        }
        return out
    }

    /// One CSV field: quoted (with inner quotes doubled) when it holds a comma, quote or line break, or
    /// when `alwaysQuote`.
    static func csvField(_ s: String, alwaysQuote: Bool = false) -> String {
        let needsQuotes = alwaysQuote || s.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        return needsQuotes ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    // MARK: - Text

    /// A fixed-width table of the trials in the given order, at most `limit` rows (then a line saying
    /// how many were left out): number, state, each objective, params (M), FLOPs (G), latency (ms; `*`
    /// when measured), depth, hidden and a short per-layer summary (`layerSummary`).
    public static func table(_ trials: [Trial], settings: StudySettings, limit: Int? = nil) -> String {
        let shown = limit.map { Array(trials.prefix(max(0, $0))) } ?? trials
        let names = settings.objectives.map(\.name)
        let header = ["#", "state"] + names + ["params M", "FLOPs G", "latency ms", "depth", "hidden", "layers"]
        var rows: [[String]] = []
        var anyMeasured = false
        for t in shown {
            var row = [String(t.number), t.state.rawValue]
            row += names.map { name in
                guard let v = t.objectives[name], v.isFinite else { return "-" }
                return String(format: "%.6g", v)
            }
            row.append(String(format: "%.3f", Double(t.costs.params) / 1e6))
            row.append(String(format: "%.3f", Double(t.costs.flops) / 1e9))
            if let m = t.costs.measuredLatencyMs {
                anyMeasured = true
                row.append(String(format: "%.3f*", m))
            } else if let p = t.costs.latencyMs {
                row.append(String(format: "%.3f", p))
            } else {
                row.append("-")
            }
            row += [String(t.architecture.depth), String(t.architecture.hidden), layerSummary(t.architecture)]
            rows.append(row)
        }
        // Every column but the state and the layers is right-aligned.
        let leftAligned: Set<Int> = [1, header.count - 1]
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == header.count - 1 ? cell : leftAligned.contains(c) ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var out = line(header)
        for row in rows { out += "\n" + line(row) }
        if shown.isEmpty { out += "\n(no trials)" }
        if shown.count < trials.count { out += "\n… \(trials.count - shown.count) more" }
        if anyMeasured { out += "\n* measured latency" }
        return out
    }

    /// A short text of an architecture's layers: runs of equal layers as "4× sdp h4 q256 f1024", joined
    /// by " | " and cut at 60 characters. Per layer: the operation, for attention the heads (`h`) and
    /// q/k/v width (`q`), the FFN widths (`f1024+512`), and when present the layer's own width (`w`)
    /// and bottleneck (`b`).
    public static func layerSummary(_ architecture: Architecture) -> String {
        func text(_ l: Architecture.Layer) -> String {
            var s = l.operation.description
            // Attention and dynamic convolution have heads and a q/k/v width; DFT and DCT have neither.
            if l.operation != .dft && l.operation != .dct { s += " h\(l.heads) q\(l.qkv)" }
            s += " f" + l.ffnWidths.map(String.init).joined(separator: "+")
            if let w = l.hidden { s += " w\(w)" }
            if let b = l.bottleneck { s += " b\(b)" }
            return s
        }
        var runs: [(String, Int)] = []
        for layer in architecture.layers {
            let t = text(layer)
            if let last = runs.last, last.0 == t { runs[runs.count - 1].1 += 1 } else { runs.append((t, 1)) }
        }
        let summary = runs.map { "\($0.1)× \($0.0)" }.joined(separator: " | ")
        return summary.count > 60 ? String(summary.prefix(59)) + "…" : summary
    }

    /// A few lines about the study: settings, trial counts, the best feasible trial.
    public static func summary(_ trials: [Trial], settings: StudySettings) -> String {
        var lines: [String] = []
        var first = "strategy \(settings.strategy), seed \(settings.seed), sequence length \(settings.sequenceLength)"
        if case .object(let space) = settings.space, case .string(let name)? = space["name"] { first += ", space \(name)" }
        lines.append(first)
        let objectives = settings.objectives.map { "\($0.name) (\($0.maximize ? "maximized" : "minimized"))" }
        let constraints = settings.constraints.isEmpty ? "none" : settings.constraints.map(\.description).joined(separator: ", ")
        lines.append("objectives: \(objectives.joined(separator: ", ")); constraints: \(constraints); "
                     + "Pareto cost: \(settings.paretoCost.rawValue)")
        let complete = trials.count { $0.state == .complete }, failed = trials.count { $0.state == .failed }
        let feasible = trials.count { isFeasible($0, settings: settings) }
        var counts = "trials: \(trials.count) (\(complete) complete, \(failed) failed; \(feasible) feasible"
        let requeued = trials.count { $0.requeuedAs != nil }
        if requeued > 0 { counts += "; \(requeued) failed with their worker and re-queued" }
        let running = trials.count { $0.state == .running }, waiting = trials.count { $0.state == .waiting }
        if running + waiting > 0 { counts += "; \(running) running, \(waiting) waiting" }
        counts += ")"
        if let top = best(trials, settings: settings).first, let objective = settings.objectives.first {
            counts += String(format: "; best %@ %.6g (trial %d)", objective.name, primaryValue(top, settings: settings), top.number)
        }
        lines.append(counts)
        return lines.joined(separator: "\n")
    }

    // MARK: - Pareto plot

    /// The Pareto plot as a standalone SVG document: every complete trial with a finite objective and
    /// cost as a point (`settings.paretoCost` on x — parameters in M, FLOPs in G, latency in ms — and the
    /// primary objective on y); feasible trials filled (`class="feasible"`), infeasible ones hollow
    /// (`class="infeasible"`); the Pareto front (`paretoFront`) highlighted (`class="front"`) and joined
    /// by a step line (`class="front-line"`); and each bound of a constraint on that cost a dashed
    /// vertical line (`class="constraint"`) labelled with the bound, e.g. "params ≤ 10M". Failed trials
    /// and points with a non-finite value are counted in a footnote.
    ///
    /// `standalone: false` gives the drawing for an HTML page (see `SVGFrame`), where every trial's
    /// circle also carries `data-trial="N"` and a `<title>`: the trial, its objective, its costs and its
    /// layers (`layerSummary`), the text a browser shows on hover.
    public static func paretoSVG(_ trials: [Trial], settings: StudySettings, standalone: Bool = true) -> String {
        let cost = settings.paretoCost
        let (scale, xLabel): (Double, String) = {
            switch cost {
            case .params: return (1e-6, "parameters (M)")
            case .flops: return (1e-9, "FLOPs (G)")
            case .latency: return (1, "latency (ms)")
            }
        }()
        let objective = settings.objectives.first
        struct Dot { var x: Double; var y: Double; var feasible: Bool; var trial: Trial }
        var dots: [Dot] = []
        var omitted = 0
        for t in trials {
            let y = primaryValue(t, settings: settings)
            guard t.state == .complete, y.isFinite, let c = t.costs.value(cost), c.isFinite else { omitted += 1; continue }
            dots.append(Dot(x: c * scale, y: y, feasible: isFeasible(t, settings: settings), trial: t))
        }
        let front = paretoFront(trials, settings: settings).map { Dot(x: $0.costs.value(cost)! * scale,
                                                                       y: primaryValue($0, settings: settings), feasible: true, trial: $0) }
        // Constraint bounds on the plotted cost: (x, label).
        var bounds: [(Double, String)] = []
        for c in settings.constraints where c.cost == cost {
            if let lo = c.min, lo.isFinite { bounds.append((lo * scale, Constraint(cost, min: lo).description)) }
            if let hi = c.max, hi.isFinite { bounds.append((hi * scale, Constraint(cost, max: hi).description)) }
        }

        let xAxis = ScatterPlot.linearAxis(dots.map(\.x) + bounds.map(\.0))
        let yAxis = ScatterPlot.linearAxis(dots.map(\.y))
        let frame = SVGFrame(left: 80, right: 24, top: 64, bottom: 72, xAxis: xAxis, yAxis: yAxis)
        let (top, plotH, width, height) = (frame.top, frame.plotHeight, frame.width, frame.height)
        func px(_ v: Double) -> String { svgNumber(frame.px(v)) }
        func py(_ v: Double) -> String { svgNumber(frame.py(v)) }
        // On a page: the trial's number and its hover text inside each circle.
        func hover(_ dot: Dot) -> (attribute: String, content: String) {
            guard !standalone else { return ("", "") }
            let t = dot.trial
            var text = "trial \(t.number): \(objective?.name ?? "objective") \(String(format: "%.6g", dot.y))"
            text += String(format: "; %.3fM params, %.3f GFLOPs", Double(t.costs.params) / 1e6, Double(t.costs.flops) / 1e9)
            if let l = t.costs.measuredLatencyMs ?? t.costs.latencyMs { text += String(format: ", %.3f ms", l) }
            text += "; \(t.architecture.depth) layers, hidden \(t.architecture.hidden): \(layerSummary(t.architecture))"
            return (" data-trial=\"\(t.number)\"", "<title>\(ScatterPlot.escape(text))</title>")
        }
        func circle(_ dot: Dot, _ attributes: String) -> String {
            let (data, title) = hover(dot)
            let head = "<circle\(data) \(attributes) cx=\"\(svgNumber(frame.px(dot.x)))\" cy=\"\(svgNumber(frame.py(dot.y)))\""
            return title.isEmpty ? head + "/>\n" : head + ">" + title + "</circle>\n"
        }
        let yLabel = objective.map { "\($0.name) (\($0.maximize ? "higher" : "lower") is better)" } ?? "objective"
        var s = frame.open(title: "Pareto front: \(objective?.name ?? "objective") vs \(cost.rawValue)", xTitle: xLabel, yTitle: yLabel,
                           standalone: standalone)

        for (x, label) in bounds {
            s += "<line class=\"constraint\" x1=\"\(px(x))\" y1=\"\(svgNumber(top))\" x2=\"\(px(x))\" y2=\"\(svgNumber(top + plotH))\" "
            s += "stroke=\"#c0392b\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\"/>"
            // A bound at the plot's right edge is labelled leftwards, so the label stays on the page.
            let anchor = frame.px(x) > width - 70 ? "end" : "middle"
            s += "<text class=\"constraint-label\" x=\"\(px(x))\" y=\"\(svgNumber(top - 6))\" text-anchor=\"\(anchor)\" fill=\"#c0392b\">\(ScatterPlot.escape(label))</text>\n"
        }
        for dot in dots where !dot.feasible {
            s += circle(dot, "class=\"infeasible\" r=\"3\" fill=\"none\" stroke=\"#999\"")
        }
        for dot in dots where dot.feasible {
            s += circle(dot, "class=\"feasible\" r=\"3\" fill=\"#1f77b4\" fill-opacity=\"0.6\"")
        }
        if let first = front.first {
            // The attained front: from each point, across to the next point's cost, then to its value.
            var d = "M \(px(first.x)) \(py(first.y))"
            for p in front.dropFirst() { d += " H \(px(p.x)) V \(py(p.y))" }
            s += "<path class=\"front-line\" d=\"\(d)\" fill=\"none\" stroke=\"#e67e22\" stroke-width=\"1.5\"/>\n"
            for p in front {
                s += circle(p, "class=\"front\" r=\"4.5\" fill=\"#e67e22\" stroke=\"#8a4a12\"")
            }
        }
        // Legend: between the title and the constraint labels, on the right.
        let legendY = svgNumber(40)
        s += "<g class=\"legend\" font-size=\"11\">"
        s += "<circle cx=\"\(svgNumber(width - 300))\" cy=\"\(legendY)\" r=\"3\" fill=\"#1f77b4\" fill-opacity=\"0.6\"/>"
        s += "<text x=\"\(svgNumber(width - 292))\" y=\"\(legendY)\" dominant-baseline=\"middle\">feasible</text>"
        s += "<circle cx=\"\(svgNumber(width - 226))\" cy=\"\(legendY)\" r=\"3\" fill=\"none\" stroke=\"#999\"/>"
        s += "<text x=\"\(svgNumber(width - 218))\" y=\"\(legendY)\" dominant-baseline=\"middle\">infeasible</text>"
        s += "<circle cx=\"\(svgNumber(width - 144))\" cy=\"\(legendY)\" r=\"4.5\" fill=\"#e67e22\" stroke=\"#8a4a12\"/>"
        s += "<text x=\"\(svgNumber(width - 136))\" y=\"\(legendY)\" dominant-baseline=\"middle\">Pareto front</text></g>\n"

        let feasibleCount = dots.count { $0.feasible }
        var note = "\(feasibleCount) feasible, \(dots.count - feasibleCount) infeasible; front of \(front.count)"
        if omitted > 0 { note += "; \(omitted) failed or without a finite value not plotted" }
        s += "<text class=\"note\" x=\"8\" y=\"\(svgNumber(height - 8))\" font-size=\"10\" fill=\"#555\">\(ScatterPlot.escape(note))</text>\n</svg>\n"
        return s
    }
}

