/// The daemon's run-time switches as `server/status` shows them (SegRuntime's
/// `RuntimeOptions`, read once from the `SEGSLIM_*` environment at start-up).
public struct RuntimeOptionsStatus: Codable, Sendable, Equatable {
    /// QDQ patterns run on INT8 kernels (`SEGSLIM_INT8`).
    public var int8: Bool
    /// Forced INT8 GEMM path, or nil for per-layer choice (`SEGSLIM_QGEMM`).
    @EncodesNull public var qgemmPath: String?
    /// The kernel ISA in use (`SEGSLIM_KERNELS_ISA` forces one).
    public var isa: String
    /// INT8 GEMMs may use AVX512-VNNI (`SEGSLIM_KERNELS_VNNI`; also false without CPU support).
    public var vnni: Bool
    /// Winograd 3×3 convs (`SEGSLIM_WINOGRAD`).
    public var winograd: Bool
    /// Largest Cin·Cout given to Winograd (`SEGSLIM_WINOGRAD_MAX`).
    public var winogradMaxChannelProduct: Int
    /// Implicit-GEMM convs read B in place (`SEGSLIM_DIRECT`).
    public var directConv: Bool
    /// Largest plane, in bytes, a pointwise conv reads in place (`SEGSLIM_DIRECT_PW`; 0: never).
    public var directPointwiseMaxPlaneBytes: Int
    /// Sparse dilated convs run tap by tap over each tap's valid rectangle (`SEGSLIM_TAPWISE`).
    public var tapwiseConv: Bool
    /// Batches of models that keep samples apart run image by image through the batch-1 plan
    /// when one image's activations are large (`SEGSLIM_BATCH_PER_IMAGE`).
    public var batchPerImage: Bool

    public init(int8: Bool, qgemmPath: String?, isa: String, vnni: Bool, winograd: Bool, winogradMaxChannelProduct: Int,
                directConv: Bool, directPointwiseMaxPlaneBytes: Int, tapwiseConv: Bool, batchPerImage: Bool) {
        self.int8 = int8
        self.qgemmPath = qgemmPath
        self.isa = isa
        self.vnni = vnni
        self.winograd = winograd
        self.winogradMaxChannelProduct = winogradMaxChannelProduct
        self.directConv = directConv
        self.directPointwiseMaxPlaneBytes = directPointwiseMaxPlaneBytes
        self.tapwiseConv = tapwiseConv
        self.batchPerImage = batchPerImage
    }

    public var json: JSONValue {
        [
            "int8": .bool(int8), "qgemmPath": qgemmPath.map(JSONValue.string) ?? .null, "isa": .string(isa), "vnni": .bool(vnni),
            "winograd": .bool(winograd), "winogradMaxChannelProduct": .int(Int64(winogradMaxChannelProduct)),
            "directConv": .bool(directConv), "directPointwiseMaxPlaneBytes": .int(Int64(directPointwiseMaxPlaneBytes)),
            "tapwiseConv": .bool(tapwiseConv), "batchPerImage": .bool(batchPerImage),
        ]
    }
}
