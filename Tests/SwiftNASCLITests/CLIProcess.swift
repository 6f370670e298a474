import Foundation
import XCTest

/// Runs the built `swiftnas` executable (in the build products folder that holds the test bundle).
enum CLIProcess {
    struct NotBuilt: Error { let searched: [String] }

    static var executable: URL {
        get throws {
            let bundle = Bundle(for: SearchCLITests.self).bundleURL
            let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("swiftnas") }
            guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw NotBuilt(searched: candidates.map(\.path))
            }
            return url
        }
    }

    /// Starts `swiftnas arguments…` with standard output and error on one pipe.
    static func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = try executable
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        return (p, pipe)
    }

    /// Runs to the end: (exit status, output).
    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let (p, pipe) = try start(arguments)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
