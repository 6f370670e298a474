import Foundation

/// The views of a training run folder (`pretrain`, `finetune`, `supernet train --out DIR`), from its
/// `metrics.jsonl`: training loss, validation values (`eval_*`; for each cross-entropy `eval_*loss` also
/// its perplexity exp(loss)), learning rate, tokens/s, and for a supernet run the loss per size bin
/// (`SupernetSizeBins`).
public struct TrainingRunView: Sendable {
    public var name: String
    public var log: TrainingLog

    public init(name: String, log: TrainingLog) { self.name = name; self.log = log }

    public init(folder: URL) throws {
        self.init(name: folder.relativePath, log: try TrainingLog(run: folder))
    }

    static let palette = ["#1f77b4", "#e67e22", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    func plot(_ title: String, yLabel: String, names: [String], transform: (Double) -> Double = { $0 }, logY: Bool = false,
              cssClass: String) -> String? {
        let series = names.enumerated().compactMap { k, name -> LinePlot.Series? in
            let (steps, values) = log.series(name)
            guard !steps.isEmpty else { return nil }
            return LinePlot.Series(name: name, colour: Self.palette[k % Self.palette.count], style: steps.count == 1 ? .points : .line,
                                   xs: steps, ys: values.map(transform), cssClass: cssClass)
        }
        guard !series.isEmpty else { return nil }
        return "<figure>" + LinePlot(title: title, xLabel: "step", yLabel: yLabel, series: series, logY: logY).svg() + "</figure>"
    }

    public func sections() -> [ReportPage.Section] {
        let names = log.names
        var out: [ReportPage.Section] = []
        var training: [String] = []
        // A step's own losses, unless one only repeats the total (e.g. `lm` without a teacher).
        let total = log.series("loss").values
        let losses = ["loss"] + names.filter { ["lm", "task_loss", "soft_label_loss", "hidden_mse", "attention_kl"].contains($0) }
            .filter { name in
                let v = log.series(name).values
                return v.count != total.count || zip(v, total).contains { $0 != $1 && !($0.isNaN && $1.isNaN) }
            }
        if let p = plot("Training loss", yLabel: "loss", names: losses, cssClass: "train-loss") { training.append(p) }
        if let p = plot("Learning rate", yLabel: "learning rate", names: ["lr"], cssClass: "lr") { training.append(p) }
        if let p = plot("Throughput", yLabel: "tokens / s", names: ["tokens_per_s"], cssClass: "throughput") { training.append(p) }
        out.append(.init(id: "training", heading: "Training",
                         html: training.isEmpty ? "<p>No training entries in the log.</p>" : "<div class=\"plots\">" + training.joined() + "</div>"))

        let evalNames = names.filter { $0.hasPrefix("eval_") }
        let evalLosses = evalNames.filter { $0.hasSuffix("loss") }
        let evalOthers = evalNames.filter { !$0.hasSuffix("loss") }
        var validation: [String] = []
        if let p = plot("Validation loss", yLabel: "loss", names: evalLosses, cssClass: "eval-loss") { validation.append(p) }
        if let p = plot("Validation perplexity", yLabel: "perplexity = exp(loss)", names: evalLosses, transform: { exp($0) },
                        logY: true, cssClass: "eval-ppl") { validation.append(p) }
        if let p = plot("Validation metrics", yLabel: "value", names: evalOthers, cssClass: "eval-metric") { validation.append(p) }
        out.append(.init(id: "validation", heading: "Validation",
                         html: validation.isEmpty ? "<p>No evaluation in the log.</p>" : "<div class=\"plots\">" + validation.joined() + "</div>"))

        if log.isSupernet {
            let bins = SupernetSizeBins(log: log)
            var s = "<div class=\"plots\">"
            // The label-trained member is always the largest under the sandwich rules: one bin says nothing new.
            for (title, rows, cls) in [("Label loss per size bin", bins.labelLoss.count > 1 ? bins.labelLoss : [], "bin-label"),
                                       ("In-place distillation loss per size bin", bins.distillationLoss, "bin-kd")] where !rows.isEmpty {
                let series = rows.enumerated().map { k, b in
                    LinePlot.Series(name: String(format: "%.2f–%.2fM", b.lo / 1e6, b.hi / 1e6), colour: Self.palette[k % Self.palette.count],
                                    style: b.steps.count == 1 ? .points : .line, xs: b.steps, ys: b.meanLoss, cssClass: cls)
                }
                s += "<figure>" + LinePlot(title: title, xLabel: "step", yLabel: "mean loss", series: series).svg() + "</figure>"
            }
            if bins.labelLoss.count == 1 { s += "<p class=\"note\">Every label-trained member was the largest (see the training loss).</p>" }
            s += "</div><p class=\"note\">Members binned by parameters (4 equal-width bins between the smallest and largest "
                + "member logged), mean loss per logged step. Only logged steps count (every --log-every steps).</p>"
            out.append(.init(id: "supernet", heading: "Supernet: loss per size bin", html: s))
        }
        var last = "<p>\(log.entries.count) log entries"
        if let step = log.entries.last?.step { last += ", last step \(step)" }
        if log.skippedLines > 0 { last += "; \(log.skippedLines) unreadable line\(log.skippedLines == 1 ? "" : "s") skipped" }
        last += ".</p>"
        out.insert(.init(id: "run", heading: "Run", html: last), at: 0)
        return out
    }

    public func page() -> ReportPage { ReportPage(title: "Training run \(name)", sections: sections()) }
}
