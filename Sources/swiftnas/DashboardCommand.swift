import ArgumentParser
import Foundation
import NASDashboard
import NASReport

/// `swiftnas dashboard [--study PATH|URL] [--runs DIR …] [--host H] [--port P]`: serves the report's
/// views live (they refresh while a search or a training run writes) and a small read-only JSON API,
/// on loopback unless `--host` says otherwise. Runs until Ctrl-C.
struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the views of a study and of training runs in the browser, live.",
        discussion: """
        Pages: / (the study), /runs (the run and ranking folders found in --runs, two levels down), \
        /folder/K/PATH (one of them). API: /api/study, /api/study/trials?offset=N&limit=M (M ≤ 500), \
        /api/study/trials/N, /api/runs, /api/folder/K/PATH, /api/version. Read-only: no request changes a \
        study or a file; paths in requests stay inside the --runs folders; responses are at most 10 MB.
        """)

    @Option(help: "The study: an SQLite study file (read-only), or a postgresql://user@host:port/db?study=NAME URL; read only.")
    var study: String?

    @Option(help: "A folder of training runs (metrics.jsonl) and rankings (ranking.json); repeatable.")
    var runs: [String] = []

    @Option(help: "Address to listen on (default: loopback only, answering requests for localhost; e.g. 0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "TCP port (0: any free port, printed at start).", transform: NumberArgument.port)
    var port = 8080

    @Option(parsing: .unconditional, help: "Trial table rows per page.", transform: NumberArgument.positive)
    var pageSize = 100

    @Option(parsing: .unconditional, help: "Seconds between the pages' checks for new trials or log lines.",
            transform: NumberArgument.positive)
    var refreshSeconds: Double = 2

    func validate() throws {
        if study == nil && runs.isEmpty { throw ValidationError("give --study, --runs or both") }
    }

    func run() throws {
        var folders: [URL] = []
        for path in runs {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw CommandError("--runs \(path): no such folder")
            }
            folders.append(URL(fileURLWithPath: path))
        }
        if let study {
            do { _ = try StudySnapshot.open(study) } catch { print("note: \(error) (the page will show this until it can be read)") }
        }
        let options = Dashboard.Options(study: study, runs: folders, loopbackOnly: isLoopback(host), pageSize: pageSize,
                                        refreshSeconds: refreshSeconds)
        let host = host
        let app = Dashboard.application(options, host: host, port: port) { port in
            let shown = host.contains(":") ? "[\(host)]" : host
            FileHandle.standardOutput.write(Data("dashboard: http://\(shown):\(port)/ (Ctrl-C stops)\n".utf8))
        }
        // The command line is synchronous; the server runs in a task until SIGINT/SIGTERM (handled by the
        // application's service group) and this thread waits for it.
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await app.runService() } catch { failure.error = error }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw CommandError("dashboard on \(host):\(port): \(error)") }
    }
}

/// The server task's error, handed to the waiting thread (written before the semaphore is signalled).
private final class FailureBox: @unchecked Sendable { var error: Error? }
