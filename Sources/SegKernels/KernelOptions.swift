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
    /// Implicit-GEMM convs read B in place on wide maps (`SEGSLIM_DIRECT=0` packs every panel).
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

    package init() {}

    /// The defaults (what a run without any `SEGSLIM_*` variable gets).
    package static let standard = KernelOptions()
}
