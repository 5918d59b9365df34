extension Operator {
    /// Every ONNX operator Lookout reads (default domain), for error messages and `inspect`.
    package static let supportedONNXOperators: [String] = [
        "Abs", "Add", "And", "Cast", "Ceil", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "Div",
        "Dropout", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements", "Greater",
        "GreaterOrEqual", "Identity", "Less", "LessOrEqual", "Log", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mod",
        "Mul", "Neg", "Not", "Or", "Pow", "Range", "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
        "ReduceSum", "Relu", "Reshape", "Resize", "Round", "Shape", "Sigmoid", "Sign", "Slice", "Softmax", "Split",
        "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "TopK", "Transpose", "Unsqueeze", "Upsample", "Where", "Xor",
    ]

    /// Parses a node's operator and attributes under the model's default-domain `opset`.
    static func parse(_ node: ONNXNode, opset: Int) throws(ModelError) -> Operator {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw .unsupported(
                "\(node.label) in domain '\(node.domain)' is not supported; only the default ONNX domain is")
        }
        switch node.opType {
        case "Conv":
            let (kh, kw) = try node.pair("kernel_shape", default: 0)
            return .conv(
                ConvAttributes(
                    kernel: (kh, kw), strides: try node.pair("strides", default: 1),
                    dilations: try node.pair("dilations", default: 1), pads: try node.pads(),
                    autoPad: try node.string("auto_pad", default: "NOTSET"), group: try node.int("group", default: 1)))
        case "MaxPool":
            guard node.outputs.count == 1 else {
                throw .unsupported("\(node.label): the Indices output is not supported")
            }
            let kernel = try node.pair("kernel_shape", default: 0)
            guard kernel.0 > 0 else { throw .invalid("\(node.label): 'kernel_shape' is required") }
            return .maxPool(
                PoolAttributes(
                    kernel: kernel, strides: try node.pair("strides", default: 1),
                    dilations: try node.pair("dilations", default: 1), pads: try node.pads(),
                    autoPad: try node.string("auto_pad", default: "NOTSET"),
                    ceilMode: try node.int("ceil_mode", default: 0) != 0))
        case "Resize", "Upsample":
            let modeName = try node.string("mode", default: "nearest")
            guard let mode = ResizeAttributes.Mode(rawValue: modeName == "bilinear" ? "linear" : modeName) else {
                throw .unsupported("\(node.label): mode '\(modeName)' is not supported; supported: nearest, linear")
            }
            let ctm =
                node.opType == "Upsample"
                ? "asymmetric" : try node.string("coordinate_transformation_mode", default: "half_pixel")
            let supportedCTM = [
                "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric",
            ]
            guard supportedCTM.contains(ctm) else {
                throw .unsupported(
                    "\(node.label): coordinate_transformation_mode '\(ctm)' is not supported; supported: \(supportedCTM.joined(separator: ", "))"
                )
            }
            let nearest =
                node.opType == "Upsample" ? "floor" : try node.string("nearest_mode", default: "round_prefer_floor")
            guard ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].contains(nearest) else {
                throw .unsupported("\(node.label): nearest_mode '\(nearest)' is not supported")
            }
            if try node.int("antialias", default: 0) != 0 {
                throw .unsupported("\(node.label): antialias is not supported")
            }
            let policy = try node.string("keep_aspect_ratio_policy", default: "stretch")
            guard policy == "stretch" else {
                throw .unsupported("\(node.label): keep_aspect_ratio_policy '\(policy)' is not supported")
            }
            return .resize(
                ResizeAttributes(
                    mode: mode, coordinateTransformation: ctm, nearestMode: nearest, axes: try node.ints("axes")))
        case "Softmax":
            return .softmax(axis: try node.int("axis", default: opset >= 13 ? -1 : 1), legacy: opset < 13)
        case "Sigmoid": return .unary(.sigmoid)
        case "Relu": return .unary(.relu)
        case "Exp": return .unary(.exp)
        case "Log": return .unary(.log)
        case "Sqrt": return .unary(.sqrt)
        case "Neg": return .unary(.neg)
        case "Abs": return .unary(.abs)
        case "Floor": return .unary(.floor)
        case "Ceil": return .unary(.ceil)
        case "Reciprocal": return .unary(.reciprocal)
        case "Tanh": return .unary(.tanh)
        case "Not": return .unary(.not)
        case "Round": return .unary(.round)
        case "Sign": return .unary(.sign)
        case "Erf": return .unary(.erf)
        case "Add": return .binary(.add)
        case "Sub": return .binary(.sub)
        case "Mul": return .binary(.mul)
        case "Div": return .binary(.div)
        case "Pow": return .binary(.pow)
        case "Mod": return .binary(try node.int("fmod", default: 0) != 0 ? .fmod : .mod)
        case "Equal": return .binary(.equal)
        case "Less": return .binary(.less)
        case "Greater": return .binary(.greater)
        case "LessOrEqual": return .binary(.lessOrEqual)
        case "GreaterOrEqual": return .binary(.greaterOrEqual)
        case "And": return .binary(.and)
        case "Or": return .binary(.or)
        case "Xor": return .binary(.xor)
        case "Min": return .variadic(.min)
        case "Max": return .variadic(.max)
        case "Sum": return .variadic(.sum)
        case "Mean": return .variadic(.mean)
        case "Concat": return .concat(axis: try node.int("axis"))
        case "Split":
            let sizes = try node.ints("split")
            if let sizes, sizes.contains(where: { $0 < 0 }) { throw .invalid("\(node.label): negative split size") }
            return .split(axis: try node.int("axis", default: 0), sizes: sizes)
        case "Slice":
            guard opset >= 10 else { throw .unsupported("\(node.label): Slice before opset 10 is not supported") }
            return .slice
        case "Reshape": return .reshape(allowZero: try node.int("allowzero", default: 0) != 0)
        case "Flatten": return .flatten(axis: try node.int("axis", default: 1))
        case "Squeeze": return .squeeze(axes: try node.ints("axes"))
        case "Unsqueeze": return .unsqueeze(axes: try node.ints("axes"))
        case "Transpose": return .transpose(perm: try node.ints("perm"))
        case "Gather": return .gather(axis: try node.int("axis", default: 0))
        case "Expand": return .expand
        case "Tile": return .tile
        case "Shape":
            return .shape(
                start: try node.int("start", default: 0), end: node.attributes["end"] == nil ? nil : try node.int("end")
            )
        case "Range": return .range
        case "ConstantOfShape": return .constantOfShape(try node.tensor("value"))
        case "Constant":
            if let t = try node.tensor("value") { return .constant(t) }
            if let f = try node.float("value_float") {
                return .constant(TensorValue(dataType: .float, shape: [], floats: [f]))
            }
            if case .floats(let f)? = node.attributes["value_floats"] {
                return .constant(TensorValue(dataType: .float, shape: [f.count], floats: f))
            }
            if case .int(let i)? = node.attributes["value_int"] { return .constant(.scalar(i)) }
            if case .ints(let i)? = node.attributes["value_ints"] { return .constant(.vector(i)) }
            throw .unsupported("\(node.label): only tensor, float and int constants are supported")
        case "Cast":
            let to = try node.int("to")
            return .cast(try DataType(onnx: Int32(clamping: to), context: node.label))
        case "Where": return .whereSelect
        case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd":
            let kind: ReduceKind =
                switch node.opType {
                case "ReduceSum": .sum
                case "ReduceMean": .mean
                case "ReduceMax": .max
                case "ReduceMin": .min
                default: .prod
                }
            return .reduce(
                kind, axes: try node.ints("axes"), keepDims: try node.int("keepdims", default: 1) != 0,
                noopWithEmptyAxes: try node.int("noop_with_empty_axes", default: 0) != 0)
        case "Clip": return .clip(min: try node.float("min"), max: try node.float("max"))
        case "Identity": return .identity
        case "MatMul": return .matMul
        case "TopK":
            guard opset >= 10 else {
                throw .unsupported("\(node.label): TopK before opset 10 (k as an attribute) is not supported")
            }
            return .topK(axis: try node.int("axis", default: -1), largest: try node.int("largest", default: 1) != 0)
        case "GatherElements": return .gatherElements(axis: try node.int("axis", default: 0))
        case "Dropout":
            guard node.outputs.count == 1 else { throw .unsupported("\(node.label): the mask output is not supported") }
            return .identity
        default:
            throw .unsupported(
                "\(node.label) is not supported; supported: \(supportedONNXOperators.joined(separator: ", "))")
        }
    }
}
