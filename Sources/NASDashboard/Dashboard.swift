import Foundation
import Hummingbird
import NASModels
import NASReport
import NASSearch

/// `swiftnas dashboard`: the report's views served live, with a small read-only JSON API.
///
/// Pages (HTML): `/` the study (trial table paginated: `?offset=N`, `DashboardOptions.pageSize` rows),
/// `/runs` the run and ranking folders, `/folder/<k>/<path>` one of them. API (JSON): `/api/study`
/// (counts and best trial), `/api/study/trials?offset=&limit=` (at most `maxTrialsPerRequest`),
/// `/api/study/trials/<n>` (one trial with its architecture file), `/api/runs`, `/api/folder/<k>/<path>`
/// (a run's metrics log entries) and `/api/version` (a token that changes when the study or a run
/// changes; pages poll it to refresh). Only GET and HEAD are routed: nothing changes a study or a file.
/// Paths in requests are resolved by `PathGuard`; a response is at most `maxResponseBytes`.
public enum Dashboard {
    /// What the dashboard serves.
    public struct Options: Sendable {
        /// The study (path or URL) or nil.
        public var study: String?
        /// The `--runs` folders.
        public var runs: [URL]
        /// Refuse requests naming another host than localhost (`LoopbackHostCheck`); set when the
        /// dashboard listens on loopback.
        public var loopbackOnly: Bool
        /// Trial table rows per page.
        public var pageSize: Int
        public var refreshSeconds: Double
        public var maxResponseBytes: Int
        public var maxTrialsPerRequest: Int

        public init(study: String?, runs: [URL], loopbackOnly: Bool = true, pageSize: Int = 100, refreshSeconds: Double = 2,
                    maxResponseBytes: Int = 10 << 20, maxTrialsPerRequest: Int = 500) {
            self.study = study; self.runs = runs; self.loopbackOnly = loopbackOnly
            self.pageSize = pageSize; self.refreshSeconds = refreshSeconds
            self.maxResponseBytes = maxResponseBytes; self.maxTrialsPerRequest = maxTrialsPerRequest
        }
    }

    /// The routes (also what the tests drive through Hummingbird's testing client).
    public static func router(_ options: Options) -> Router<BasicRequestContext> {
        let router = Router()
        if options.loopbackOnly { router.add(middleware: LoopbackHostCheck()) }
        let folders = RunFolders(roots: options.runs)
        let limit = options.maxResponseBytes

        router.get("/") { request, _ -> Response in
            guard let study = options.study else {
                return html(runsPage(folders, options: options), status: .ok, limit: limit)
            }
            let offset = request.uri.queryParameters.get("offset", as: Int.self) ?? 0
            do {
                let snapshot = try StudySnapshot.open(study)
                let page = StudyView.TablePage(offset: max(0, offset), limit: options.pageSize, link: { "/?offset=\($0)#trials" })
                let view = StudyView(snapshot: snapshot)
                return html(ReportPage(title: "Study \(StudyLocation.redacted(study))", subtitle: "\(snapshot.trials.count) trials · live",
                                       sections: view.sections(page: page), navigation: navigation(options),
                                       refresh: .init(versionURL: "/api/version", seconds: options.refreshSeconds),
                                       apiBase: "/api/study"), status: .ok, limit: limit)
            } catch {
                return html(.error(title: "Study \(StudyLocation.redacted(study))", message: "\(error)", navigation: navigation(options)),
                            status: .notFound, limit: limit)
            }
        }

        router.get("/runs") { _, _ -> Response in html(runsPage(folders, options: options), status: .ok, limit: limit) }

        router.get("/folder/:root/**") { _, context -> Response in
            let rest = context.parameters.getCatchAll()
            return folderPage(folders, root: context.parameters.get("root"), rest: rest, options: options)
        }
        router.get("/folder/:root") { _, context -> Response in
            folderPage(folders, root: context.parameters.get("root"), rest: [], options: options)
        }

        router.get("/api/version") { _, _ -> Response in
            let token = "study:" + (options.study.map(StudySnapshot.version) ?? "") + ";runs:" + folders.version()
            return text(token, limit: limit)
        }

        router.get("/api/study") { _, _ -> Response in
            try withStudy(options, limit: limit) { snapshot in
                let settings = snapshot.settings, trials = snapshot.trials
                var best: JSONValue = .null
                if let top = StudyReport.best(trials, settings: settings).first {
                    best = .object(["number": .int(top.number), "value": number(StudyReport.primaryValue(top, settings: settings))])
                }
                return .object([
                    "location": .string(snapshot.location),
                    "trials": .int(trials.count),
                    "complete": .int(trials.count { $0.state == .complete }),
                    "failed": .int(trials.count { $0.state == .failed }),
                    "feasible": .int(trials.count { StudyReport.isFeasible($0, settings: settings) }),
                    "objectives": .array(settings.objectives.map { .object(["name": .string($0.name), "maximize": .bool($0.maximize)]) }),
                    "constraints": .array(settings.constraints.map { .string($0.description) }),
                    "paretoCost": .string(settings.paretoCost.rawValue),
                    "best": best,
                ])
            }
        }

        router.get("/api/study/trials") { request, _ -> Response in
            let offset = request.uri.queryParameters.get("offset", as: Int.self) ?? 0
            let count = request.uri.queryParameters.get("limit", as: Int.self) ?? options.pageSize
            guard offset >= 0, count >= 1, count <= options.maxTrialsPerRequest else {
                return json(.object(["error": .string("offset must be ≥ 0 and limit 1…\(options.maxTrialsPerRequest)")]),
                            status: .badRequest, limit: limit)
            }
            return try withStudy(options, limit: limit) { snapshot in
                let trials = snapshot.trials
                let start = min(offset, trials.count), end = min(trials.count, start + count)
                guard case .object(var page) = StudyReport.exportJSON(Array(trials[start..<end])) else { return .null }
                page["total"] = .int(trials.count)
                page["offset"] = .int(start)
                page["limit"] = .int(count)
                page["next"] = end < trials.count ? .string("/api/study/trials?offset=\(end)&limit=\(count)") : .null
                return .object(page)
            }
        }

        router.get("/api/study/trials/:number") { _, context -> Response in
            guard let n = context.parameters.get("number", as: Int.self) else {
                return json(.object(["error": .string("a trial number is a non-negative integer")]), status: .badRequest, limit: limit)
            }
            return try withStudy(options, limit: limit) { snapshot in
                guard let t = snapshot.trials.first(where: { $0.number == n }),
                      case .object(let root) = StudyReport.exportJSON([t]), case .array(let rows)? = root["trials"],
                      let row = rows.first else {
                    throw HTTPError(.notFound, message: "no trial \(n) in the study")
                }
                return row
            }
        }

        router.get("/api/runs") { _, _ -> Response in
            json(.array(folders.entries().map {
                .object(["root": .int($0.root), "path": .string($0.path), "kind": .string($0.kind), "href": .string($0.href)])
            }), limit: limit)
        }

        router.get("/api/folder/:root/**") { _, context -> Response in
            do {
                let url = try resolve(folders, root: context.parameters.get("root"), rest: context.parameters.getCatchAll())
                let log = try TrainingLog(run: url)
                return json(.object([
                    "entries": .array(log.entries.map { e in
                        var o: [String: JSONValue] = ["step": .int(e.step)]
                        for (k, v) in e.values { o[k] = number(v) }
                        return .object(o)
                    }),
                    "skippedLines": .int(log.skippedLines),
                ]), limit: limit)
            } catch let refusal as PathGuard.Refusal {
                return refused(refusal, limit: limit)
            } catch {
                return json(.object(["error": .string("\(error)")]), status: .notFound, limit: limit)
            }
        }
        return router
    }

    /// The application listening on `host:port` (port 0: any free port; `onRunning` is told the port).
    public static func application(_ options: Options, host: String, port: Int,
                                   onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(options), configuration: .init(address: .hostname(host, port: port), serverName: "swiftnas"),
                    onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
    }

    // MARK: - Pages

    static func navigation(_ options: Options) -> [(href: String, text: String)] {
        var links: [(href: String, text: String)] = []
        if options.study != nil { links.append(("/", "study")) }
        if !options.runs.isEmpty { links.append(("/runs", "runs")) }
        return links
    }

    static func runsPage(_ folders: RunFolders, options: Options) -> ReportPage {
        let entries = folders.entries()
        var s = entries.isEmpty ? "<p>No training run (metrics.jsonl) or ranking (ranking.json) in the --runs folders.</p>" : "<ul>"
        for e in entries {
            let name = folders.roots[e.root].lastPathComponent + (e.path.isEmpty ? "" : "/" + e.path)
            s += "<li><a href=\"\(HTML.escape(e.href))\">\(HTML.escape(name))</a> — \(e.kind)</li>"
        }
        if !entries.isEmpty { s += "</ul>" }
        return ReportPage(title: "Runs", sections: [.init(id: "runs", heading: "Training runs and rankings", html: s)],
                          navigation: navigation(options), refresh: .init(versionURL: "/api/version", seconds: options.refreshSeconds))
    }

    static func folderPage(_ folders: RunFolders, root: String?, rest: [Substring], options: Options) -> Response {
        let limit = options.maxResponseBytes
        do {
            let url = try resolve(folders, root: root, rest: rest)
            var page: ReportPage
            switch ReportSource(url.path) {
            case .ranking(let folder): page = try RankingView(folder: folder).page()
            case .trainingRun(let folder): page = try TrainingRunView(folder: folder).page()
            case .study: throw PathGuard.Refusal.notFound(rest.joined(separator: "/"))
            }
            let name = rest.isEmpty ? folders.roots[Int(root ?? "") ?? 0].lastPathComponent : rest.joined(separator: "/")
            page.title = name + (page.title.hasPrefix("Ranking") ? " (ranking)" : " (training run)")
            page.navigation = navigation(options)
            page.refresh = .init(versionURL: "/api/version", seconds: options.refreshSeconds)
            return html(page, status: .ok, limit: limit)
        } catch let refusal as PathGuard.Refusal {
            let status: HTTPResponse.Status = { if case .outside = refusal { return .forbidden }; return .notFound }()
            return html(.error(title: "Not served", message: refusal.description, navigation: navigation(options)), status: status, limit: limit)
        } catch {
            return html(.error(title: "Cannot show the folder", message: "\(error)", navigation: navigation(options)),
                        status: .notFound, limit: limit)
        }
    }

    static func resolve(_ folders: RunFolders, root: String?, rest: [Substring]) throws -> URL {
        guard let root, let k = Int(root), folders.roots.indices.contains(k) else {
            throw PathGuard.Refusal.notFound("folder \(root ?? "")")
        }
        return try PathGuard.resolve(rest, inside: folders.roots[k])
    }

    // MARK: - Responses

    static func withStudy(_ options: Options, limit: Int, _ body: (StudySnapshot) throws -> JSONValue) throws -> Response {
        guard let study = options.study else {
            return json(.object(["error": .string("the dashboard was started without --study")]), status: .notFound, limit: limit)
        }
        do {
            return json(try body(try StudySnapshot.open(study)), limit: limit)
        } catch let error as HTTPError {
            return json(.object(["error": .string(error.body ?? "\(error.status)")]), status: error.status, limit: limit)
        } catch {
            return json(.object(["error": .string("\(error)")]), status: .notFound, limit: limit)
        }
    }

    static func refused(_ refusal: PathGuard.Refusal, limit: Int) -> Response {
        let status: HTTPResponse.Status = { if case .outside = refusal { return .forbidden }; return .notFound }()
        return json(.object(["error": .string(refusal.description)]), status: status, limit: limit)
    }

    static func number(_ v: Double) -> JSONValue { v.isFinite ? .double(v) : .null }

    /// A page. Its content security policy allows only the page's own inline style and script, data:
    /// images and requests to this server: nothing is loaded from elsewhere.
    static func html(_ page: ReportPage, status: HTTPResponse.Status, limit: Int) -> Response {
        var response = respond(page.html(), contentType: "text/html; charset=utf-8", status: status, limit: limit)
        response.headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            + "img-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        return response
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, limit: Int) -> Response {
        let text = (try? value.serialized(pretty: false)) ?? "null"
        return respond(text, contentType: "application/json", status: status, limit: limit)
    }

    static func text(_ s: String, limit: Int) -> Response {
        respond(s, contentType: "text/plain; charset=utf-8", status: .ok, limit: limit)
    }

    /// Every response goes out here: one over `limit` bytes is replaced by a short error (500) saying
    /// so; nothing is cached by the browser (the views change while a search runs).
    static func respond(_ body: String, contentType: String, status: HTTPResponse.Status, limit: Int) -> Response {
        var body = body, status = status, contentType = contentType
        if body.utf8.count > limit {
            body = "the response would be \(body.utf8.count) bytes, over the dashboard's limit of \(limit) bytes; "
                + "use /api/study/trials?offset=&limit= for the trials page by page"
            status = .internalServerError
            contentType = "text/plain; charset=utf-8"
        }
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
