import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NASModels
import NASSearch
import XCTest
@testable import NASReport

final class StudyViewTests: XCTestCase {
    func testStudyPageShowsEveryTrialAndParses() throws {
        let folder = try StudyFixture.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try StudyFixture.make(in: folder, count: 30)
        let snapshot = try StudySnapshot.open(url.path)
        let html = StudyView(snapshot: snapshot).page().html()
        let trials = StudyFixture.trials(30)
        let complete = trials.filter { $0.state == .complete }
        XCTAssertEqual(StudyFixture.count("<tr id=\"trial-", in: html), 30)
        XCTAssertEqual(StudyFixture.count("<tr id=\"trial-6\" class=\"failed\"", in: html), 1)
        XCTAssertEqual(StudyFixture.count("class=\"trial-point\"", in: html), complete.count, "one history point per complete trial")
        XCTAssertEqual(StudyFixture.count("class=\"pc-line\"", in: html), complete.count)
        XCTAssertTrue(html.contains("class=\"best-so-far\""))
        XCTAssertTrue(html.contains("params ≤ 8M"), "the budget is drawn")
        let over = trials.first { $0.state == .complete && Double($0.costs.params) > 8e6 }
        if let over { XCTAssertTrue(html.contains("<tr id=\"trial-\(over.number)\" class=\"complete\">")) }
        XCTAssertTrue(html.contains("over budget: params"))
        XCTAssertTrue(html.contains("one-way ANOVA"), "the gene importance method is stated")
        for remote in ["src=\"http", "href=\"http", "url(http", "fetch(\"http", "@import"] {
            XCTAssertFalse(html.contains(remote), "nothing is fetched from the network: \(remote)")
        }

        // Every inline SVG is well-formed XML.
        var rest = html[...]
        var plots = 0
        while let open = rest.range(of: "<svg"), let close = rest.range(of: "</svg>", range: open.upperBound..<rest.endIndex) {
            let parser = XMLParser(data: Data(rest[open.lowerBound..<close.upperBound].utf8))
            XCTAssertTrue(parser.parse(), "plot \(plots): \(parser.parserError.map { "\($0)" } ?? "")")
            plots += 1
            rest = rest[close.upperBound...]
        }
        XCTAssertEqual(plots, 4, "history, Pareto front, budget, parallel coordinates")

        // The architecture on the page is the architecture file of the trial.
        let t = try XCTUnwrap(complete.last)
        let row = try XCTUnwrap(html.range(of: "<tr id=\"trial-\(t.number)\""))
        let pre = try XCTUnwrap(html.range(of: "<pre class=\"architecture\">", range: row.upperBound..<html.endIndex))
        let end = try XCTUnwrap(html.range(of: "</pre>", range: pre.upperBound..<html.endIndex))
        let text = String(html[pre.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        XCTAssertEqual(try JSONDecoder().decode(Architecture.self, from: Data(text.utf8)), t.architecture)
    }

    func testReportIsDeterministicAndReadOnly() throws {
        let folder = try StudyFixture.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try StudyFixture.make(in: folder, count: 12)
        let before = try Data(contentsOf: url)
        let a = try ReportSource(url.path).page().html(), b = try ReportSource(url.path).page().html()
        XCTAssertEqual(a, b)
        XCTAssertEqual(try Data(contentsOf: url), before, "the study file is not written")
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path + "-journal"))
    }

    func testPagination() throws {
        let folder = try StudyFixture.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let snapshot = try StudySnapshot.open(try StudyFixture.make(in: folder, count: 25).path)
        let view = StudyView(snapshot: snapshot)
        let html = view.tableHTML(page: .init(offset: 10, limit: 10, link: { "/?offset=\($0)" }))
        XCTAssertEqual(StudyFixture.count("<tr id=\"trial-", in: html), 10)
        XCTAssertTrue(html.contains("<tr id=\"trial-10\"") && html.contains("<tr id=\"trial-19\""))
        XCTAssertTrue(html.contains("href=\"/?offset=20\" rel=\"next\""))
        XCTAssertTrue(html.contains("href=\"/?offset=0\" rel=\"prev\""))
    }

    /// The trial table says why a trial failed and who runs a running one, as the storage recorded it.
    func testTrialTableShowsFailureReasonsAndRunningTrials() {
        var trials = StudyFixture.trials(8)
        trials[6].failure = "objective w-pca failed: <boom>"
        trials[7].state = .running
        trials[7].worker = "host:42"
        let view = StudyView(snapshot: StudySnapshot(location: "s.db", settings: StudyFixture.settings(), trials: trials))
        let html = view.page().html()
        XCTAssertTrue(html.contains("failed: objective w-pca failed: &lt;boom&gt;"), "the reason, escaped")
        XCTAssertTrue(html.contains("running on host:42"))
        XCTAssertEqual(view.verdict(trials[0]).hasPrefix("failed"), false)
    }

    func testBadStudiesAreClearErrors() throws {
        XCTAssertThrowsError(try StudySnapshot.open("postgresql://nas:secret@db.example/studies")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no study name"), text)
            XCTAssertFalse(text.contains("secret"), "the password is not shown")
        }
        let folder = try StudyFixture.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let junk = folder.appendingPathComponent("junk.db")
        try Data("not a study".utf8).write(to: junk)
        XCTAssertThrowsError(try StudySnapshot.open(junk.path)) { XCTAssertTrue("\($0)".contains("junk.db"), "\($0)") }
        XCTAssertThrowsError(try StudySnapshot.open(folder.appendingPathComponent("missing.db").path))
    }

    /// A PostgreSQL study (on the server `make test` starts) reads like a file: its trials in order, its
    /// location without the password, and a refresh token that changes when a trial is added.
    func testPostgreSQLStudyReadsLikeAFile() throws {
        guard let base = ProcessInfo.processInfo.environment["SWIFTNAS_TEST_POSTGRES_URL"] else {
            throw XCTSkip("no PostgreSQL server: SWIFTNAS_TEST_POSTGRES_URL is unset (`make test` starts one)")
        }
        let url = "\(base)?study=report-\(UUID().uuidString.prefix(8))"
        guard case .postgres(let address) = try StudyLocation(parsing: url) else { return XCTFail("not a PostgreSQL URL") }
        let study = try PostgresStudyStorage.openOrCreate(address, settings: StudyFixture.settings(), heartbeatTimeout: 30)
        defer { study.close() }
        func add(_ trial: Trial) throws {
            guard case .created(let number) = try study.createTrial(genome: trial.genome, architecture: trial.architecture,
                                                                   costs: trial.costs, worker: "test", limit: 100) else {
                return XCTFail("trial \(trial.number) not created")
            }
            XCTAssertEqual(number, trial.number)
            XCTAssertTrue(try study.finishTrial(trial, worker: "test"))
        }
        let trials = StudyFixture.trials(5)
        for t in trials.prefix(4) { try add(t) }
        let snapshot = try StudySnapshot.open(url)
        XCTAssertEqual(snapshot.trials.map(\.genome), trials.prefix(4).map(\.genome))
        XCTAssertEqual(snapshot.trials.map(\.state), trials.prefix(4).map(\.state))
        XCTAssertEqual(snapshot.settings, StudyFixture.settings())
        XCTAssertEqual(snapshot.location, address.description)
        let before = StudySnapshot.version(url)
        try add(trials[4])
        XCTAssertNotEqual(StudySnapshot.version(url), before)
        XCTAssertEqual(try StudySnapshot.open(url).trials.count, 5)
    }
}
