import SegGraph
import SegTensor

/// An Einsum equation bound to operand shapes: every axis of every operand is given an index
/// id (ellipsis axes first, broadcast numpy-style, then letters), and the product runs by
/// plain index iteration over output ids and, inside, over the summed ids.
struct EinsumPlan: NNNumericKernel {
    /// Size of each index id.
    var sizes: [Int] = []
    /// Per operand, the element stride of each id (0 where the operand lacks it or broadcasts;
    /// a repeated letter adds its strides, which walks the diagonal).
    var strides: [[Int]] = []
    var outputIds: [Int] = []
    var summedIds: [Int] = []

    var outputDims: [Int] { outputIds.map { sizes[$0] } }

    enum Label: Equatable { case letter(Character), ellipsis }

    static func parseTerm(_ term: Substring) throws -> [Label] {
        var labels: [Label] = []
        var rest = term[...]
        while let c = rest.first {
            if rest.hasPrefix("...") {
                guard !labels.contains(.ellipsis) else { throw OpError.attribute("equation", "term '\(term)' has two ellipses") }
                labels.append(.ellipsis)
                rest = rest.dropFirst(3)
            } else if c.isASCII && c.isLetter {
                labels.append(.letter(c))
                rest = rest.dropFirst()
            } else {
                throw OpError.attribute("equation", "unexpected character '\(c)' in term '\(term)'")
            }
        }
        return labels
    }

    /// `lhs->rhs` split at every arrow (more than one arrow is refused by the caller).
    static func splitArrow(_ s: String) -> [String] {
        var parts: [String] = [""]
        var chars = s[...]
        while let c = chars.first {
            if chars.hasPrefix("->") { parts.append(""); chars = chars.dropFirst(2); continue }
            parts[parts.count - 1].append(c)
            chars = chars.dropFirst()
        }
        return parts
    }

    init(equation: String, shapes: [[Int]]) throws {
        let eq = equation.filter { $0 != " " }
        let sides = Self.splitArrow(eq)
        guard sides.count <= 2, let lhs = sides.first else { throw OpError.attribute("equation", "'\(equation)' has more than one '->'") }
        let terms = try lhs.split(separator: ",", omittingEmptySubsequences: false).map(Self.parseTerm)
        guard terms.count == shapes.count else {
            throw OpError.attribute("equation", "'\(equation)' has \(terms.count) operands, the node has \(shapes.count) inputs")
        }
        // Ellipsis axes: right-aligned broadcast over the operands that have one.
        var ellipsisShapes: [[Int]] = []
        for (term, shape) in zip(terms, shapes) {
            let letters = term.filter { $0 != .ellipsis }.count
            let extra = shape.count - letters
            guard extra >= 0, term.contains(.ellipsis) || extra == 0 else {
                throw OpError.attribute("equation", "term with \(letters) labels does not fit an operand of shape \(shape)")
            }
            if let at = term.firstIndex(of: .ellipsis) { ellipsisShapes.append(Array(shape[at..<(at + extra)])) }
        }
        let ellipsis = try Broadcast.shape(ellipsisShapes)
        sizes = ellipsis
        var letterIds: [Character: Int] = [:]
        var counts: [Character: Int] = [:]
        strides = []
        for (term, shape) in zip(terms, shapes) {
            let letters = term.filter { $0 != .ellipsis }.count
            let extra = shape.count - letters
            var axisStrides = [Int](repeating: 1, count: shape.count)
            for axis in stride(from: shape.count - 2, through: 0, by: -1) { axisStrides[axis] = axisStrides[axis + 1] * shape[axis + 1] }
            var axis = 0
            var assigned: [(id: Int, stride: Int)] = []
            for label in term {
                switch label {
                case .ellipsis:
                    for e in 0..<extra {
                        let id = ellipsis.count - extra + e
                        assigned.append((id, shape[axis] == 1 ? 0 : axisStrides[axis]))
                        axis += 1
                    }
                case .letter(let c):
                    counts[c, default: 0] += 1
                    let id: Int
                    if let known = letterIds[c] {
                        id = known
                        guard sizes[id] == shape[axis] else {
                            throw OpError.attribute("equation", "label '\(c)' has sizes \(sizes[id]) and \(shape[axis])")
                        }
                    } else {
                        id = sizes.count
                        letterIds[c] = id
                        sizes.append(shape[axis])
                    }
                    assigned.append((id, axisStrides[axis]))
                    axis += 1
                }
            }
            var opStrides = [Int](repeating: 0, count: sizes.count)
            for (id, s) in assigned { opStrides[id] += s }
            strides.append(opStrides)
        }
        for i in strides.indices where strides[i].count < sizes.count {
            strides[i] += [Int](repeating: 0, count: sizes.count - strides[i].count)
        }
        if sides.count == 2 {
            for label in try Self.parseTerm(sides[1][...]) {
                switch label {
                case .ellipsis: outputIds += Array(0..<ellipsis.count)
                case .letter(let c):
                    guard let id = letterIds[c] else { throw OpError.attribute("equation", "output label '\(c)' is not in any input") }
                    guard !outputIds.contains(id) else { throw OpError.attribute("equation", "output label '\(c)' repeats") }
                    outputIds.append(id)
                }
            }
        } else {
            outputIds = Array(0..<ellipsis.count) + counts.filter { $0.value == 1 }.keys.sorted().compactMap { letterIds[$0] }
        }
        summedIds = (0..<sizes.count).filter { !outputIds.contains($0) }
        try NN.checkedCount(outputDims, dtype: .f64)
    }

    func run<T: NNMulAdd>(_ inputs: [[T]]) throws -> [T] {
        let outCount = outputDims.reduce(1, *), sumCount = summedIds.map { sizes[$0] }.reduce(1, *)
        var out = [T](repeating: T.zero, count: outCount)
        guard outCount > 0 else { return out }
        var outIndex = [Int](repeating: 0, count: outputIds.count)
        var offsets = [Int](repeating: 0, count: inputs.count)
        for flat in 0..<outCount {
            var acc = T.zero
            if sumCount > 0 {
                var sumIndex = [Int](repeating: 0, count: summedIds.count)
                var inner = offsets
                for _ in 0..<sumCount {
                    var product = T.one
                    for (op, values) in inputs.enumerated() { product = T.nnMul(product, values[inner[op]]) }
                    acc = T.nnMulAdd(acc, product, T.one)
                    Self.advance(&sumIndex, &inner, ids: summedIds, sizes: sizes, strides: strides)
                }
            }
            out[flat] = acc
            Self.advance(&outIndex, &offsets, ids: outputIds, sizes: sizes, strides: strides)
        }
        return out
    }

    /// Odometer step over `ids`, keeping every operand's element offset in step.
    static func advance(_ index: inout [Int], _ offsets: inout [Int], ids: [Int], sizes: [Int], strides: [[Int]]) {
        var k = ids.count - 1
        while k >= 0 {
            let id = ids[k]
            index[k] += 1
            for op in offsets.indices { offsets[op] += strides[op][id] }
            if index[k] < sizes[id] { return }
            for op in offsets.indices { offsets[op] -= strides[op][id] * index[k] }
            index[k] = 0
            k -= 1
        }
    }
}

extension NeuralNetworkOperators {
    /// Einsum (12): general equations — explicit or implicit output, ellipsis broadcasting,
    /// repeated labels (diagonals) — computed by index iteration.
    static let einsum = OperatorDefinition(
        "Einsum", versions: 12...Int.max, attributes: ["equation"],
        check: { ctx in _ = try ctx.string("equation", default: "") },
        infer: { ctx, inputs in
            let dtype = inputs.first??.dtype
            let shapes = inputs.compactMap { $0?.type?.concreteDims }
            guard shapes.count == inputs.count else { return [TensorType(elementType: dtype, shape: nil)] }
            let plan = try EinsumPlan(equation: try ctx.string("equation", default: ""), shapes: shapes)
            return [TensorType(elementType: dtype, shape: plan.outputDims.map { .value($0) })]
        }
    ) { ctx, inputs in
        let tensors = try inputs.indices.map { try required(inputs, $0) }
        let plan = try EinsumPlan(equation: try ctx.string("equation", default: ""), shapes: tensors.map(\.dims))
        return [try NN.numeric(plan, tensors, dims: plan.outputDims)]
    }
}
