/// Algorithm switches for A/B measurements of the float and INT8 conv kernels. Kernels never
/// read the environment: SegRuntime's `RuntimeOptions` reads it once (the `SEGSLIM_*`
/// variables) and hands these down through `KernelContext`, so a run's choices are one value
/// that `server/status` can show.
package struct KernelOptions: Sendable, Equatable {
    /// Winograd F(2,3) for 3×3 convs where profitable (`SEGSLIM_WINOGRAD=0` turns it off).
    package var winograd = true
    /// Largest Cin·Cout for which Winograd is used (`SEGSLIM_WINOGRAD_MAX`): above it the
    /// 16·Cin·Cout transformed weights leave the cache.
    package var winogradMaxChannelProduct = 512 * 512
    /// Smallest Cin·Cout / (Cin + Cout) for which Winograd is used (`SEGSLIM_WINOGRAD_MIN_RATIO`):
    /// GEMM work per tile grows with Cin·Cout, transform work with Cin + Cout.
    package var winogradMinChannelRatio = 28
    /// The same for output planes of at least `winogradLargePlane` pixels
    /// (`SEGSLIM_WINOGRAD_MIN_RATIO_LARGE`): there the transforms stream and implicit GEMM with
    /// few output channels re-reads each input row per channel block. UNet-R18's decoder at
    /// 192×240: 128→32 (ratio 25.6) 51.4 → 39.6 ms, 32→32 (16) 13.9 → 11.2 ms on Winograd; at
    /// 384×480, 32→16 (10.7) and 16→16 (8) were slower on it (26.5 → 29.1, 13.9 → 18.9 ms);
    /// at 45×60, 32→32 (BiSeNetV2) showed no gain.
    package var winogradLargePlaneMinChannelRatio = 16
    package static let winogradLargePlane = 128 * 128
    /// Implicit-GEMM convs read B in place on wide maps, and stride-2 ones with few input rows
    /// through even/odd column planes (`SEGSLIM_DIRECT=0` packs every panel).
    package var directConv = true
    /// Pointwise convs read B in place only when a channel plane is at most this many bytes
    /// (`SEGSLIM_DIRECT_PW`). 0 by default: with plane-sized strides between depth rows every row
    /// is a new page, and reading in place was 1.35× slower than packing on the LRASPP model.
    package var directPointwiseMaxPlaneBytes = 0
    /// Whether INT8 GEMMs may use AVX512-VNNI where the CPU has it (`SEGSLIM_KERNELS_VNNI=0`: no).
    package var vnni = true
    /// Dilated stride-1 convs whose taps read padding over much of the output run one tap at a
    /// time over the rectangles where each reads the image (`TapwiseConv`; `SEGSLIM_TAPWISE=0`: no).
    package var tapwiseConv = true
    /// Pointwise convs with at most this many input channels run on the AVX-512 kernel that
    /// reads the input planes in place (`PointwiseSmallDepth`, which also takes deeper ones on
    /// small maps; `SEGSLIM_AVX512_PW_DEPTH`, 0: never).
    package var smallDepthPointwiseMaxDepth = 64
    /// Implicit-GEMM convs with few output channels run on the same AVX-512 kernel, over im2col
    /// panels (`Im2colAVX512`) or reading the input in place along output rows (`DirectAVX512`);
    /// `SEGSLIM_AVX512_IM2COL=0`: the GEMM.
    package var im2colAVX512 = true
    /// Dense stride-1 convs (and stride-2 ones on small outputs) run on the channels-across-lanes
    /// kernel over flattened padded positions (`LaneSweepConv`; `SEGSLIM_LANE_SWEEP=0`: never).
    package var laneSweep = true
    /// ... ahead of Winograd F(2,3) only with at most this many output channels, where both
    /// apply (`SEGSLIM_LANE_SWEEP_OVER_WINOGRAD`). Every count on CPUs with full-width AVX-512
    /// (Zen 5: 64→64 3×3 at 96×120 5.0 ms on the sweep against 6.8 on Winograd, measured with
    /// the eight-lane transforms); none where 512-bit ops run as two halves (Zen 4,
    /// `KernelISA.hasHalfRateAVX512`), whose sweep has no wider datapath to gain from: FPN-R18's
    /// 256→128 at 96×120 74.7 → 41.2 ms on Winograd, 128→128 at 48×60 8.2 → 6.2, and since the
    /// transforms run on sixteen lanes also with 32 output channels (U-Net's 128→32 at 192×240:
    /// 49.0 → 26.1 ms, 32→32: 9.4 → 8.5).
    package var laneSweepOverWinogradMaxChannels = KernelISA.hasHalfRateAVX512 ? 0 : Int.max
    /// ... when at least this deep (Cin·kH·kW; `SEGSLIM_LANE_SWEEP_MIN_DEPTH`).
    package var laneSweepMinDepth = 256
    /// ... and, at stride 2, with at most this many output pixels (`SEGSLIM_LANE_SWEEP_S2_PIXELS`):
    /// on larger maps the phase-plane copy and its reads cost more than the GEMM's panels.
    package var laneSweepStride2MaxPixels = 4096
    /// The packed GEMM runs its full tiles two A panels at a time on 12×32 and 12×16 AVX-512
    /// kernels (and leftover panels on 6×32), the epilogue in their registers
    /// (`SEGSLIM_GEMM_AVX512=0`: the 6×16 AVX2 tile throughout).
    package var gemmAVX512 = true
    /// Depthwise convs (other than the stride-2 ring path) run their output rows sixteen lanes
    /// at a time on AVX-512 (`SEGSLIM_DEPTHWISE_AVX512=0`: eight, on AVX2; the same sums).
    package var depthwiseAVX512 = true
    /// Winograd's input and output transforms take sixteen tiles per call on AVX-512, edges
    /// under masks (`SEGSLIM_WINOGRAD_AVX512=0`: eight on AVX2, edges element by element; the
    /// same floats).
    package var winogradAVX512 = true
    /// The few-output-channel pointwise kernel copies each band of large input planes into a
    /// compact block before sweeping it (`SEGSLIM_PW_GATHER=0`: reads the planes in place).
    package var smallDepthGather = true
    /// Convs that read their input in place along W with more than 64 input rows per output
    /// row gather them band by band onto the AVX-512 kernel (`SEGSLIM_DIRECT_GATHER=0`: they
    /// stay on the packed GEMM).
    package var directGather = true

    package init() {}

    /// The defaults (what a run without any `SEGSLIM_*` variable gets).
    package static let standard = KernelOptions()
}
