import CDNNL
import Foundation

/// The low-precision GEMM backend: oneDNN's matmul primitive in bf16 (fp32 accumulation) and in int8
/// (u8 × s8 → s32 accumulation, fp32 rescale), dispatched at run time on what the CPU offers.
///
/// oneDNN reports the best instruction set it will use (`dnnl_get_effective_cpu_isa`, capped by the
/// `DNNL_MAX_CPU_ISA` environment variable). bf16 needs AVX512_BF16 (`VDPBF16PS`), int8 needs VNNI
/// (`VPDPBUSD`, AVX-512 or AVX2 form). Without them oneDNN would emulate both slower than fp32, so
/// `isAvailable` is false and callers run fp32 instead, saying so once (`noteFallback`).
///
/// Threads: the engine owns them. Each GEMM is split over `Engine.threads` engine threads (rows of C,
/// or columns when n > m), and every part is one oneDNN call with the OpenMP thread count of its
/// calling thread set to 1, so oneDNN never starts an OpenMP team whose workers would spin
/// (libgomp's `OMP_WAIT_POLICY`, read once at load) on cores the engine's kernels need.
public enum LowPrecision {
    /// A low-precision GEMM kind.
    public enum Kind: String, Sendable, CaseIterable {
        /// bf16 operands, fp32 accumulation and output.
        case bf16
        /// uint8 activations (per-tensor zero point) × int8 weights (per-output-channel scales), int32
        /// accumulation, fp32 output.
        case int8

        /// The oneDNN instruction set the kind needs, as oneDNN names it.
        public var requiredISA: String {
            switch self {
            case .bf16: return "AVX512_CORE_BF16"
            case .int8: return "AVX512_CORE_VNNI or AVX2_VNNI"
            }
        }
    }

    /// oneDNN's effective instruction set (the CPU's, capped by `DNNL_MAX_CPU_ISA`).
    static let effectiveISA: dnnl_cpu_isa_t = dnnl_get_effective_cpu_isa()

    /// The effective instruction set as oneDNN spells it (`avx512_core_bf16`, `avx2`, …).
    public static var isaName: String {
        let isa = effectiveISA
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx2, "avx2"), (dnnl_cpu_isa_avx, "avx"),
            (dnnl_cpu_isa_sse41, "sse41"),
        ]
        return names.first { $0.0 == isa }?.1 ?? "isa 0x\(String(isa.rawValue, radix: 16))"
    }

    /// Whether the effective ISA contains all the instruction-set bits of `required` (oneDNN's ISA
    /// values are bit masks of their features).
    static func has(_ required: dnnl_cpu_isa_t) -> Bool {
        effectiveISA.rawValue & required.rawValue == required.rawValue
    }

    /// Whether `kind` runs natively here (never emulated).
    public static func isAvailable(_ kind: Kind) -> Bool {
        switch kind {
        case .bf16: return has(dnnl_cpu_isa_avx512_core_bf16)
        case .int8: return has(dnnl_cpu_isa_avx512_core_vnni) || has(dnnl_cpu_isa_avx2_vnni)
        }
    }

    /// The one-line note printed when `kind` is asked for but not available.
    public static func fallbackNote(_ kind: Kind) -> String {
        "note: \(kind.rawValue) matmul needs \(kind.requiredISA), which this CPU lacks (oneDNN reports \(isaName)); running fp32"
    }

    nonisolated(unsafe) private static var noted: Set<Kind> = []
    private static let noteLock = NSLock()

    /// Prints `fallbackNote(kind)` to standard error, once per process and kind.
    public static func noteFallback(_ kind: Kind) {
        noteLock.lock()
        let first = noted.insert(kind).inserted
        noteLock.unlock()
        if first { FileHandle.standardError.write(Data((fallbackNote(kind) + "\n").utf8)) }
    }

    /// Whether bf16 products whose depth k is a multiple of 32 run on the engine's own AMX kernel
    /// (`AMXMatmul`) rather than on oneDNN.
    public static var hasAMXKernel: Bool { AMXMatmul.isAvailable }

    /// Primitive-cache counters: `hits` calls that reused a primitive, `misses` primitives created.
    public static var cacheStatistics: (hits: Int, misses: Int) { DNNLMatmul.statistics }

    /// The oneDNN implementation that runs `kind` for an m×k·k×n product with A row-major and B
    /// row-major, or read transposed from W [n, k] (`transposeB`, the `Linear` layout), as a layer calls
    /// it (bf16 with a bias; int8 to int32, rescaled by the engine), e.g. `brg:avx512_core_amx_bf16`; for
    /// benchmarks and diagnostics.
    public static func implementationName(_ kind: Kind, m: Int, n: Int, k: Int, transposeB: Bool = false) -> String {
        let key = DNNLMatmul.Key(kind: kind, m: m, n: n, k: k, aStrides: (k, 1), bStrides: transposeB ? (1, k) : (n, 1),
                                 ldc: n, bias: kind == .bf16)
        return DNNLMatmul.primitive(for: key).implementation
    }
}
