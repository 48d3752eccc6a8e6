import Foundation
import SegKernels

/// Every switch that changes how a model is compiled and run, in one value. The daemon reads
/// it from the environment once (`RuntimeOptions.process`); the same `SEGSLIM_*` variable
/// names as before keep benchmark scripts and A/B instructions working. The compiler passes
/// it down (kernel options through `KernelContext`), so no kernel reads the environment.
package struct RuntimeOptions: Sendable, Equatable {
    /// Run QDQ patterns on INT8 kernels (`SEGSLIM_INT8=0`: Q/DQ as float steps).
    package var int8 = true
    /// Forces the INT8 GEMM summation path for every layer (`SEGSLIM_QGEMM=exact|maddubs|vnni`;
    /// nil: per layer, `.maddubs` only where it provably cannot saturate).
    package var qgemmPath: QGemmPath? = nil
    /// Forces the kernel ISA (`SEGSLIM_KERNELS_ISA=portable|avx2`; nil: the CPU's best).
    /// `.avx2` on a CPU without it runs portable.
    package var isa: KernelISA? = nil
    /// Kernel algorithm switches (`SEGSLIM_KERNELS_VNNI`, `SEGSLIM_WINOGRAD`,
    /// `SEGSLIM_WINOGRAD_MAX`, `SEGSLIM_DIRECT`, `SEGSLIM_DIRECT_PW`, `SEGSLIM_TAPWISE`,
    /// `SEGSLIM_AVX512_PW_DEPTH`, `SEGSLIM_AVX512_IM2COL`, `SEGSLIM_LANE_SWEEP`, `SEGSLIM_LANE_SWEEP_MIN_DEPTH`, `SEGSLIM_LANE_SWEEP_S2_PIXELS`, `SEGSLIM_LANE_SWEEP_OVER_WINOGRAD`).
    package var kernels = KernelOptions.standard
    /// Run a batch image by image through the batch-1 plan when the model keeps samples apart
    /// (`BatchSeparability`) and one image's activations are at least `perImageMinArenaBytes`
    /// (`SEGSLIM_BATCH_PER_IMAGE=0`: always batched).
    package var batchPerImage = true
    /// Below this (one image's arena), batching is kept: small maps stay in cache and larger
    /// GEMMs amortise their packing. 8 MiB: a quarter of this CPU's L3.
    package var perImageMinArenaBytes = 8 << 20

    package init() {}

    /// The defaults: what a run without any `SEGSLIM_*` variable gets.
    package static let standard = RuntimeOptions()

    /// This process's options, read from its environment once.
    package static let process = RuntimeOptions(environment: ProcessInfo.processInfo.environment)

    /// Reads the `SEGSLIM_*` variables; unset or unparsable ones keep their defaults (as the
    /// scattered reads did before).
    package init(environment env: [String: String]) {
        int8 = env["SEGSLIM_INT8"] != "0"
        qgemmPath = env["SEGSLIM_QGEMM"].flatMap(QGemmPath.init(rawValue:))
        isa = env["SEGSLIM_KERNELS_ISA"].flatMap(KernelISA.init(rawValue:))
        if env["SEGSLIM_KERNELS_VNNI"] == "0" { kernels.vnni = false }
        if let v = env["SEGSLIM_WINOGRAD"] { kernels.winograd = v != "0" }
        if let v = env["SEGSLIM_WINOGRAD_MAX"] { kernels.winogradMaxChannelProduct = Int(v) ?? KernelOptions.standard.winogradMaxChannelProduct }
        if let v = env["SEGSLIM_WINOGRAD_MIN_RATIO"] { kernels.winogradMinChannelRatio = Int(v) ?? KernelOptions.standard.winogradMinChannelRatio }
        if let v = env["SEGSLIM_WINOGRAD_MIN_RATIO_LARGE"] {
            kernels.winogradLargePlaneMinChannelRatio = Int(v) ?? KernelOptions.standard.winogradLargePlaneMinChannelRatio
        }
        if let v = env["SEGSLIM_DIRECT"] { kernels.directConv = v != "0" }
        if let v = env["SEGSLIM_DIRECT_PW"] { kernels.directPointwiseMaxPlaneBytes = Int(v) ?? 0 }
        if let v = env["SEGSLIM_AVX512_PW_DEPTH"], let depth = Int(v), depth >= 0 { kernels.smallDepthPointwiseMaxDepth = depth }
        if let v = env["SEGSLIM_AVX512_IM2COL"] { kernels.im2colAVX512 = v != "0" }
        if let v = env["SEGSLIM_LANE_SWEEP"] { kernels.laneSweep = v != "0" }
        if let v = env["SEGSLIM_GEMM_AVX512"] { kernels.gemmAVX512 = v != "0" }
        if let v = env["SEGSLIM_WINOGRAD_AVX512"] { kernels.winogradAVX512 = v != "0" }
        if let v = env["SEGSLIM_PW_GATHER"] { kernels.smallDepthGather = v != "0" }
        if let v = env["SEGSLIM_DIRECT_GATHER"] { kernels.directGather = v != "0" }
        if let v = env["SEGSLIM_DEPTHWISE_AVX512"] { kernels.depthwiseAVX512 = v != "0" }
        if let v = env["SEGSLIM_LANE_SWEEP_MIN_DEPTH"], let depth = Int(v), depth >= 0 { kernels.laneSweepMinDepth = depth }
        if let v = env["SEGSLIM_LANE_SWEEP_OVER_WINOGRAD"], let channels = Int(v), channels >= 0 { kernels.laneSweepOverWinogradMaxChannels = channels }
        if let v = env["SEGSLIM_LANE_SWEEP_S2_PIXELS"], let pixels = Int(v), pixels >= 0 { kernels.laneSweepStride2MaxPixels = pixels }
        if let v = env["SEGSLIM_TAPWISE"] { kernels.tapwiseConv = v != "0" }
        if let v = env["SEGSLIM_BATCH_PER_IMAGE"] { batchPerImage = v != "0" }
    }

    /// The ISA kernels run with: the forced one where this CPU has it, else the CPU's best.
    package var effectiveISA: KernelISA {
        guard let isa else { return .detected }
        return isa.isAvailable ? isa : .portable
    }

    /// Whether INT8 GEMMs may use VNNI: allowed, on the AVX2 path, and the CPU has it.
    package var effectiveVNNI: Bool { kernels.vnni && effectiveISA == .avx2 && KernelISA.hasVNNI }

    /// The context kernels are planned and run with on `pool`.
    func context(pool: ThreadPool) -> KernelContext {
        KernelContext(pool: pool, isa: effectiveISA, options: kernels)
    }
}
