import ArgumentParser
import Foundation
import NASModels
import NASReport

/// `swiftnas report STUDY|RUN_DIR|RANKING_DIR --out FILE.html`: the dashboard's views of one study,
/// training run or ranking as one self-contained HTML file (inline SVG, CSS and a little JavaScript;
/// nothing fetched from the network). The study is opened read-only.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the views of a study, training run or ranking as one self-contained HTML file.",
        discussion: """
        The source is told from the path: a folder holding ranking.json is a ranking (`swiftnas rank --out`), \
        any other folder a training run (its metrics.jsonl: pretrain, finetune, supernet train), anything else \
        a study file. The plots are inline SVG and read without JavaScript; the script adds hover details, \
        clicking a point for its architecture JSON (copyable) and sorting tables.
        """)

    @Argument(help: "A study file, a training run folder or a ranking folder.")
    var source: String

    @Option(help: "The HTML file to write (replaced atomically).")
    var out: String

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let page: ReportPage
        do {
            page = try ReportSource(source).page()
        } catch {
            // The error names the source (a URL's password left out).
            throw CommandError("no report: \(error)")
        }
        let html = page.html()
        do {
            try AtomicFile.write(Data(html.utf8), to: URL(fileURLWithPath: out))
        } catch {
            throw CommandError("cannot write \(out): \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "report → %@ (%.1f KiB, %.2f s)", out, Double(html.utf8.count) / 1024, seconds))
    }
}
