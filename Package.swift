// swift-tools-version:6.0
// SegSlim: a warm segmentation-model daemon. Layers point down (see README "Layout");
// no package dependencies: the Swift toolchain only.
import PackageDescription

/// Technique plugins, one folder each under plugins/. A new technique is its folder, its name
/// here, and one line in SegServer/BuiltInTechniques.swift; SegServer links every name here.
let plugins = ["Fuse", "Quantize", "Prune", "Finetune", "Distill"]

/// What a plugin may import: the technique protocol and the graph layers, never the runtime
/// (models run through TechniqueContext.runner). SegReference stays for static analysis
/// (ShapeInference, ModelSummary), which SegRewrite already pulls in.
/// SegKernels serves the arithmetic a technique does itself (AdaRound's reconstruction GEMMs).
let pluginDependencies: [Target.Dependency] = ["SegTechnique", "SegGraph", "SegTensor", "SegRewrite", "SegReference", "SegProtocol", "SegKernels"]

let package = Package(
    name: "SegSlim",
    products: [
        .executable(name: "segslimd", targets: ["segslimd"]),
        .executable(name: "segslim", targets: ["segslim"]),
        .library(name: "SegTechnique", targets: ["SegTechnique"]),
    ],
    targets: [
        // Numerics and models
        .target(name: "SegTensor"),
        .target(name: "SegGraph", dependencies: ["SegTensor"]),
        .target(name: "SegONNX", dependencies: ["SegTensor", "SegGraph"]),
        .target(name: "SegReference", dependencies: ["SegTensor", "SegGraph"]),
        .target(name: "SegRewrite", dependencies: ["SegGraph", "SegTensor", "SegReference"]),
        .target(name: "SegParallel"),
        .target(name: "SegImaging", dependencies: ["SegParallel"]),
        // CPU kernels (GEMM, conv, pooling, resize): AVX2/FMA intrinsics behind one ISA switch.
        .target(name: "SegKernels", dependencies: ["SegParallel", "SegKernelsVNNI"],
                swiftSettings: [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"])]),
        // The AVX-512 kernels alone (the VNNI INT8 micro-kernels, the FP32 GEMM tiles, the
        // channels-across-lanes sweep and its write-out, pointwise and depthwise rows; code here
        // may use AVX-512 anywhere): SegKernels calls them only after KernelISA's run-time check.
        .target(name: "SegKernelsVNNI",
                swiftSettings: [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mavx512f", "-Xcc", "-mavx512vl",
                                              "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vnni"])]),
        .target(name: "SegRuntime", dependencies: ["SegTensor", "SegGraph", "SegReference", "SegRewrite", "SegKernels"]),
        .target(name: "SegMetrics"),
        .target(name: "SegData", dependencies: ["SegImaging", "SegTensor"]),
        .target(name: "SegPipeline", dependencies: ["SegTensor", "SegGraph", "SegImaging", "SegData", "SegMetrics", "SegReference", "SegRuntime", "SegKernels"]),
        .target(name: "SegTechnique", dependencies: ["SegGraph", "SegProtocol", "SegTensor"]),
        // Training: reverse-mode differentiation of the graph on SegKernels (backward rules per op).
        .target(name: "SegAutodiff", dependencies: ["SegTensor", "SegGraph", "SegReference", "SegKernels"]),
        // The training loop: losses, optimizers, schedules, checkpoints, evaluation while training.
        .target(name: "SegTrain", dependencies: ["SegAutodiff", "SegTensor", "SegGraph", "SegKernels", "SegData", "SegONNX"]),
        // Student networks (`model/build`): named architectures written as trainable graphs.
        .target(name: "SegArchitectures", dependencies: ["SegGraph", "SegTensor"]),

        // Technique plugins (`plugins` above): generated, one per name.
    ] + plugins.map { name in
        .target(name: name, dependencies: pluginDependencies, path: "plugins/\(name)")
    } + [
        // Wire
        .target(name: "SegProtocol"),
        .target(name: "SegTransport", dependencies: ["SegProtocol"]),
        // HTTP/1.1 + WebSocket for `--listen http://`: the browser app's files and its JSON-RPC.
        .target(name: "SegWeb", dependencies: ["SegTransport"]),
        .target(name: "SegServer", dependencies: ["SegProtocol", "SegTransport", "SegTechnique", "SegGraph", "SegONNX", "SegReference", "SegTensor", "SegData", "SegImaging", "SegMetrics", "SegParallel", "SegPipeline", "SegRuntime", "SegKernels", "SegRewrite", "SegAutodiff", "SegTrain", "SegArchitectures"] + plugins.map { .target(name: $0) }),

        // Executables
        .executableTarget(name: "segslimd", dependencies: ["SegServer", "SegWeb"]),
        // segslim spawns the segslimd beside it; depending on it makes `swift run segslim`
        // build both.
        .executableTarget(name: "segslim", dependencies: ["SegProtocol", "SegTransport", "segslimd"],
                          resources: [.copy("Demo")]),
        // Release-mode timing driver for benchmarks/imaging_speed.py.
        .executableTarget(name: "segslim-imaging-bench", dependencies: ["SegImaging"], path: "benchmarks/imaging-bench"),
        // Release-mode GFLOP/s driver for SegKernels (benchmarks/kernels/README.md).
        .executableTarget(name: "segslim-kernel-bench", dependencies: ["SegKernels"], path: "benchmarks/kernels"),

        // Tests
        // What tests share: ../shared, CI=true turning a missing requirement from a skip into
        // a failure, the ONNX conformance cases and tensor comparison.
        .target(name: "SegTestSupport", dependencies: ["SegTensor"], path: "Tests/SegTestSupport"),
        .testTarget(name: "SegTensorTests", dependencies: ["SegTensor"]),
        .testTarget(name: "SegONNXTests", dependencies: ["SegTestSupport", "SegONNX", "SegGraph", "SegTensor", "SegReference"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SegImagingTests", dependencies: ["SegTestSupport", "SegImaging", "SegTensor"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SegReferenceTests", dependencies: ["SegTestSupport", "SegReference", "SegONNX", "SegGraph", "SegTensor"],
                    resources: [.copy("Conformance"), .copy("Fixtures")]),
        .testTarget(name: "SegMetricsTests", dependencies: ["SegMetrics"]),
        .testTarget(name: "SegRewriteTests", dependencies: ["SegRewrite", "SegReference", "SegGraph", "SegTensor", "Fuse", "SegTechnique", "SegProtocol"]),
        .testTarget(name: "SegPipelineTests", dependencies: ["SegPipeline", "SegData", "SegImaging", "SegMetrics", "SegReference", "SegRuntime", "SegGraph", "SegTensor"]),
        .testTarget(name: "SegRuntimeTests", dependencies: ["SegTestSupport", "SegRuntime", "SegReference", "SegONNX", "SegTensor", "SegGraph", "SegRewrite", "Fuse", "SegTechnique", "SegProtocol"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SegKernelsTests", dependencies: ["SegKernels", "SegKernelsVNNI"]),
        .testTarget(name: "SegTrainTests", dependencies: ["SegTrain", "SegAutodiff", "SegGraph", "SegTensor", "SegONNX"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SegAutodiffTests", dependencies: ["SegAutodiff", "SegKernels", "SegReference", "SegGraph", "SegTensor", "SegONNX"]),
        .testTarget(name: "SegArchitecturesTests", dependencies: ["SegTestSupport", "SegArchitectures", "SegAutodiff", "SegReference", "SegONNX", "SegGraph", "SegTensor"]),
        .testTarget(name: "SegDataTests", dependencies: ["SegTestSupport", "SegData", "SegImaging"]),
        .testTarget(name: "SegProtocolTests", dependencies: ["SegProtocol"]),
        .testTarget(name: "SegTransportTests", dependencies: ["SegTransport", "SegProtocol"]),
        .testTarget(name: "SegWebTests", dependencies: ["SegWeb", "SegTransport", "SegTensor"]),
        .testTarget(name: "QuantizeTests", dependencies: ["SegTestSupport", "Quantize", "SegServer", "SegTechnique", "SegReference", "SegRuntime", "SegONNX", "SegTensor", "SegGraph", "SegProtocol"],
                    path: "Tests/QuantizeTests"),
        .testTarget(name: "PruneTests", dependencies: ["Prune", "SegServer", "SegTechnique", "SegReference", "SegRuntime", "SegONNX", "SegTensor", "SegGraph", "SegProtocol"],
                    path: "Tests/PruneTests"),
        .testTarget(name: "SegServerTests", dependencies: ["SegTestSupport", "SegServer", "SegWeb", "SegTechnique", "SegProtocol", "SegTransport", "SegTensor", "SegGraph", "SegONNX"],
                    resources: [.copy("Fixtures")]),
    ]
)
