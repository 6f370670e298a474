import Foundation
import NASModels

/// Why a report file could not be written or read.
public struct RankingWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// How well one proxy ranks the architectures: its correlations with the target (`glue`, or −perplexity),
/// its within-band τ (`WithinBandCorrelation`), its cost, and optionally its correlations with each
/// GLUE task.
public struct ProxyCorrelation: Equatable, Sendable {
    public var name: String
    /// Kendall τ-b with the target (`NaN` when undefined, written as `null`).
    public var kendall: Double
    public var spearman: Double
    public var pearson: Double
    /// Within-band Kendall τ-b with the target (`WithinBandCorrelation.kendall`); `NaN` when undefined
    /// or not computed (files written before it existed).
    public var withinBandKendall: Double
    /// Mean wall-clock seconds to score one architecture.
    public var secondsPerArch: Double
    /// Correlations with each task's score, keyed by task name (`cola`, `mnli`, …), when computed.
    public var perTask: [String: Correlations]?

    public init(name: String, kendall: Double, spearman: Double, pearson: Double, withinBandKendall: Double = .nan,
                secondsPerArch: Double, perTask: [String: Correlations]? = nil) {
        self.name = name
        self.kendall = kendall
        self.spearman = spearman
        self.pearson = pearson
        self.withinBandKendall = withinBandKendall
        self.secondsPerArch = secondsPerArch
        self.perTask = perTask
    }

    public init(name: String, correlations c: Correlations, withinBandKendall: Double = .nan, secondsPerArch: Double,
                perTask: [String: Correlations]? = nil) {
        self.init(name: name, kendall: c.kendall, spearman: c.spearman, pearson: c.pearson,
                  withinBandKendall: withinBandKendall, secondsPerArch: secondsPerArch, perTask: perTask)
    }

    public var correlations: Correlations { Correlations(kendall: kendall, spearman: spearman, pearson: pearson) }

    public static func == (a: ProxyCorrelation, b: ProxyCorrelation) -> Bool {
        func same(_ u: Double, _ v: Double) -> Bool { u == v || (u.isNaN && v.isNaN) }
        return a.name == b.name && a.correlations == b.correlations && a.perTask == b.perTask
            && same(a.withinBandKendall, b.withinBandKendall) && same(a.secondsPerArch, b.secondsPerArch)
    }
}

/// The summary of one `swiftnas rank` run, written as `ranking.json`:
///
///     {"proxies": [{"name", "kendall", "spearman", "pearson", "withinBandKendall", "secondsPerArch"
///                   [, "perTask"]}],
///      "protocol", "tokens", "architectures"}
///
/// Keys appear in exactly that order; `perTask` (an object of task → {"kendall", "spearman",
/// "pearson"}, tasks sorted) only when present; a `NaN` (undefined correlation) is written as `null`
/// and read back as `NaN`. Files written before `withinBandKendall` existed are read with it `NaN`.
public struct RankingResult: Equatable, Sendable {
    /// Free-form name of the scoring protocol (data, batch, seeds), e.g. "flexibert-dev, 1 batch".
    public var `protocol`: String
    /// Input tokens each proxy saw per architecture.
    public var tokens: Int
    /// Architectures ranked.
    public var architectures: Int
    public var proxies: [ProxyCorrelation]

    public init(protocol: String, tokens: Int, architectures: Int, proxies: [ProxyCorrelation]) {
        self.protocol = `protocol`
        self.tokens = tokens
        self.architectures = architectures
        self.proxies = proxies
    }

    /// The `ranking.json` text (two-space indentation, trailing newline).
    public func jsonText() -> String {
        func number(_ d: Double) -> String { d.isFinite ? "\(d)" : "null" }
        func triple(_ c: Correlations) -> String {
            "{\"kendall\": \(number(c.kendall)), \"spearman\": \(number(c.spearman)), \"pearson\": \(number(c.pearson))}"
        }
        var s = "{\n  \"proxies\": ["
        for (i, p) in proxies.enumerated() {
            s += (i == 0 ? "\n" : ",\n") + "    {\n"
            s += "      \"name\": \(JSONValue.quoted(p.name)),\n"
            s += "      \"kendall\": \(number(p.kendall)),\n"
            s += "      \"spearman\": \(number(p.spearman)),\n"
            s += "      \"pearson\": \(number(p.pearson)),\n"
            s += "      \"withinBandKendall\": \(number(p.withinBandKendall)),\n"
            s += "      \"secondsPerArch\": \(number(p.secondsPerArch))"
            if let perTask = p.perTask {
                let tasks = perTask.keys.sorted()
                    .map { "        \(JSONValue.quoted($0)): \(triple(perTask[$0]!))" }
                s += ",\n      \"perTask\": {" + (tasks.isEmpty ? "}" : "\n" + tasks.joined(separator: ",\n") + "\n      }")
            }
            s += "\n    }"
        }
        s += proxies.isEmpty ? "],\n" : "\n  ],\n"
        s += "  \"protocol\": \(JSONValue.quoted(self.protocol)),\n"
        s += "  \"tokens\": \(tokens),\n"
        s += "  \"architectures\": \(architectures)\n}\n"
        return s
    }

    /// Reads `ranking.json` back (e.g. to compare runs).
    public init(jsonData data: Data) throws {
        func fail(_ message: String) -> RankingWriteError { RankingWriteError(path: "ranking.json", reason: message) }
        guard case .object(let top) = try JSONValue(parsing: data) else { throw fail("expected an object") }
        func number(_ v: JSONValue?, _ key: String) throws -> Double {
            switch v {
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            case .null?: return .nan
            default: throw fail("\(key): expected a number or null")
            }
        }
        func triple(_ v: JSONValue?, _ key: String) throws -> Correlations {
            guard case .object(let o)? = v else { throw fail("\(key): expected an object") }
            return Correlations(kendall: try number(o["kendall"], key + ".kendall"),
                                spearman: try number(o["spearman"], key + ".spearman"),
                                pearson: try number(o["pearson"], key + ".pearson"))
        }
        guard case .string(let proto)? = top["protocol"] else { throw fail("protocol: expected a string") }
        guard case .int(let tokens)? = top["tokens"] else { throw fail("tokens: expected an integer") }
        guard case .int(let architectures)? = top["architectures"] else { throw fail("architectures: expected an integer") }
        guard case .array(let items)? = top["proxies"] else { throw fail("proxies: expected an array") }
        var proxies: [ProxyCorrelation] = []
        for (i, item) in items.enumerated() {
            let key = "proxies[\(i)]"
            guard case .object(let o) = item, case .string(let name)? = o["name"] else {
                throw fail("\(key): expected an object with a name")
            }
            var perTask: [String: Correlations]?
            if let value = o["perTask"] {
                guard case .object(let tasks) = value else { throw fail("\(key).perTask: expected an object") }
                perTask = try tasks.mapValues { try triple($0, "\(key).perTask") }
            }
            // Absent in files written before within-band τ existed: undefined.
            let withinBand = o["withinBandKendall"] == nil ? Double.nan
                : try number(o["withinBandKendall"], key + ".withinBandKendall")
            proxies.append(ProxyCorrelation(
                name: name, correlations: try triple(item, key), withinBandKendall: withinBand,
                secondsPerArch: try number(o["secondsPerArch"], key + ".secondsPerArch"), perTask: perTask))
        }
        self.init(protocol: proto, tokens: tokens, architectures: architectures, proxies: proxies)
    }
}

/// One proxy's raw scores, one per architecture (in the report's architecture order).
public struct ProxyScores: Sendable {
    public var name: String
    /// May hold `NaN`/`±inf`; those architectures are left out of this proxy's correlations and plot.
    public var scores: [Double]
    public var secondsPerArch: Double

    public init(name: String, scores: [Double], secondsPerArch: Double) {
        self.name = name
        self.scores = scores
        self.secondsPerArch = secondsPerArch
    }
}

/// Everything `swiftnas rank` writes: the `RankingResult` plus the per-architecture scores behind it.
///
/// `write(to:)` produces `ranking.json`, `scores.csv` (one row per architecture: id, target, each
/// proxy's score), `correlations.csv` (one row per proxy and task) and `scatter-<proxy>.svg` (proxy
/// score vs target), each written atomically; `table()` is the fixed-width summary for stdout.
public struct RankingReport: Sendable {
    public var result: RankingResult
    /// Architecture ids, in row order (FlexiBERT's integers as text, LTS's `config_0_j0`, …).
    public var ids: [String]
    /// Name of the ground truth the proxies are ranked against (`glue`, `-valid_ppl`).
    public var targetName: String
    public var target: [Double]
    /// Raw scores, parallel to `result.proxies`.
    public var proxies: [ProxyScores]
    /// The sizes the within-band τ bands by (one per id), when given.
    public var sizes: [Double]?
    /// Each proxy's within-band τ against `target` (parallel to `proxies`; undefined without `sizes`).
    public var withinBand: [WithinBandCorrelation]
    /// Each proxy's within-band τ against each task, when tasks and sizes are given.
    public var withinBandPerTask: [[String: WithinBandCorrelation]]

    /// Correlates each proxy with `target` and, if `taskTargets` is given, with each task's scores.
    /// With `sizes` (one per id: the parameter count the bands are made of), adds the within-band τ
    /// (`WithinBandCorrelation`, ratio 1.10, bands of at least 5). Every array must have one value per id.
    public init(protocol: String, tokens: Int, ids: [String], target: [Double], targetName: String = "glue",
                proxies: [ProxyScores], taskTargets: [String: [Double]]? = nil, sizes: [Double]? = nil) {
        precondition(target.count == ids.count, "target has \(target.count) values for \(ids.count) architectures")
        for p in proxies {
            precondition(p.scores.count == ids.count, "\(p.name) has \(p.scores.count) scores for \(ids.count) architectures")
        }
        if let sizes { precondition(sizes.count == ids.count, "\(sizes.count) sizes for \(ids.count) architectures") }
        func band(_ scores: [Double], _ truth: [Double]) -> WithinBandCorrelation {
            guard let sizes else { return WithinBandCorrelation(kendall: .nan, bandsUsed: 0, rowsCovered: 0, bandCount: 0) }
            return WithinBandCorrelation.kendall(sizes: sizes, proxy: scores, truth: truth)
        }
        withinBand = proxies.map { band($0.scores, target) }
        withinBandPerTask = proxies.map { p in (taskTargets ?? [:]).mapValues { band(p.scores, $0) } }
        let correlations = zip(proxies, withinBand).map { p, w in
            ProxyCorrelation(
                name: p.name, correlations: RankCorrelation.all(p.scores, target), withinBandKendall: w.kendall,
                secondsPerArch: p.secondsPerArch, perTask: taskTargets?.mapValues { RankCorrelation.all(p.scores, $0) })
        }
        self.result = RankingResult(protocol: `protocol`, tokens: tokens, architectures: ids.count, proxies: correlations)
        self.ids = ids
        self.targetName = targetName
        self.target = target
        self.proxies = proxies
        self.sizes = sizes
    }

    /// The same with integer ids.
    public init(protocol: String, tokens: Int, ids: [Int], target: [Double], targetName: String = "glue",
                proxies: [ProxyScores], taskTargets: [String: [Double]]? = nil, sizes: [Double]? = nil) {
        self.init(protocol: `protocol`, tokens: tokens, ids: ids.map(String.init), target: target, targetName: targetName,
                  proxies: proxies, taskTargets: taskTargets, sizes: sizes)
    }

    /// Ranks against the rows' `glue`; `perTask` adds the correlations with each of the 8 tasks. `sizes`
    /// (one per row; `swiftnas rank` passes each row's `parameterCount` under the protocol in use) adds
    /// the within-band τ.
    public init(protocol: String, tokens: Int, rows: [FlexiBERTRow], proxies: [ProxyScores], perTask: Bool = false,
                sizes: [Double]? = nil) {
        var tasks: [String: [Double]]?
        if perTask {
            tasks = [:]
            for task in FlexiBERTBenchmark.taskNames where task != "glue" {
                tasks![task] = rows.map { $0.scores[task] ?? .nan }
            }
        }
        self.init(protocol: `protocol`, tokens: tokens, ids: rows.map(\.id), target: rows.map(\.glue),
                  proxies: proxies, taskTargets: tasks, sizes: sizes)
    }

    // MARK: - CSV

    /// `id,<target>,<proxy…>`, one row per architecture; non-finite scores as `nan`, `inf`, `-inf`.
    public func scoresCSV() -> String {
        var s = (["id", targetName] + proxies.map(\.name)).map(csvField).joined(separator: ",") + "\n"
        for (a, id) in ids.enumerated() {
            s += ([csvField(id), "\(target[a])"] + proxies.map { "\($0.scores[a])" }).joined(separator: ",") + "\n"
        }
        return s
    }

    /// `proxy,task,n,kendall,spearman,pearson,within_band_kendall,bands_used,band_rows,seconds_per_arch`:
    /// the target first, then each task (sorted); `n` is the number of architectures with a finite
    /// score, `bands_used` and `band_rows` those of the within-band τ, undefined values are `nan`.
    public func correlationsCSV() -> String {
        var s = "proxy,task,n,kendall,spearman,pearson,within_band_kendall,bands_used,band_rows,seconds_per_arch\n"
        let none = WithinBandCorrelation(kendall: .nan, bandsUsed: 0, rowsCovered: 0, bandCount: 0)
        for (k, (p, c)) in zip(proxies, result.proxies).enumerated() {
            let n = RankCorrelation.finitePairCount(p.scores, target)
            let rows = [(targetName, c.correlations, withinBand[k])]
                + (c.perTask ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value, withinBandPerTask[k][$0.key] ?? none) }
            for (task, r, w) in rows {
                s += [csvField(c.name), csvField(task), String(n), "\(r.kendall)", "\(r.spearman)", "\(r.pearson)",
                      "\(w.kendall)", String(w.bandsUsed), String(w.rowsCovered),
                      "\(c.secondsPerArch)"].joined(separator: ",") + "\n"
            }
        }
        return s
    }

    // MARK: - Table

    /// The fixed-width summary for stdout (Kendall τ per task added when computed).
    public func table() -> String {
        let nameWidth = max(5, proxies.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + fill : fill + s
        }
        func num(_ d: Double, _ format: String = "%.3f") -> String { d.isNaN ? "n/a" : String(format: format, d) }
        var s = "protocol: \(result.protocol) | tokens: \(result.tokens) | architectures: \(result.architectures)\n"
        s += pad("proxy", nameWidth, left: true) + pad("kendall", 10) + pad("spearman", 10) + pad("pearson", 10)
            + pad("in-band τ", 11) + pad("bands", 7) + pad("s/arch", 11) + "\n"
        for (c, w) in zip(result.proxies, withinBand) {
            s += pad(c.name, nameWidth, left: true) + pad(num(c.kendall), 10) + pad(num(c.spearman), 10)
                + pad(num(c.pearson), 10) + pad(num(c.withinBandKendall), 11) + pad("\(w.bandsUsed)", 7)
                + pad(num(c.secondsPerArch, "%.4f"), 11) + "\n"
        }
        if let sizes {
            let bands = WithinBandCorrelation.bands(sizes: sizes)
            s += "in-band τ: Kendall τ-b inside bands of size within 1.10× of the band's first member "
                + "(\(bands.count) bands; those under 5 rows skipped), n-weighted mean\n"
        }
        let tasks = Set(result.proxies.flatMap { $0.perTask?.keys.map { $0 } ?? [] }).sorted()
        if !tasks.isEmpty {
            s += "\nKendall τ-b per task\n" + pad("proxy", nameWidth, left: true)
                + tasks.map { pad($0, 8) }.joined() + "\n"
            for c in result.proxies {
                s += pad(c.name, nameWidth, left: true)
                    + tasks.map { pad(num(c.perTask?[$0]?.kendall ?? .nan), 8) }.joined() + "\n"
            }
        }
        return s
    }

    // MARK: - Plots and files

    /// One scatter plot per proxy (x = proxy score, y = target), with its file name.
    public func scatterPlots() -> [(fileName: String, plot: ScatterPlot)] {
        var used: Set<String> = []
        return zip(proxies, result.proxies).map { p, c in
            let base = "scatter-" + slug(p.name)
            var name = base + ".svg", k = 2
            while used.contains(name) { name = base + "-\(k).svg"; k += 1 }
            used.insert(name)
            let tau = c.kendall.isNaN ? "n/a" : String(format: "%.3f", c.kendall)
            let targetLabel = targetName.lowercased() == "glue" ? "GLUE" : targetName
            let plot = ScatterPlot(x: p.scores, y: target, title: "\(p.name) vs \(targetLabel), τ = \(tau)",
                                   xLabel: p.name, yLabel: targetLabel + " (dev)")
            return (name, plot)
        }
    }

    /// Writes `ranking.json`, `scores.csv`, `correlations.csv` and one SVG per proxy into `dir`
    /// (created if missing), each atomically.
    public func write(to dir: URL) throws {
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw RankingWriteError(path: dir.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
        try AtomicFile.write(Data(result.jsonText().utf8), to: dir.appendingPathComponent("ranking.json"))
        try AtomicFile.write(Data(scoresCSV().utf8), to: dir.appendingPathComponent("scores.csv"))
        try AtomicFile.write(Data(correlationsCSV().utf8), to: dir.appendingPathComponent("correlations.csv"))
        for (name, plot) in scatterPlots() { try plot.write(to: dir.appendingPathComponent(name)) }
    }
}

/// A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
private func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// A file-name-safe form of a proxy name: lowercase ASCII letters and digits, runs of anything else
/// as one `-` (`W-PCA` → `w-pca`, `grad norm` → `grad-norm`).
private func slug(_ s: String) -> String {
    var out = ""
    for c in s.lowercased() {
        if c.isASCII && (c.isLetter || c.isNumber) { out.append(c) } else if !out.hasSuffix("-") { out.append("-") }
    }
    while out.hasSuffix("-") { out.removeLast() }
    while out.hasPrefix("-") { out.removeFirst() }
    return out.isEmpty ? "proxy" : out
}
