import SegGraph
import SegRewrite

/// Kernel choice as a table, keyed like the operator registry: (domain, op type) → the fast
/// candidates, tried in order. A candidate's `condition` is a cheap check on the node; its
/// `build` may still decline (nil) after looking at shapes and constants. When every candidate
/// declines, or the op has no entry, the node runs its reference definition — the one
/// fallback, taken in `PlanBuilder.build`.
struct KernelCandidate: Sendable {
    typealias Build = @Sendable (_ index: Int, _ builder: PlanBuilder, _ consumed: inout Set<Int>) throws -> PlanBuilder.Pending?

    /// For reading the table; not shown at run time.
    let name: String
    let condition: @Sendable (Node, PlanBuilder) -> Bool
    let build: Build

    /// The common condition of float kernels: the first output lives in the float arena.
    static func plannedOutput(_ node: Node, _ b: PlanBuilder) -> Bool {
        node.outputs.first.map(b.isPlanned) ?? false
    }

    init(_ name: String, condition: @escaping @Sendable (Node, PlanBuilder) -> Bool = plannedOutput, build: @escaping Build) {
        self.name = name
        self.condition = condition
        self.build = build
    }
}

enum KernelTable {
    struct Key: Hashable {
        var domain: String
        var opType: String
    }

    /// The fast candidates for `node`, in the order they are tried (empty: reference only).
    static func candidates(for node: Node) -> [KernelCandidate] {
        table[Key(domain: node.domain, opType: node.opType)] ?? []
    }

    /// The first candidate that takes node `i`, or nil for the reference fallback.
    static func select(_ i: Int, in b: PlanBuilder, consumed: inout Set<Int>) throws -> PlanBuilder.Pending? {
        let node = b.nodes[i]
        for c in candidates(for: node) where c.condition(node, b) {
            if let p = try c.build(i, b, &consumed) { return p }
        }
        return nil
    }

    static let table: [Key: [KernelCandidate]] = {
        var t: [Key: [KernelCandidate]] = [:]
        func add(_ ops: [String], domain: String = "", _ candidates: [KernelCandidate]) {
            for op in ops { t[Key(domain: domain, opType: op), default: []] += candidates }
        }
        let activation = KernelCandidate("activation") { i, b, _ in FastPath.activationStep(b.nodes[i], b) }
        add(["Relu", "HardSwish", "Sigmoid", "HardSigmoid", "LeakyRelu", "Clip"], [activation])
        add(["Add", "Sub", "Mul", "Div"], [KernelCandidate("binary (+ activation)", build: FastPath.binary)])
        add(["GlobalAveragePool"], [KernelCandidate("global pool") { i, b, _ in FastPath.globalPool(b.nodes[i], b) }])
        add(["Concat"], [KernelCandidate("concat") { i, b, _ in FastPath.concat(b.nodes[i], b) }])
        let conv = KernelCandidate("Conv2D") { i, b, _ in try ConvPath.select(b.nodes[i], in: b) }
        add(["Conv"], [conv])
        add([FusedOps.fusedConv], domain: FusedOps.domain, [KernelCandidate("Conv2D (fused)", condition: { _, _ in true }) { i, b, _ in
            try ConvPath.select(b.nodes[i], in: b)
        }])
        add([FusedOps.attention], domain: FusedOps.domain, [KernelCandidate("attention") { i, b, _ in TensorOpsPath.attention(b.nodes[i], b) }])
        add([FusedOps.gelu], domain: FusedOps.domain, [KernelCandidate("pointwise erf chain", build: TensorOpsPath.gelu)])
        add(["Resize", "Upsample"], [KernelCandidate("resize") { i, b, _ in ResizePath.select(b.nodes[i], in: b) }])
        add(["Einsum"], [KernelCandidate("einsum as a batched matrix product", build: EinsumPath.select)])
        add(["GridSample"], [KernelCandidate("bilinear grid sample", build: GridSamplePath.select)])
        add(["ConvTranspose"], [KernelCandidate("ConvTranspose2D (+ activation)", build: ConvTransposePath.select)])
        add(["Where"], [KernelCandidate("select with a constant condition", build: WherePadPath.whereSelect)])
        add(["Pad"], [KernelCandidate("constant pad", build: WherePadPath.pad)])
        // A MatMul of DQ(Q(x)) and DQ(s8 weights): an integer GEMM before any float candidate.
        add(["MatMul"], [KernelCandidate("static INT8 matrix product (QDQ)", build: QDQMatMulPath.select)])
        add(["MatMul", "Gemm", "Softmax", "LayerNormalization", "Erf", "Gelu", "Transpose", "Pow", "Sqrt"],
            [KernelCandidate("tensor ops", build: TensorOpsPath.select)])
        add(["MaxPool", "AveragePool", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Slice", "Gather", "Split",
             "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "InstanceNormalization", "BatchNormalization"],
            [KernelCandidate("data movement", build: DataMovementPath.select)])
        // Q/DQ steps need no float output (they write u8 or read it).
        let quant = KernelCandidate("quantize / dequantize", condition: { _, _ in true }, build: QuantPath.select)
        add(["QuantizeLinear", "DequantizeLinear"], [quant])
        add(["QuantizeLinear", "DequantizeLinear"], domain: "ai.onnx", [quant])
        // Dynamic quantization writes u8 codes and scalars, and MatMulInteger takes its Cast along.
        let dynamic = KernelCandidate("dynamic quantization", condition: { _, _ in true }, build: DynamicQuantPath.select)
        add(["DynamicQuantizeLinear", "MatMulInteger", "ConvInteger"], [dynamic])
        return t
    }()
}

extension Compiler {
    /// Whether the kernel table has a fast candidate for this op (a candidate may still decline
    /// a node): tests that must see no reference fallback ask here which ops that applies to.
    package static func hasFastKernel(opType: String, domain: String = "") -> Bool {
        !KernelTable.candidates(for: Node(opType: opType, domain: domain, inputs: [], outputs: [])).isEmpty
    }
}
