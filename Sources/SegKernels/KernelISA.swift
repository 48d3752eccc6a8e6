#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction-set path a kernel call takes. This is the single ISA-dispatch point:
/// `KernelISA.detected` is chosen once at start-up, and every kernel that has an
/// ISA-specific body switches on the `isa` of the `KernelContext` it was given.
///
/// `.portable` is plain Swift (SIMD types and scalar loops) and gives the same results as
/// `.avx2` within float rounding (FMA versus separate multiply and add). Note that this
/// module is compiled with `-mavx2 -mfma`, so the compiler may auto-vectorize the portable
/// path with AVX2 too: the portable path exists for verification and for builds of this
/// target without those flags, not as a fallback for pre-Haswell CPUs in this build.
public enum KernelISA: String, Sendable, CaseIterable {
    case portable
    case avx2

    /// Best path for this CPU; `SEGSLIM_KERNELS_ISA=portable` forces the portable one.
    public static let detected: KernelISA = {
        if let forced = getenv("SEGSLIM_KERNELS_ISA").map({ String(cString: $0) }),
           let isa = KernelISA(rawValue: forced) {
            return isa == .avx2 && !cpuHasAVX2FMA() ? .portable : isa
        }
        return cpuHasAVX2FMA() ? .avx2 : .portable
    }()

    /// Whether `.avx2` may run here (always false off x86-64).
    public var isAvailable: Bool { self == .portable || KernelISA.cpuHasAVX2FMA() }

    /// Linux exposes CPUID flags in /proc/cpuinfo; reading them avoids inline assembly,
    /// which Swift cannot express. Anything unreadable means "portable".
    static func cpuHasAVX2FMA() -> Bool {
        #if arch(x86_64) && os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
            return flags.contains("avx2") && flags.contains("fma")
        }
        return false
        #else
        return false
        #endif
    }
}

/// What every kernel call runs with: the thread pool to split work over and the ISA path.
/// Tests build one per (isa, thread count); the runtime uses `.shared`.
public struct KernelContext: Sendable {
    public var pool: ThreadPool
    public var isa: KernelISA

    public init(pool: ThreadPool = .shared, isa: KernelISA = .detected) {
        self.pool = pool
        self.isa = isa.isAvailable ? isa : .portable
    }

    public static let shared = KernelContext()
}
