import XCTest
import NASTensor

/// The low-precision fallback, seen from a child process whose oneDNN is capped below AVX512_BF16/VNNI
/// (`DNNL_MAX_CPU_ISA` is read once per process, so this cannot run in the test process itself).
final class LowPrecisionCLITests: XCTestCase {
    func testBenchSaysWhyBF16AndInt8FallBackWithoutTheISA() throws {
        let (status, output) = try CLIProcess.run(["bench", "engine", "--quick", "--filter", "matmul 1024x1024x1024 engine"],
                                                  environment: ["DNNL_MAX_CPU_ISA": "AVX512_CORE"])
        XCTAssertEqual(status, 0, output)
        // What oneDNN reports under the cap depends on the CPU (avx512_core, or avx2 on one without AVX-512).
        XCTAssertTrue(output.contains("note: bf16 matmul needs AVX512_CORE_BF16, which this CPU lacks (oneDNN reports avx"), output)
        XCTAssertTrue(output.contains("); running fp32"), output)
        XCTAssertTrue(output.contains("note: int8 matmul needs AVX512_CORE_VNNI or AVX2_VNNI"), output)
        XCTAssertFalse(output.contains("GFLOP/s ("), "no low-precision row may run emulated: \(output)")
    }

    /// Without the cap, on a CPU that has the instructions, the rows run (a smoke check of the bench).
    func testBenchRunsLowPrecisionRowsWhenAvailable() throws {
        try XCTSkipUnless(LowPrecision.isAvailable(.int8), LowPrecision.fallbackNote(.int8))
        let (status, output) = try CLIProcess.run(["bench", "engine", "--quick", "--filter", "int8 matmul 1024x1024x1024 engine"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("int8 matmul 1024x1024x1024 engine API vs raw oneDNN"), output)
        XCTAssertFalse(output.contains("note:"), output)
    }
}
