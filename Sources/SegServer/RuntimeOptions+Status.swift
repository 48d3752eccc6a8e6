import SegProtocol
import SegRuntime

extension RuntimeOptions {
    /// These options as `server/status` reports them: the ISA and VNNI as they take effect on
    /// this CPU, not only as asked for.
    var status: RuntimeOptionsStatus {
        RuntimeOptionsStatus(
            int8: int8, qgemmPath: qgemmPath?.rawValue, isa: effectiveISA.rawValue, vnni: effectiveVNNI,
            winograd: kernels.winograd, winogradMaxChannelProduct: kernels.winogradMaxChannelProduct,
            directConv: kernels.directConv, directPointwiseMaxPlaneBytes: kernels.directPointwiseMaxPlaneBytes,
            tapwiseConv: kernels.tapwiseConv, batchPerImage: batchPerImage)
    }
}
