import SegKernels
import SegRuntime
import Testing

/// The `SEGSLIM_*` variables, read in one place.
@Suite struct RuntimeOptionsTests {
    @Test func noVariablesGiveTheDefaults() {
        #expect(RuntimeOptions(environment: [:]) == RuntimeOptions.standard)
        let o = RuntimeOptions.standard
        #expect(o.int8 && o.qgemmPath == nil && o.isa == nil)
        #expect(o.kernels == KernelOptions.standard)
        #expect(o.kernels.winograd && o.kernels.directConv && o.kernels.vnni && o.kernels.tapwiseConv)
        #expect(o.kernels.winogradMaxChannelProduct == 512 * 512 && o.kernels.directPointwiseMaxPlaneBytes == 0)
        #expect(o.kernels.winogradMinChannelRatio == 28 && o.kernels.winogradLargePlaneMinChannelRatio == 16)
        #expect(o.batchPerImage && o.perImageMinArenaBytes == 8 << 20)
        #expect(o.kernels.smallDepthPointwiseMaxDepth == 64 && o.kernels.im2colAVX512 && o.kernels.laneSweep && o.kernels.laneSweepMinDepth == 256 && o.kernels.laneSweepStride2MaxPixels == 4096)
        // Half-rate AVX-512 (Zen 4) keeps Winograd ahead of the sweep past 32 output channels.
        #expect(o.kernels.laneSweepOverWinogradMaxChannels == (KernelISA.hasHalfRateAVX512 ? 0 : Int.max))
    }

    @Test func everyVariableSetsItsField() {
        let o = RuntimeOptions(environment: [
            "SEGSLIM_INT8": "0", "SEGSLIM_QGEMM": "exact", "SEGSLIM_KERNELS_ISA": "portable", "SEGSLIM_KERNELS_VNNI": "0",
            "SEGSLIM_WINOGRAD": "0", "SEGSLIM_WINOGRAD_MAX": "4096", "SEGSLIM_DIRECT": "0", "SEGSLIM_DIRECT_PW": "65536",
            "SEGSLIM_TAPWISE": "0", "SEGSLIM_WINOGRAD_MIN_RATIO": "20", "SEGSLIM_WINOGRAD_MIN_RATIO_LARGE": "12",
            "SEGSLIM_BATCH_PER_IMAGE": "0", "SEGSLIM_AVX512_PW_DEPTH": "0", "SEGSLIM_AVX512_IM2COL": "0", "SEGSLIM_LANE_SWEEP": "0", "SEGSLIM_LANE_SWEEP_MIN_DEPTH": "512", "SEGSLIM_LANE_SWEEP_S2_PIXELS": "100",
            "SEGSLIM_LANE_SWEEP_OVER_WINOGRAD": "64", "SEGSLIM_GEMM_AVX512": "0", "SEGSLIM_DEPTHWISE_AVX512": "0",
            "SEGSLIM_WINOGRAD_AVX512": "0", "SEGSLIM_PW_GATHER": "0", "SEGSLIM_DIRECT_GATHER": "0",
        ])
        #expect(!o.int8 && o.qgemmPath == .exact && o.isa == .portable && o.effectiveISA == .portable)
        #expect(!o.kernels.vnni && !o.effectiveVNNI)
        #expect(!o.kernels.winograd && o.kernels.winogradMaxChannelProduct == 4096)
        #expect(!o.kernels.directConv && o.kernels.directPointwiseMaxPlaneBytes == 65536)
        #expect(!o.kernels.tapwiseConv)
        #expect(o.kernels.winogradMinChannelRatio == 20 && o.kernels.winogradLargePlaneMinChannelRatio == 12)
        #expect(!o.batchPerImage)
        #expect(o.kernels.smallDepthPointwiseMaxDepth == 0 && !o.kernels.im2colAVX512 && !o.kernels.laneSweep && o.kernels.laneSweepMinDepth == 512 && o.kernels.laneSweepStride2MaxPixels == 100)
        #expect(o.kernels.laneSweepOverWinogradMaxChannels == 64)
        #expect(!o.kernels.gemmAVX512 && !o.kernels.depthwiseAVX512 && !o.kernels.winogradAVX512)
        #expect(!o.kernels.smallDepthGather && !o.kernels.directGather)
    }

    @Test func unparsableValuesKeepTheDefaults() {
        let o = RuntimeOptions(environment: ["SEGSLIM_QGEMM": "fast", "SEGSLIM_KERNELS_ISA": "avx512", "SEGSLIM_WINOGRAD_MAX": "lots",
                                             "SEGSLIM_DIRECT_PW": "x", "SEGSLIM_INT8": "1", "SEGSLIM_WINOGRAD": "1",
                                             "SEGSLIM_AVX512_PW_DEPTH": "deep"])
        #expect(o == RuntimeOptions.standard)
    }

    @Test func compilerTakesItsOptionsAndOverridesOnlyWhatItIsGiven() {
        var options = RuntimeOptions.standard
        options.int8 = false
        options.kernels.winograd = false
        let c = Compiler(qgemmPath: .exact, options: options)
        #expect(!c.int8 && c.qgemmPath == .exact && !c.options.kernels.winograd)
        #expect(Compiler(int8: true, options: options).int8)
    }
}
