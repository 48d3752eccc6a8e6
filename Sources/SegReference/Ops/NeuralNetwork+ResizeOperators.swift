import SegGraph
import SegTensor

extension NeuralNetworkOperators {
    static let resizeAttributes: Set<String> = ["mode", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                                                "extrapolation_value", "nearest_mode"]

    /// Settings of a node. Opset < 11 (Upsample, Resize-10) has only `mode` and ORT's legacy
    /// behaviour: asymmetric coordinates and "simple" nearest rounding.
    static func resizeOptions(_ ctx: NodeContext) throws -> ResizeOptions {
        let legacy = ctx.opset < 11
        let name = try ctx.string("mode", default: "nearest")
        guard let mode = ResizeOptions.Mode(rawValue: legacy && name == "bilinear" ? "linear" : name), !(legacy && mode == .cubic) else {
            throw OpError.attribute("mode", "'\(name)' is not supported (nearest, linear\(legacy ? "" : ", cubic"))")
        }
        var o = ResizeOptions(mode: mode)
        if legacy {
            o.coordinates = "asymmetric"
            o.nearest = "simple"
            return o
        }
        o.coordinates = try ctx.string("coordinate_transformation_mode", default: "half_pixel")
        guard ResizeOptions.coordinateModes.contains(o.coordinates), o.coordinates != "half_pixel_symmetric" || ctx.opset >= 19 else {
            throw OpError.attribute("coordinate_transformation_mode", "'\(o.coordinates)' is not supported at opset \(ctx.opset)")
        }
        o.nearest = try ctx.string("nearest_mode", default: "round_prefer_floor")
        guard ResizeOptions.nearestModes.contains(o.nearest) else { throw OpError.attribute("nearest_mode", "'\(o.nearest)' is not supported") }
        o.cubicA = try ctx.float("cubic_coeff_a", default: -0.75)
        o.excludeOutside = try ctx.int("exclude_outside", default: 0) != 0
        o.extrapolation = try ctx.float("extrapolation_value", default: 0)
        o.antialias = try ctx.int("antialias", default: 0) != 0
        let policy = try ctx.string("keep_aspect_ratio_policy", default: "stretch")
        guard ["stretch", "not_larger", "not_smaller"].contains(policy) else {
            throw OpError.attribute("keep_aspect_ratio_policy", "'\(policy)' is not supported")
        }
        return o
    }

    /// Resize 10: X and scales, legacy coordinates (like Upsample 9).
    static let resize10 = OperatorDefinition(
        "Resize", versions: 10...10, attributes: ["mode"],
        check: { _ = try resizeOptions($0) },
        infer: { ctx, inputs in
            try resizeInfer(ctx, inputs.first??.type, scales: inputs.count > 1 ? inputs[1] : nil, sizes: nil)
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0)
        let options = try resizeOptions(ctx)
        let plan = try ResizePlan(ctx, input: x.dims, roi: nil, scales: try required(inputs, 1), sizes: nil, coordinates: options.coordinates)
        return [try resize(x, plan: plan, options: options)]
    }

    /// Resize 11, 13 (roi and scales optional from 13), 18 (antialias, axes,
    /// keep_aspect_ratio_policy), 19 (half_pixel_symmetric): inputs X, roi, scales, sizes.
    static let resize11 = resizeDefinition(versions: 11...17, attributes: resizeAttributes)
    static let resize18 = resizeDefinition(versions: 18...Int.max,
                                           attributes: resizeAttributes.union(["antialias", "axes", "keep_aspect_ratio_policy"]))

    static func resizeDefinition(versions: ClosedRange<Int>, attributes: Set<String>) -> OperatorDefinition {
        OperatorDefinition(
            "Resize", versions: versions, attributes: attributes,
            check: { _ = try resizeOptions($0) },
            infer: { ctx, inputs in
                try resizeInfer(ctx, inputs.first??.type, scales: inputs.count > 2 ? inputs[2] : nil, sizes: inputs.count > 3 ? inputs[3] : nil)
            }
        ) { ctx, inputs in
            let x = try required(inputs, 0)
            let options = try resizeOptions(ctx)
            let plan = try ResizePlan(ctx, input: x.dims, roi: optional(inputs, 1), scales: optional(inputs, 2), sizes: optional(inputs, 3),
                                      coordinates: options.coordinates)
            return [try resize(x, plan: plan, options: options)]
        }
    }

    /// Upsample 7 (scales attribute) and 9 (scales input); deprecated at 10. Output size
    /// `floor(input · scale)`, asymmetric coordinates.
    static let upsample7 = OperatorDefinition(
        "Upsample", versions: 7...8, attributes: ["mode", "scales"],
        check: { _ = try resizeOptions($0) },
        infer: { ctx, inputs in
            let scales = try ctx.floats("scales").map { InferredValue(constant: try Tensor(dims: [$0.count], scalars: $0)) }
            return try resizeInfer(ctx, inputs.first??.type, scales: scales, sizes: nil)
        }
    ) { ctx, inputs in
        let x = try required(inputs, 0)
        guard let scales = try ctx.floats("scales") else { throw OpError.attribute("scales", "required attribute is missing") }
        let options = try resizeOptions(ctx)
        let plan = try ResizePlan(ctx, input: x.dims, roi: nil, scales: try Tensor(dims: [scales.count], scalars: scales), sizes: nil,
                                  coordinates: options.coordinates)
        return [try resize(x, plan: plan, options: options)]
    }

    static let upsample9 = OperatorDefinition(
        "Upsample", versions: 9...9, attributes: ["mode"],
        check: { _ = try resizeOptions($0) },
        infer: resize10.infer, run: resize10.run)
}
