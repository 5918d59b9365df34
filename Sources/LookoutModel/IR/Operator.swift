/// A graph operation with its attributes parsed and validated. Inputs that newer opsets pass as tensors
/// (split sizes, axes, scales) are read from constant inputs during specialisation.
package enum Operator: Sendable {
    /// Inputs: X, W, B?.
    case conv(ConvAttributes)
    /// Conv + bias + SiLU in one node (fused from Conv, Sigmoid, Mul); with `residual`, a fourth input is added
    /// after the activation (a folded Add). Inputs: X, W, B?, R?.
    case convSiLU(ConvAttributes, residual: Bool)
    case maxPool(PoolAttributes)
    /// Inputs: X, roi?, scales?, sizes? (Upsample is normalised to X, -, scales).
    case resize(ResizeAttributes)
    /// `legacy` is the opset < 13 rule: the input is coerced to 2-D at `axis` and normalised over the tail.
    case softmax(axis: Int, legacy: Bool)
    case unary(UnaryKind)
    case binary(BinaryKind)
    /// Variadic elementwise with broadcasting (Min, Max, Sum, Mean).
    case variadic(VariadicKind)
    case concat(axis: Int)
    /// Sizes from the attribute (opset < 13) or input 1; nil with no input means equal parts.
    case split(axis: Int, sizes: [Int]?)
    /// Inputs: data, starts, ends, axes?, steps?.
    case slice
    case reshape(allowZero: Bool)
    case flatten(axis: Int)
    case squeeze(axes: [Int]?)
    case unsqueeze(axes: [Int]?)
    case transpose(perm: [Int]?)
    case gather(axis: Int)
    case expand
    case tile
    case shape(start: Int, end: Int?)
    case range
    case constantOfShape(TensorValue?)
    case constant(TensorValue)
    case cast(DataType)
    case whereSelect
    /// Inputs: data, axes? (opset 18+ for all reductions, 13+ for ReduceSum).
    case reduce(ReduceKind, axes: [Int]?, keepDims: Bool, noopWithEmptyAxes: Bool)
    /// Inputs: X, min?, max? (opset 11+), or attributes (opset < 11).
    case clip(min: Float?, max: Float?)
    case identity
    /// numpy-style matrix product: the last two axes multiply, the leading axes broadcast. Inputs: A, B.
    case matMul
    /// The `k` largest (or smallest) elements along `axis`. Inputs: X, K. Outputs: values, int64 indices. Equal
    /// values keep their index order (onnxruntime's rule); `sorted: false` still returns them in sorted order.
    case topK(axis: Int, largest: Bool)
    /// `output[i][j][k] = data[index[i][j][k]][j][k]` along `axis` (ONNX GatherElements). Inputs: data, indices.
    case gatherElements(axis: Int)

    package enum UnaryKind: String, Sendable, CaseIterable {
        case sigmoid, relu, exp, log, sqrt, neg, abs, floor, ceil, reciprocal, tanh, not, round, sign, erf
    }

    package enum BinaryKind: String, Sendable, CaseIterable {
        case add, sub, mul, div, pow, mod, fmod, equal, less, greater, lessOrEqual, greaterOrEqual, and, or, xor
    }

    package enum VariadicKind: String, Sendable { case min, max, sum, mean }

    package enum ReduceKind: String, Sendable { case sum, mean, max, min, prod }

    /// A short name for op counts and messages (the ONNX op name, or Lookout's fused name).
    package var name: String {
        switch self {
        case .conv: "Conv"
        case .convSiLU(_, let residual): residual ? "ConvSiLUAdd" : "ConvSiLU"
        case .maxPool: "MaxPool"
        case .resize: "Resize"
        case .softmax: "Softmax"
        case .unary(let k): Operator.onnxName(k.rawValue)
        case .binary(let k): Operator.onnxName(k.rawValue)
        case .variadic(let k): Operator.onnxName(k.rawValue)
        case .concat: "Concat"
        case .split: "Split"
        case .slice: "Slice"
        case .reshape: "Reshape"
        case .flatten: "Flatten"
        case .squeeze: "Squeeze"
        case .unsqueeze: "Unsqueeze"
        case .transpose: "Transpose"
        case .gather: "Gather"
        case .expand: "Expand"
        case .tile: "Tile"
        case .shape: "Shape"
        case .range: "Range"
        case .constantOfShape: "ConstantOfShape"
        case .constant: "Constant"
        case .cast: "Cast"
        case .whereSelect: "Where"
        case .reduce(let k, _, _, _): "Reduce" + Operator.onnxName(k.rawValue)
        case .clip: "Clip"
        case .identity: "Identity"
        case .matMul: "MatMul"
        case .topK: "TopK"
        case .gatherElements: "GatherElements"
        }
    }

    static func onnxName(_ raw: String) -> String { raw.prefix(1).uppercased() + raw.dropFirst() }

    /// Operators whose output is a reinterpretation of their first input's bytes (no data movement).
    package var isReshapeLike: Bool {
        switch self {
        case .reshape, .flatten, .squeeze, .unsqueeze, .identity: true
        default: false
        }
    }
}

package struct ConvAttributes: Sendable, Equatable {
    package var kernel: (h: Int, w: Int)
    package var strides: (h: Int, w: Int)
    package var dilations: (h: Int, w: Int)
    /// Explicit pads (top, left, bottom, right); `autoPad` overrides them when not NOTSET.
    package var pads: (top: Int, left: Int, bottom: Int, right: Int)
    package var autoPad: String
    package var group: Int

    package static func == (a: ConvAttributes, b: ConvAttributes) -> Bool {
        a.kernel == b.kernel && a.strides == b.strides && a.dilations == b.dilations && a.pads == b.pads
            && a.autoPad == b.autoPad && a.group == b.group
    }

    /// Pads resolved for an input of `h`×`w` (auto_pad SAME_* computed as ONNX specifies).
    package func resolvedPads(inputH h: Int, inputW w: Int) -> (top: Int, left: Int, bottom: Int, right: Int) {
        switch autoPad {
        case "SAME_UPPER", "SAME_LOWER":
            func split(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
                let out = (size + s - 1) / s
                let total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                return autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
            }
            let (t, b) = split(h, kernel.h, strides.h, dilations.h)
            let (l, r) = split(w, kernel.w, strides.w, dilations.w)
            return (t, l, b, r)
        case "VALID": return (0, 0, 0, 0)
        default: return pads
        }
    }

    /// Output spatial size for an input of `h`×`w` (floor rule).
    package func outputSize(inputH h: Int, inputW w: Int) -> (h: Int, w: Int) {
        let p = resolvedPads(inputH: h, inputW: w)
        let oh = (h + p.top + p.bottom - dilations.h * (kernel.h - 1) - 1) / strides.h + 1
        let ow = (w + p.left + p.right - dilations.w * (kernel.w - 1) - 1) / strides.w + 1
        return (oh, ow)
    }
}

package struct PoolAttributes: Sendable {
    package var kernel: (h: Int, w: Int)
    package var strides: (h: Int, w: Int)
    package var dilations: (h: Int, w: Int)
    package var pads: (top: Int, left: Int, bottom: Int, right: Int)
    package var autoPad: String
    package var ceilMode: Bool

    package func resolvedPads(inputH h: Int, inputW w: Int) -> (top: Int, left: Int, bottom: Int, right: Int) {
        ConvAttributes(kernel: kernel, strides: strides, dilations: dilations, pads: pads, autoPad: autoPad, group: 1)
            .resolvedPads(inputH: h, inputW: w)
    }

    package func outputSize(inputH h: Int, inputW w: Int) -> (h: Int, w: Int) {
        let p = resolvedPads(inputH: h, inputW: w)
        func size(_ n: Int, _ pb: Int, _ pe: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
            let span = n + pb + pe - d * (k - 1) - 1
            if ceilMode {
                var out = (span + s - 1) / s + 1
                // ONNX/PyTorch: the last window must start inside the input or the left padding.
                if (out - 1) * s >= n + pb { out -= 1 }
                return out
            }
            return span / s + 1
        }
        return (
            size(h, p.top, p.bottom, kernel.h, strides.h, dilations.h),
            size(w, p.left, p.right, kernel.w, strides.w, dilations.w)
        )
    }
}

package struct ResizeAttributes: Sendable {
    package enum Mode: String, Sendable { case nearest, linear }
    package var mode: Mode
    package var coordinateTransformation: String
    package var nearestMode: String
    /// Opset 18 `axes`: the axes scales/sizes refer to (nil: all).
    package var axes: [Int]?
}
