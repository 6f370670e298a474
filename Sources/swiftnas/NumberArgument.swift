import ArgumentParser
import Foundation
import NASTensor

/// Every numeric option is parsed by one of these, at parse time, so that `nan`, `inf`, negatives, zero
/// and out-of-range values get the same message everywhere — "The value 'nan' is invalid for
/// '--lr <lr>': expected a positive finite number". Used as
/// `@Option(parsing: .unconditional, transform: NumberArgument.positive) var steps = 1000`
/// (`.unconditional` so that `-5` is read as the option's value, not as an unknown flag).
enum NumberArgument {
    struct Invalid: Error, CustomStringConvertible {
        let expected: String
        var description: String { "expected \(expected)" }
    }

    private static func integer(_ text: String, _ expected: String, _ accept: (Int) -> Bool) throws -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), accept(value) else { throw Invalid(expected: expected) }
        return value
    }

    private static func real<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String, _ expected: String,
                                                                                    _ accept: (T) -> Bool) throws -> T {
        guard let value = T(text.trimmingCharacters(in: .whitespaces)), value.isFinite, accept(value) else {
            throw Invalid(expected: expected)
        }
        return value
    }

    /// An integer ≥ 1.
    @Sendable static func positive(_ text: String) throws -> Int { try integer(text, "a positive integer") { $0 > 0 } }
    /// An integer ≥ 0.
    @Sendable static func nonNegative(_ text: String) throws -> Int { try integer(text, "an integer ≥ 0") { $0 >= 0 } }
    /// A finite number > 0.
    @Sendable static func positive(_ text: String) throws -> Float { try real(text, "a positive finite number") { $0 > 0 } }
    @Sendable static func positive(_ text: String) throws -> Double { try real(text, "a positive finite number") { $0 > 0 } }
    /// A finite number ≥ 0.
    @Sendable static func nonNegative(_ text: String) throws -> Float { try real(text, "a finite number ≥ 0") { $0 >= 0 } }
    @Sendable static func nonNegative(_ text: String) throws -> Double { try real(text, "a finite number ≥ 0") { $0 >= 0 } }
    /// A share or weight in [0, 1].
    @Sendable static func atLeastOne(_ text: String) throws -> Double { try real(text, "a finite number ≥ 1") { $0 >= 1 } }

    @Sendable static func unit(_ text: String) throws -> Float { try real(text, "a number in [0, 1]") { (0...1).contains($0) } }
    @Sendable static func unit(_ text: String) throws -> Double { try real(text, "a number in [0, 1]") { (0...1).contains($0) } }
    /// A share strictly between 0 and 1.
    @Sendable static func openUnit(_ text: String) throws -> Double { try real(text, "a number in (0, 1)") { $0 > 0 && $0 < 1 } }
    /// A dropout rate in [0, 1) (1 would drop everything and divide by zero).
    @Sendable static func dropout(_ text: String) throws -> Float { try real(text, "a dropout rate in [0, 1)") { (0..<1).contains($0) } }

    /// A random seed: a whole number from 0 to 2⁶⁴ − 1.
    @Sendable static func seed(_ text: String) throws -> UInt64 {
        guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else { throw Invalid(expected: "a whole number from 0 to 2^64 − 1") }
        return value
    }

    /// Engine threads: 1 … the cores of this machine.
    @Sendable static func threads(_ text: String) throws -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return try integer(text, "a thread count from 1 to \(cores) (the cores of this machine)") { (1...cores).contains($0) }
    }

    /// A TCP port: 0 (any free port) … 65535.
    @Sendable static func port(_ text: String) throws -> Int { try integer(text, "a port 0…65535") { (0...65535).contains($0) } }

    /// A byte count with an optional K, M, G or T suffix (`MemoryBudget.parse`).
    @Sendable static func bytes(_ text: String) throws -> Int {
        guard let bytes = MemoryBudget.parse(text) else { throw Invalid(expected: "a positive size such as 512M or 4G") }
        return bytes
    }
}

/// The engine's resources, for every command that builds or reads models: --threads and --max-memory.
struct EngineOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Engine threads (default: all cores).", transform: NumberArgument.threads)
    var threads: Int?
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Refuse any model, batch, search space or file whose estimated memory exceeds this (e.g. 512M, 4G; default: 75 % of the machine's or container's memory).",
                               valueName: "bytes"),
            transform: NumberArgument.bytes)
    var maxMemory: Int?

    /// Sets the engine's threads and the memory limit when given.
    func apply() {
        if let threads { Engine.threads = threads }
        if let maxMemory { MemoryBudget.limit = maxMemory }
    }
}
