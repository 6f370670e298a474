import Foundation
import NASModels
import NASSearch
import NASTensor
import XCTest

/// `swiftnas report` and `swiftnas dashboard` in a real browser (Debian's Chromium, headless, installed by
/// `make chromium`): the static report's DOM after its script ran has one point per complete trial and one
/// row per trial, and Chromium's console log is empty; the live dashboard, driven over WebDriver
/// (chromedriver), shows a trial appended to the study after its refresh. Waits are functional (generous
/// limits), not timing assertions. Skips with a note when Chromium or chromedriver is missing.
final class DashboardBrowserTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Chromium's flags for a headless run here (as root it needs --no-sandbox).
    static let chromiumFlags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                "--disable-extensions", "--disable-background-networking"]

    /// A study of AutoTinyBERT's space with `count` trials (every 5th failed, a params budget).
    func makeStudy(count: Int) throws -> (URL, Int) {
        let settings = StudySettings(space: SearchSpace.autoTinyBERT.json, strategy: "random",
                                     objectives: [ObjectiveSpec(name: "score")], constraints: [Constraint(.params, max: 8e6)],
                                     paretoCost: .params, seed: 1, sequenceLength: 128, evaluation: [:])
        let url = folder.appendingPathComponent("study.db")
        let study = try SQLiteStudyStorage.create(at: url, settings: settings)
        defer { study.close() }
        var rng = RandomGenerator(seed: 21)
        var complete = 0
        for n in 0..<count { if try append(n, to: study, rng: &rng) { complete += 1 } }
        return (url, complete)
    }

    /// Appends trial `n`; returns whether it is complete.
    @discardableResult
    func append(_ n: Int, to study: SQLiteStudyStorage, rng: inout RandomGenerator) throws -> Bool {
        let genome = SearchSpace.autoTinyBERT.sample(using: &rng)
        let arch = SearchSpace.autoTinyBERT.decode(genome)
        let failed = n % 5 == 4
        try study.append(Trial(number: n, genome: genome, architecture: arch, objectives: ["score": failed ? .nan : Double(arch.hidden)],
                               costs: Costs(arch, sequenceLength: 128), state: failed ? .failed : .complete, seconds: 0.1))
        return !failed
    }

    func testStaticReportRendersInChromium() throws {
        guard let chromium = Self.which("chromium") else {
            print("note: chromium not found (make chromium installs it); the browser check of the report is skipped")
            throw XCTSkip("chromium not installed")
        }
        let (study, complete) = try makeStudy(count: 40)
        let html = folder.appendingPathComponent("report.html")
        let (status, output) = try CLIProcess.run(["report", study.path, "--out", html.path])
        XCTAssertEqual(status, 0, output)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = Self.chromiumFlags + ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                                            "--user-data-dir=" + folder.appendingPathComponent("profile").path,
                                            "--dump-dom", html.absoluteString]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Standard error is read on another thread so that neither pipe fills while the other is read.
        let errData = Box(Data())
        let errReader = DispatchQueue(label: "stderr")
        errReader.async { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        errReader.sync {}
        let log = String(decoding: errData.value, as: UTF8.self)

        XCTAssertTrue(dom.contains("data-script=\"ready\""), "the page's script ran")
        XCTAssertEqual(dom.components(separatedBy: "class=\"trial-point\"").count - 1, complete, "one history point per complete trial")
        XCTAssertEqual(dom.components(separatedBy: "<tr id=\"trial-").count - 1, 40, "one row per trial")
        XCTAssertEqual(dom.components(separatedBy: "class=\"pc-line\"").count - 1, complete)
        let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
        XCTAssertEqual(console, [], "Chromium's console has no messages (no JavaScript errors)")
    }

    func testLiveDashboardShowsAnAppendedTrial() throws {
        guard let chromium = Self.which("chromium"), let driver = Self.which("chromedriver") else {
            print("note: chromium or chromedriver not found (make chromium installs them); the live dashboard check is skipped")
            throw XCTSkip("chromium-driver not installed")
        }
        let (studyURL, complete) = try makeStudy(count: 12)

        // The dashboard on any free loopback port; its first line names the address.
        let (server, serverPipe) = try CLIProcess.start(["dashboard", "--study", studyURL.path, "--port", "0", "--refresh-seconds", "1"])
        defer { if server.isRunning { server.interrupt(); server.waitUntilExit() } }
        let address = try XCTUnwrap(Self.firstLine(matching: "dashboard: ", in: serverPipe, limit: 60), "the dashboard did not start")
        let base = try XCTUnwrap(address.components(separatedBy: " ").first { $0.hasPrefix("http://") })
        XCTAssertTrue(base.hasPrefix("http://127.0.0.1:"), "loopback by default: \(base)")
        // A request naming another host (as after DNS rebinding) is refused; localhost is answered.
        let dashboardPort = try XCTUnwrap(Int(base.dropFirst("http://127.0.0.1:".count).prefix { $0.isNumber }))
        for (host, expected) in [("evil.example", " 403 "), ("localhost:\(dashboardPort)", " 200 ")] {
            let answer = try WebDriver.exchange(port: dashboardPort, Data("GET /api/study HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8))
            XCTAssertTrue(String(decoding: answer.prefix(40), as: UTF8.self).contains(expected), "\(host): \(String(decoding: answer.prefix(80), as: UTF8.self))")
        }

        let driverPort = try Self.freePort()
        let driverProcess = Process()
        driverProcess.executableURL = URL(fileURLWithPath: driver)
        driverProcess.arguments = ["--port=\(driverPort)"]
        driverProcess.standardOutput = FileHandle.nullDevice
        driverProcess.standardError = FileHandle.nullDevice
        try driverProcess.run()
        defer { if driverProcess.isRunning { driverProcess.terminate(); driverProcess.waitUntilExit() } }
        let webDriver = WebDriver(port: driverPort)
        XCTAssertTrue(Self.waitUntil(limit: 60) { (try? webDriver.call("GET", "/status")) != nil }, "chromedriver did not start")

        let profile = folder.appendingPathComponent("profile").path
        defer { Self.killProcesses(mentioning: profile) }
        let session = try webDriver.newSession(binary: chromium, arguments: Self.chromiumFlags + ["--user-data-dir=" + profile])
        defer { _ = try? webDriver.call("DELETE", "/session/\(session)") }
        _ = try webDriver.call("POST", "/session/\(session)/url", ["url": base])
        func count(_ selector: String) -> Int {
            (try? webDriver.call("POST", "/session/\(session)/execute/sync",
                                 ["script": "return document.querySelectorAll(arguments[0]).length", "args": [selector]])) as? Int ?? -1
        }
        XCTAssertTrue(Self.waitUntil(limit: 60) { count("circle.trial-point") == complete }, "the page shows the study")
        XCTAssertEqual(count("tr[id^=trial-]"), 12)

        // The script's additions: clicking a point shows its architecture file; clicking a header sorts.
        func run(_ script: String) -> Any? {
            try? webDriver.call("POST", "/session/\(session)/execute/sync", ["script": script, "args": [] as [Any]])
        }
        _ = run("document.querySelector('circle.trial-point[data-trial=\"3\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        let shown = run("var a = document.getElementById('inspector'); return a.hidden ? null : a.querySelector('pre').textContent") as? String
        let architecture = try JSONDecoder().decode(Architecture.self, from: Data(try XCTUnwrap(shown, "the inspector opened").utf8))
        XCTAssertEqual(architecture.hidden, SearchSpace.autoTinyBERT.decode(try XCTUnwrap(SQLiteStudyStorage.open(at: studyURL, readOnly: true).trials()
            .first { $0.number == 3 }).genome).hidden)
        _ = run("document.querySelector('table.trials th').click(); document.querySelector('table.trials th').click()")
        XCTAssertEqual(run("return document.querySelector('table.trials tbody tr').id") as? String, "trial-11", "sorted by number, descending")

        // A search appends a trial; the page refreshes by itself.
        let study = try SQLiteStudyStorage.open(at: studyURL)
        var rng = RandomGenerator(seed: 77)
        try append(12, to: study, rng: &rng)
        study.close()
        XCTAssertTrue(Self.waitUntil(limit: 60) { count("tr[id^=trial-]") == 13 && count("circle.trial-point") == complete + 1 },
                      "the live page shows the appended trial (rows \(count("tr[id^=trial-]")))")

        // Chromium's console (the browser log) has no errors.
        if let entries = try? webDriver.call("POST", "/session/\(session)/se/log", ["type": "browser"]) as? [[String: Any]] {
            let severe = entries.filter { ($0["level"] as? String) == "SEVERE" }
            XCTAssertTrue(severe.isEmpty, "\(severe)")
        } else {
            print("note: this chromedriver gives no browser log; console errors of the live page are not checked")
        }
        server.interrupt()
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0, "Ctrl-C stops the dashboard cleanly")
    }

    // MARK: - Helpers

    /// Polls `condition` every 0.25 s until it holds or `limit` seconds passed.
    static func waitUntil(limit: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(limit)
        while Date() < end {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return condition()
    }

    /// The first line of the process's output that contains `text` (nil after `limit` seconds).
    static func firstLine(matching text: String, in pipe: Pipe, limit: Double) -> String? {
        let handle = pipe.fileHandleForReading
        let found = DispatchSemaphore(value: 0)
        let line = Box<String?>(nil)
        DispatchQueue.global().async {
            var buffer = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                buffer += String(decoding: data, as: UTF8.self)
                if let l = buffer.split(separator: "\n").first(where: { $0.contains(text) }) { line.value = String(l); break }
            }
            found.signal()
        }
        guard found.wait(timeout: .now() + limit) == .success else { return nil }
        return line.value
    }

    /// Kills (SIGKILL) the processes whose command line holds `marker` — this test's own browser profile
    /// folder, a unique name — should chromedriver have left a browser behind.
    static func killProcesses(mentioning marker: String) {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for pid in pids.compactMap(Int32.init) where pid != getpid() {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: data, as: UTF8.self).contains(marker) else { continue }
            kill(pid, SIGKILL)
        }
    }

    /// A TCP port that was free a moment ago (bound to port 0, read, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The few W3C WebDriver commands the test needs, as JSON over HTTP/1.1 on a plain loopback socket
/// (one request per connection, `Connection: close`, the answer read to the end).
struct WebDriver {
    struct Failure: Error, CustomStringConvertible { var description: String }
    var port: Int

    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Any? {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if body != nil { request += "Content-Type: application/json\r\n" }
        request += "Content-Length: \(payload.count)\r\n\r\n"
        let answer = try Self.exchange(port: port, Data(request.utf8) + payload)
        guard let split = answer.range(of: Data("\r\n\r\n".utf8)) else { throw Failure(description: "\(method) \(path): no HTTP answer") }
        let head = String(decoding: answer[..<split.lowerBound], as: UTF8.self)
        var content = Data(answer[split.upperBound...])
        if head.lowercased().contains("transfer-encoding: chunked") { content = Self.unchunk(content) }
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard status == 200 else { throw Failure(description: "\(method) \(path): HTTP \(status): \(String(decoding: content, as: UTF8.self))") }
        let object = try JSONSerialization.jsonObject(with: content.isEmpty ? Data("{}".utf8) : content) as? [String: Any]
        return object?["value"] ?? nil
    }

    /// Sends `request` to 127.0.0.1:`port` and reads until the peer closes.
    static func exchange(port: Int, _ request: Data) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        try request.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
                sent += n
            }
        }
        // Read the head, then the body by its Content-Length (chromedriver keeps the socket open).
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var expected: Int?
        while expected.map({ answer.count < $0 }) ?? true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { throw Failure(description: "recv: errno \(errno)") }
            if n == 0 { break }
            answer.append(contentsOf: buffer[0..<n])
            if expected == nil, let split = answer.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: answer[..<split.lowerBound], as: UTF8.self).lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                   let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
                    expected = split.upperBound - answer.startIndex + length
                }
            }
        }
        return answer
    }

    /// The body of a chunked transfer.
    static func unchunk(_ data: Data) -> Data {
        var out = Data(), rest = data[...]
        while let line = rest.range(of: Data("\r\n".utf8)),
              let size = Int(String(decoding: rest[..<line.lowerBound], as: UTF8.self), radix: 16), size > 0 {
            let start = line.upperBound
            out.append(rest[start..<min(rest.endIndex, start + size)])
            rest = rest[min(rest.endIndex, start + size + 2)...]
        }
        return out
    }

    /// A new session of Chromium at `binary` with `arguments`; returns its id.
    func newSession(binary: String, arguments: [String]) throws -> String {
        let capabilities: [String: Any] = ["alwaysMatch": [
            "goog:chromeOptions": ["binary": binary, "args": arguments],
            "goog:loggingPrefs": ["browser": "ALL"],
        ]]
        let value = try call("POST", "/session", ["capabilities": capabilities]) as? [String: Any]
        guard let id = value?["sessionId"] as? String else { throw Failure(description: "no session id in \(String(describing: value))") }
        return id
    }
}

/// A value handed from a reader thread to the test thread (written before a semaphore or queue sync).
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
