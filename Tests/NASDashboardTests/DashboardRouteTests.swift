import Foundation
import Hummingbird
import HummingbirdTesting
import NASDashboard
import NASModels
import NASReport
import NASSearch
import NASTensor
import XCTest

/// The dashboard's routes through Hummingbird's testing client (no socket): pages, JSON shapes,
/// pagination, read-only, the response limit, bad studies and path traversal.
final class DashboardRouteTests: XCTestCase {
    var folder: URL!
    var studyURL: URL!
    var runs: URL!
    var outside: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-dashboard-\(UUID().uuidString)")
        runs = folder.appendingPathComponent("runs")
        outside = folder.appendingPathComponent("outside")
        for dir in [runs!, outside!, runs.appendingPathComponent("pt")] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        let settings = StudySettings(space: SearchSpace.autoTinyBERT.json, strategy: "random",
                                     objectives: [ObjectiveSpec(name: "score")], constraints: [Constraint(.params, max: 8e6)],
                                     paretoCost: .params, seed: 1, sequenceLength: 128, evaluation: [:])
        studyURL = folder.appendingPathComponent("s.db")
        let study = try SQLiteStudyStorage.create(at: studyURL, settings: settings)
        var rng = RandomGenerator(seed: 5)
        for n in 0..<23 {
            let genome = SearchSpace.autoTinyBERT.sample(using: &rng)
            let arch = SearchSpace.autoTinyBERT.decode(genome)
            try study.append(Trial(number: n, genome: genome, architecture: arch, objectives: ["score": Double(arch.hidden)],
                                   costs: Costs(arch, sequenceLength: 128), state: .complete, seconds: 0.1))
        }
        study.close()
        let log = "{\"step\":1,\"loss\":9.0,\"lr\":0.001,\"tokens_per_s\":50}\n{\"step\":2,\"loss\":8.5,\"lr\":0.001,\"tokens_per_s\":51}\n"
        try Data(log.utf8).write(to: runs.appendingPathComponent("pt/metrics.jsonl"))
        // Secrets outside the served folder, and a link to them from inside.
        try Data("{\"step\":1,\"loss\":12345.678}\n".utf8).write(to: outside.appendingPathComponent("metrics.jsonl"))
        try Data("TOP-SECRET".utf8).write(to: folder.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(at: runs.appendingPathComponent("escape"), withDestinationURL: outside)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func app(study: String? = nil, maxResponseBytes: Int = 10 << 20) -> some ApplicationProtocol {
        Application(router: Dashboard.router(.init(study: study ?? studyURL.path, runs: [runs], pageSize: 10,
                                                   maxResponseBytes: maxResponseBytes)))
    }

    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8)) as? [String: Any])
    }

    func testStudyPageIsPaginatedAndLive() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                XCTAssertEqual(html.components(separatedBy: "<tr id=\"trial-").count - 1, 10, "one page of rows")
                XCTAssertEqual(html.components(separatedBy: "class=\"trial-point\"").count - 1, 23, "the plots show every trial")
                XCTAssertTrue(html.contains("data-version-url=\"/api/version\""))
                XCTAssertTrue(html.contains("href=\"/?offset=10#trials\" rel=\"next\""))
            }
            try await client.execute(uri: "/?offset=20", method: .get) { response in
                let html = String(buffer: response.body)
                XCTAssertEqual(html.components(separatedBy: "<tr id=\"trial-").count - 1, 3)
                XCTAssertTrue(html.contains("<tr id=\"trial-22\""))
            }
        }
    }

    func testJSONAPI() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/api/study", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let o = try self.json(response.body)
                XCTAssertEqual(o["trials"] as? Int, 23)
                XCTAssertEqual(o["complete"] as? Int, 23)
                XCTAssertEqual(o["constraints"] as? [String], ["params ≤ 8M"])
                XCTAssertNotNil(o["best"] as? [String: Any])
            }
            try await client.execute(uri: "/api/study/trials?offset=20&limit=5", method: .get) { response in
                let o = try self.json(response.body)
                let trials = try XCTUnwrap(o["trials"] as? [[String: Any]])
                XCTAssertEqual(trials.map { $0["number"] as? Int }, [20, 21, 22])
                XCTAssertEqual(Set(trials[0].keys), ["number", "state", "architecture", "objectives", "costs"])
                XCTAssertEqual(o["total"] as? Int, 23)
                XCTAssertTrue(o["next"] is NSNull)
            }
            try await client.execute(uri: "/api/study/trials?limit=501", method: .get) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/api/study/trials?offset=-1", method: .get) { XCTAssertEqual($0.status, .badRequest) }
            try await client.execute(uri: "/api/study/trials/4", method: .get) { response in
                let o = try self.json(response.body)
                XCTAssertEqual(o["number"] as? Int, 4)
                let arch = try JSONSerialization.data(withJSONObject: try XCTUnwrap(o["architecture"]))
                XCTAssertNoThrow(try JSONDecoder().decode(Architecture.self, from: arch), "an architecture file")
            }
            try await client.execute(uri: "/api/study/trials/99", method: .get) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/api/runs", method: .get) { response in
                let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [[String: Any]])
                XCTAssertEqual(list.map { $0["href"] as? String }, ["/folder/0/pt"], "the link out of the folder is not listed")
            }
            try await client.execute(uri: "/api/folder/0/pt", method: .get) { response in
                XCTAssertEqual((try self.json(response.body)["entries"] as? [Any])?.count, 2)
            }
            try await client.execute(uri: "/folder/0/pt", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertTrue(String(buffer: response.body).contains("Training loss"))
            }
        }
    }

    func testNothingWritesAndTheStudyIsUntouched() async throws {
        let before = try Data(contentsOf: studyURL)
        try await app().test(.router) { client in
            for method: HTTPRequest.Method in [.post, .put, .delete, .patch] {
                for uri in ["/", "/api/study", "/api/study/trials", "/api/study/trials/1"] {
                    try await client.execute(uri: uri, method: method) { response in
                        XCTAssertTrue([.notFound, .methodNotAllowed].contains(response.status), "\(method) \(uri): \(response.status)")
                    }
                }
            }
            try await client.execute(uri: "/api/study/trials", method: .get) { XCTAssertEqual($0.status, .ok) }
        }
        XCTAssertEqual(try Data(contentsOf: studyURL), before)
    }

    func testPathTraversalIsRefused() async throws {
        try await app().test(.router) { client in
            for uri in ["/folder/0/../secret.txt", "/folder/0/%2e%2e/secret.txt", "/folder/0/%2E%2E/%2e%2e/etc/passwd",
                        "/folder/0/..%2f..%2fsecret.txt", "/folder/0/%2Fetc%2Fpasswd", "/folder/0/escape", "/api/folder/0/escape",
                        "/api/folder/0/%2e%2e/outside", "/folder/0/pt/%00", "/folder/0/pt/..%5c..%5csecret.txt"] {
                try await client.execute(uri: uri, method: .get) { response in
                    XCTAssertTrue([.forbidden, .badRequest].contains(response.status), "\(uri): \(response.status)")
                    let body = String(buffer: response.body)
                    XCTAssertFalse(body.contains("TOP-SECRET") || body.contains("12345.678") || body.contains("root:x:"), uri)
                }
            }
            // An absolute path is read below the folder, where nothing is.
            for uri in ["/folder/0//etc/passwd", "/folder/7/pt", "/folder/x/pt"] {
                try await client.execute(uri: uri, method: .get) { response in
                    XCTAssertEqual(response.status, .notFound, uri)
                    XCTAssertFalse(String(buffer: response.body).contains("root:x:"))
                }
            }
        }
    }

    func testBadStudiesGiveAClearErrorPage() async throws {
        let junk = folder.appendingPathComponent("junk.db")
        try Data("not sqlite".utf8).write(to: junk)
        for (study, expected) in [(junk.path, "junk.db"), (folder.appendingPathComponent("missing.db").path, "missing.db"),
                                  ("postgresql://u:pw@localhost/nas", "no study name")] {
            try await app(study: study).test(.router) { client in
                try await client.execute(uri: "/", method: .get) { response in
                    XCTAssertEqual(response.status, .notFound)
                    let html = String(buffer: response.body)
                    XCTAssertTrue(html.contains("class=\"error\"") && html.contains(expected), html)
                    XCTAssertFalse(html.contains("u:pw@"), "a URL's password is not shown")
                }
                try await client.execute(uri: "/api/study", method: .get) { response in
                    XCTAssertEqual(response.status, .notFound)
                    XCTAssertTrue((try self.json(response.body)["error"] as? String)?.contains(expected) ?? false)
                }
            }
        }
    }

    func testResponsesOverTheLimitAreRefused() async throws {
        try await app(maxResponseBytes: 4000).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                XCTAssertEqual(response.status, .internalServerError)
                XCTAssertLessThanOrEqual(response.body.readableBytes, 4000)
                XCTAssertTrue(String(buffer: response.body).contains("over the dashboard's limit"))
            }
            try await client.execute(uri: "/api/version", method: .get) { XCTAssertEqual($0.status, .ok) }
        }
    }

    func testLoopbackAnswersLocalhostOnly() async throws {
        for allowed in [nil, "localhost", "localhost:8080", "127.0.0.1:1234", "[::1]:80", "LOCALHOST"] {
            XCTAssertTrue(LoopbackHostCheck<BasicRequestContext>.allows(allowed), "\(String(describing: allowed))")
        }
        for refused in ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example:80", "[::2]:80"] {
            XCTAssertFalse(LoopbackHostCheck<BasicRequestContext>.allows(refused), refused)
        }
        XCTAssertTrue(isLoopback("127.0.0.1") && isLoopback("localhost") && isLoopback("::1"))
        XCTAssertFalse(isLoopback("0.0.0.0") || isLoopback("192.168.1.4"))
        try await app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                XCTAssertEqual(response.status, .ok, "the testing client asks for localhost")
                XCTAssertTrue(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") ?? false)
            }
        }
    }

    func testVersionChangesWhenATrialIsAppended() async throws {
        try await app().test(.router) { client in
            let before = try await client.execute(uri: "/api/version", method: .get) { String(buffer: $0.body) }
            let study = try SQLiteStudyStorage.open(at: self.studyURL)
            var rng = RandomGenerator(seed: 9)
            let genome = SearchSpace.autoTinyBERT.sample(using: &rng)
            let arch = SearchSpace.autoTinyBERT.decode(genome)
            try study.append(Trial(number: 23, genome: genome, architecture: arch, objectives: ["score": 1],
                                   costs: Costs(arch, sequenceLength: 128), state: .complete, seconds: 0))
            study.close()
            let after = try await client.execute(uri: "/api/version", method: .get) { String(buffer: $0.body) }
            XCTAssertNotEqual(before, after)
            try await client.execute(uri: "/api/study", method: .get) { XCTAssertEqual(try self.json($0.body)["trials"] as? Int, 24) }
        }
    }
}
