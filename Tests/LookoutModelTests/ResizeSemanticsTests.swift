import Testing

@testable import LookoutModel

/// The reference evaluator's Resize index rules against the ONNX operator specification, written out here
/// independently in exact fractions (the CPU kernel takes its index tables from the reference, so this is what keeps
/// both honest). Known difference: half_pixel_symmetric, floor, 9 → 13 (scale 1.5), output 3 is exactly 2 and float32
/// gives 1.9999999 → 1, as onnxruntime 1.32 does (`onnxruntimeAgreesOnTheBoundary`).
@Suite struct ResizeSemanticsTests {
    /// An exact fraction, so the oracle has no rounding of its own at the boundaries the rounding modes decide.
    struct Ratio {
        var n: Int
        var d: Int
        init(_ n: Int, _ d: Int = 1) {
            let g = Ratio.gcd(abs(n), abs(d))
            (self.n, self.d) = d < 0 ? (-n / g, -d / g) : (n / g, d / g)
        }
        static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? max(a, 1) : gcd(b, a % b) }
        static func + (a: Ratio, b: Ratio) -> Ratio { Ratio(a.n * b.d + b.n * a.d, a.d * b.d) }
        static func - (a: Ratio, b: Ratio) -> Ratio { Ratio(a.n * b.d - b.n * a.d, a.d * b.d) }
        static func * (a: Ratio, b: Ratio) -> Ratio { Ratio(a.n * b.n, a.d * b.d) }
        static func / (a: Ratio, b: Ratio) -> Ratio { Ratio(a.n * b.d, a.d * b.n) }
        var floor: Int { n >= 0 ? n / d : -((-n + d - 1) / d) }
        var ceil: Int { -Ratio(-n, d).floor }
    }

    /// ONNX Resize-19: the input coordinate of output index `x`, exactly.
    static func original(_ x: Int, scale: Ratio, input: Int, output: Int, mode: String) -> Ratio {
        let half = Ratio(1, 2)
        let x = Ratio(x)
        switch mode {
        case "half_pixel": return (x + half) / scale - half
        case "half_pixel_symmetric":
            let adjustment = Ratio(output) / (scale * Ratio(input))
            let offset = Ratio(input, 2) * (Ratio(1) - adjustment)
            return offset + (x + half) / scale - half
        case "pytorch_half_pixel": return output > 1 ? (x + half) / scale - half : Ratio(0)
        case "align_corners": return output == 1 ? Ratio(0) : x * Ratio(input - 1) / Ratio(output - 1)
        default: return x / scale  // asymmetric
        }
    }

    static func nearest(_ v: Ratio, mode: String) -> Int {
        let isTie = (v - Ratio(v.floor)).n * 2 == (v - Ratio(v.floor)).d
        switch mode {
        case "floor": return v.floor
        case "ceil": return v.ceil
        case "round_prefer_ceil": return (v + Ratio(1, 2)).floor
        default: return isTie ? v.floor : (v + Ratio(1, 2)).floor
        }
    }

    @Test(arguments: ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric"])
    func nearestIndicesFollowTheSpecification(mode: String) {
        for rounding in ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] {
            let attributes = ResizeAttributes(
                mode: .nearest, coordinateTransformation: mode, nearestMode: rounding, axes: nil)
            for input in 1...9 {
                for scale in [Ratio(1, 2), Ratio(3, 4), Ratio(1), Ratio(3, 2), Ratio(2), Ratio(3), Ratio(4)] {
                    let output = (Ratio(input) * scale).floor
                    guard output > 0 else { continue }
                    for o in 0..<output {
                        let exact = Self.original(o, scale: scale, input: input, output: output, mode: mode)
                        let expected = min(max(Self.nearest(exact, mode: rounding), 0), input - 1)
                        let got = Reference.nearestIndex(
                            o, scale: Float(scale.n) / Float(scale.d), inputSize: input, outputSize: output,
                            attributes: attributes)
                        // Exactly on a rounding boundary, float32 arithmetic (the reference's, and onnxruntime's) may
                        // land a hair to either side: allow the neighbour there, nowhere else.
                        let boundary = (exact * Ratio(2)).d == 1
                        #expect(
                            got == expected || (boundary && abs(got - expected) == 1),
                            "\(mode) \(rounding) in \(input) scale \(scale.n)/\(scale.d) out \(o)")
                    }
                }
            }
        }
    }

    /// onnxruntime 1.32's output for Resize(nearest, half_pixel_symmetric, scales 1.5) of [0, 1, …, 8].
    @Test(arguments: [
        ("floor", [0, 0, 1, 1, 2, 3, 4, 4, 5, 6, 6, 7, 8]), ("ceil", [0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8]),
    ])
    func onnxruntimeAgreesOnTheBoundary(rounding: String, expected: [Float]) throws {
        let x = TensorValue(dataType: .float, shape: [1, 1, 1, 9], floats: (0..<9).map(Float.init))
        let attributes = ResizeAttributes(
            mode: .nearest, coordinateTransformation: "half_pixel_symmetric", nearestMode: rounding, axes: nil)
        let scales = TensorValue(dataType: .float, shape: [4], floats: [1, 1, 1, 1.5])
        let y = try Reference.evaluate(.resize(attributes), inputs: [x, nil, scales], outputCount: 1, context: "test")[
            0]
        #expect(y.floats == expected)
    }

    /// YOLOv8's upsample: nearest, asymmetric, floor, ×2 — every output pixel copies input pixel ⌊i/2⌋.
    @Test func yoloUpsampleRepeatsEachPixelTwice() throws {
        let x = TensorValue(dataType: .float, shape: [1, 1, 2, 3], floats: [1, 2, 3, 4, 5, 6])
        let attributes = ResizeAttributes(
            mode: .nearest, coordinateTransformation: "asymmetric", nearestMode: "floor", axes: nil)
        let scales = TensorValue(dataType: .float, shape: [4], floats: [1, 1, 2, 2])
        let y = try Reference.evaluate(.resize(attributes), inputs: [x, nil, scales], outputCount: 1, context: "test")[
            0]
        #expect(y.shape == [1, 1, 4, 6])
        #expect(y.floats == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6])
    }

    /// Linear resize, align_corners, 2 → 3: the middle sample is the mean of its neighbours.
    @Test func linearAlignCornersInterpolates() throws {
        let x = TensorValue(dataType: .float, shape: [1, 1, 2, 2], floats: [0, 10, 20, 30])
        let attributes = ResizeAttributes(
            mode: .linear, coordinateTransformation: "align_corners", nearestMode: "floor", axes: nil)
        let sizes = TensorValue(dataType: .int64, shape: [4], ints: [1, 1, 3, 3])
        let y = try Reference.evaluate(
            .resize(attributes), inputs: [x, nil, nil, sizes], outputCount: 1, context: "test")[0]
        #expect(y.floats == [0, 5, 10, 10, 15, 20, 20, 25, 30])
    }
}
