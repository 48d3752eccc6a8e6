#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if arch(x86_64)
import _Builtin_intrinsics.intel.cpuid
#endif
/// The worker pool kernels run on lives below imaging and kernels alike (imaging's encoders
/// and decoders share it); every user of `KernelContext` sees it through this module.
@_exported import SegParallel

/// The instruction-set path a kernel call takes. This is the single ISA-dispatch point:
/// `KernelISA.detected` is chosen once at start-up, and every kernel that has an
/// ISA-specific body switches on the `isa` of the `KernelContext` it was given.
///
/// `.portable` is plain Swift (SIMD types and scalar loops) and gives the same results as
/// `.avx2` within float rounding (FMA versus separate multiply and add). Note that this
/// module is compiled with `-mavx2 -mfma`, so the compiler may auto-vectorize the portable
/// path with AVX2 too: the portable path exists for verification and for builds of this
/// target without those flags, not as a fallback for pre-Haswell CPUs in this build.
package enum KernelISA: String, Sendable, CaseIterable {
    case portable
    case avx2

    /// Best path for this CPU. A run may ask for another (`RuntimeOptions.isa`, from
    /// `SEGSLIM_KERNELS_ISA`) through the `KernelContext` it passes.
    package static let detected: KernelISA = cpuHasAVX2FMA() ? .avx2 : .portable

    /// Whether the AVX2 path may also run the AVX512-VNNI INT8 GEMM kernel (`vpdpbusd` on
    /// 256-bit vectors, SegKernelsVNNI). Decided once from the CPU; a run turns it off through
    /// `KernelOptions.vnni` (or by asking for the portable ISA).
    package static let hasVNNI: Bool = detected == .avx2 && cpuHasAVX512VNNI()

    /// Whether this CPU runs 512-bit vector ops as two 256-bit halves: AMD's Zen 4 (family
    /// 0x19 with AVX-512), where a zmm FMA costs what two ymm FMAs do, so kernels that win on
    /// 512-bit width alone (the lane sweep over Winograd) lose there. Zen 5 (0x1A) and Intel's
    /// AVX-512 server cores run them at full width. Kernel choices only, never results.
    package static let hasHalfRateAVX512: Bool = hasVNNI && cpuIsAMDFamily0x19()

    /// CPUID leaf 0's vendor "AuthenticAMD" and leaf 1's family (base 0xF + extended 0xA).
    static func cpuIsAMDFamily0x19() -> Bool {
        #if arch(x86_64)
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        // "Auth" "enti" "cAMD" in EBX, EDX, ECX, little-endian.
        guard __get_cpuid(0, &a, &b, &c, &d) != 0, b == 0x6874_7541, d == 0x6974_6E65, c == 0x444D_4163,
              __get_cpuid(1, &a, &b, &c, &d) != 0 else { return false }
        let base = (a >> 8) & 0xF, extended = (a >> 20) & 0xFF
        return base == 0xF && base + extended == 0x19
        #else
        return false
        #endif
    }

    /// Whether `.avx2` may run here (always false off x86-64).
    package var isAvailable: Bool { self == .portable || KernelISA.cpuHasAVX2FMA() }

    /// Linux exposes CPUID flags in /proc/cpuinfo; reading them avoids inline assembly,
    /// which Swift cannot express. Anything unreadable means "portable".
    static func cpuHasAVX2FMA() -> Bool {
        let flags = cpuinfoFlags()
        return flags.contains("avx2") && flags.contains("fma")
    }

    /// The `flags` line of /proc/cpuinfo (empty when unreadable or off Linux x86-64).
    static func cpuinfoFlags() -> Set<String> {
        #if arch(x86_64) && os(Linux)
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("flags") else { continue }
            return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
        }
        return []
        #else
        return []
        #endif
    }

    /// AVX512-VNNI with AVX512VL, and the OS saving the YMM/ZMM/opmask state:
    /// - CPUID.(7,0): ECX bit 11 (AVX512_VNNI), EBX bit 31 (AVX512VL), EBX bit 16 (AVX512F).
    /// - CPUID.1:ECX bit 27 (OSXSAVE): the OS has enabled XSAVE and XCR0.
    /// - XCR0 bits 1, 2, 5, 6, 7 (SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM). Swift cannot emit
    ///   XGETBV (`_xgetbv` is a macro over a builtin and there is no inline assembly), so
    ///   XCR0 is read the way CPUID exposes it: CPUID.(0xD,0):EBX is the XSAVE area size
    ///   for the features enabled in XCR0 right now, and it must reach the end of the
    ///   Hi16_ZMM component (CPUID.(0xD,7): EBX offset + EAX size). Because a component
    ///   after it (PKRU) alone could also reach that far, Linux's own verdict is required
    ///   as well: it lists avx512f/avx512vl/avx512_vnni in /proc/cpuinfo only when it
    ///   enables their state in XCR0.
    static func cpuHasAVX512VNNI() -> Bool {
        #if arch(x86_64)
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        guard __get_cpuid(1, &a, &b, &c, &d) != 0, c & (1 << 27) != 0 else { return false }
        guard __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0,
              c & (1 << 11) != 0, b & (1 << 31) != 0, b & (1 << 16) != 0 else { return false }
        guard __get_cpuid_count(0xD, 7, &a, &b, &c, &d) != 0, a != 0 else { return false }
        let zmmEnd = UInt64(a) + UInt64(b)
        guard __get_cpuid_count(0xD, 0, &a, &b, &c, &d) != 0, UInt64(b) >= zmmEnd else { return false }
        #if os(Linux)
        let flags = cpuinfoFlags()
        return flags.contains("avx512f") && flags.contains("avx512vl") && flags.contains("avx512_vnni")
        #else
        return false
        #endif
        #else
        return false
        #endif
    }
}

/// What every kernel call runs with: the thread pool to split work over and the ISA path.
/// Tests build one per (isa, thread count); the runtime uses `.shared`.
package struct KernelContext: Sendable {
    package var pool: ThreadPool
    package var isa: KernelISA
    /// Algorithm switches for the kernels planned with this context.
    package var options: KernelOptions

    package init(pool: ThreadPool = .shared, isa: KernelISA = .detected, options: KernelOptions = .standard) {
        self.pool = pool
        self.isa = isa.isAvailable ? isa : .portable
        self.options = options
    }

    /// Whether INT8 GEMMs planned with this context may use VNNI: the CPU has it, this context
    /// runs the AVX2 path, and the options allow it.
    package var allowsVNNI: Bool { options.vnni && isa == .avx2 && KernelISA.hasVNNI }

    package static let shared = KernelContext()
}
