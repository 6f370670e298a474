import Foundation
import XCTest
@testable import NASTensor

/// OpenBLAS must run the vector kernels the CPU supports, not its SSE3 fallback.
final class BLASCoreTests: XCTestCase {
    /// On a CPU with AVX2 or AVX-512, the kernel set is never "Prescott" (the fallback of an OpenBLAS older than
    /// the CPU, five times slower at sgemm): it fails without `swiftnas_openblas_select_core` on this machine's
    /// Xeon (family 6, model 0xCF, unknown to Debian 12's OpenBLAS 0.3.21).
    func testOpenBLASUsesTheCPUsVectorKernels() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flagLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no CPU flags in /proc/cpuinfo")
        }
        let flags = Set(flagLine.split(separator: " ").map(String.init))
        guard flags.contains("avx2") else { throw XCTSkip("no AVX2: the SSE kernels are the right ones") }
        // The environment the process started with (setenv does not change /proc/self/environ).
        let startEnvironment = try Data(contentsOf: URL(fileURLWithPath: "/proc/self/environ"))
        if String(decoding: startEnvironment, as: UTF8.self).split(separator: "\0").contains(where: { $0.hasPrefix("OPENBLAS_CORETYPE=") }) {
            throw XCTSkip("OPENBLAS_CORETYPE is set: the user chose the kernels")
        }
        XCTAssertNotEqual(Engine.blasCore.lowercased(), "prescott")
        XCTAssertNotEqual(Engine.blasCore.lowercased(), "core2")
        // The re-initialised kernels compute the product exactly (small integers: no rounding).
        let a = Tensor(shape: [37, 53], scalars: (0..<(37 * 53)).map { Float($0 % 11) - 5 })
        let b = Tensor(shape: [53, 29], scalars: (0..<(53 * 29)).map { Float($0 % 7) - 3 })
        let c = a.matmul(b).scalars, x = a.scalars, y = b.scalars
        for i in [0, 18, 36] { for j in [0, 14, 28] {
            XCTAssertEqual(c[i * 29 + j], (0..<53).reduce(Float(0)) { $0 + x[i * 53 + $1] * y[$1 * 29 + j] })
        } }
    }
}
