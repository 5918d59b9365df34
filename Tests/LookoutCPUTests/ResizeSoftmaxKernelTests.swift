import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// Resize (nearest in every coordinate and rounding mode, linear), Softmax (opset 13 and the legacy 2-D rule) and
/// Transpose kernels against the reference evaluator, batch 1 and 3.
@Suite struct ResizeSoftmaxKernelTests {
    static let coordinateModes = [
        "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric",
    ]
    static let nearestModes = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]

    enum Target: Sendable, CustomStringConvertible {
        case scales(Float, Float)
        case sizes(Int, Int)
        /// Opset 18 `axes = [2, 3]` with two scales.
        case axesScales(Float, Float)

        var description: String {
            switch self {
            case .scales(let h, let w): "scales \(h)x\(w)"
            case .sizes(let h, let w): "sizes \(h)x\(w)"
            case .axesScales(let h, let w): "axes [2,3] scales \(h)x\(w)"
            }
        }
    }

    static let targets: [Target] = [
        .scales(2, 2), .scales(3, 1.5), .scales(0.5, 0.5), .scales(0.6, 1.7), .scales(1, 1), .sizes(5, 13),
        .sizes(1, 3),
        .axesScales(2, 3),
    ]

    /// Resize of an input of `shape`.
    static func resizeGraph(_ attributes: ResizeAttributes, _ target: Target, shape: [Int], emptyROI: Bool = false)
        -> TestGraph
    {
        var g = TestGraph(opset: 19)
        let x = g.input()
        let roi: ValueID? = emptyROI ? g.floats([0], []) : nil
        var a = attributes
        switch target {
        case .scales(let h, let w):
            g.output(g.node(.resize(a), x, roi, g.floats([4], [1, 1, h, w])))
        case .sizes(let h, let w):
            g.output(g.node(.resize(a), x, roi, nil, g.ints([shape[0], shape[1], h, w].map { Int64($0) })))
        case .axesScales(let h, let w):
            a.axes = [2, 3]
            g.output(g.node(.resize(a), x, roi, g.floats([2], [h, w])))
        }
        return g
    }

    @Test(arguments: coordinateModes, nearestModes)
    func nearestResizeMatchesReference(coordinates: String, rounding: String) throws {
        let attributes = ResizeAttributes(
            mode: .nearest, coordinateTransformation: coordinates, nearestMode: rounding, axes: nil)
        for target in Self.targets {
            for batch in [1, 3] {
                var options = KernelHarness.Options()
                options.optimized = ["Resize"]
                try KernelHarness.check(
                    Self.resizeGraph(attributes, target, shape: [batch, 2, 6, 7]), inputShape: [batch, 2, 6, 7],
                    options: options,
                    "nearest \(coordinates) \(rounding) \(target) n\(batch)")
            }
        }
    }

    /// YOLO's upsample as opset 11/12 exports write it: an empty `roi` initializer before the scales.
    @Test(arguments: [1, 3])
    func nearestResizeWithEmptyROI(batch: Int) throws {
        let attributes = ResizeAttributes(
            mode: .nearest, coordinateTransformation: "asymmetric", nearestMode: "floor", axes: nil)
        var options = KernelHarness.Options()
        options.optimized = ["Resize"]
        try KernelHarness.check(
            Self.resizeGraph(attributes, .scales(2, 2), shape: [batch, 4, 5, 3], emptyROI: true),
            inputShape: [batch, 4, 5, 3],
            options: options,
            "nearest with empty roi n\(batch)")
    }

    @Test(arguments: coordinateModes)
    func linearResizeMatchesReference(coordinates: String) throws {
        let attributes = ResizeAttributes(
            mode: .linear, coordinateTransformation: coordinates, nearestMode: "floor", axes: nil)
        for target in Self.targets {
            for batch in [1, 3] {
                try KernelHarness.check(
                    Self.resizeGraph(attributes, target, shape: [batch, 2, 6, 7]), inputShape: [batch, 2, 6, 7],
                    "linear \(coordinates) \(target) n\(batch)")
            }
        }
    }

    struct SoftmaxCase: Sendable, CustomTestStringConvertible {
        var shape: [Int]
        var axis: Int
        var legacy: Bool
        var testDescription: String { "\(shape) axis \(axis)\(legacy ? " legacy" : "")" }
    }

    static let softmaxCases: [SoftmaxCase] = {
        var cases: [SoftmaxCase] = []
        for batch in [1, 3] {
            for axis in [-1, 0, 1, 2, 3, -3] {
                cases.append(SoftmaxCase(shape: [batch, 16, 4, 10], axis: axis, legacy: false))
            }
            for axis in [1, 2, 3, -1] {
                cases.append(SoftmaxCase(shape: [batch, 16, 4, 10], axis: axis, legacy: true))
            }
            // The DFL softmax: 16 bins over many anchors (the kernel splits the columns across cores).
            cases.append(SoftmaxCase(shape: [batch, 16, 4, 700], axis: 1, legacy: false))
            // The opset < 13 DFL form: transposed so the bins are last.
            cases.append(SoftmaxCase(shape: [batch, 700, 4, 16], axis: 3, legacy: true))
            cases.append(SoftmaxCase(shape: [batch, 5], axis: 1, legacy: false))
            // Attention: contiguous rows, whole 16-lane vectors (400) and with a tail (37).
            cases.append(SoftmaxCase(shape: [batch, 2, 400, 400], axis: -1, legacy: false))
            cases.append(SoftmaxCase(shape: [batch, 3, 7, 37], axis: 3, legacy: false))
        }
        return cases
    }()

    @Test(arguments: softmaxCases)
    func softmaxMatchesReference(c: SoftmaxCase) throws {
        var g = TestGraph(opset: c.legacy ? 11 : 13)
        let x = g.input()
        g.output(g.node(.softmax(axis: c.axis, legacy: c.legacy), x))
        var options = KernelHarness.Options()
        options.optimized = ["Softmax"]
        options.inputRange = -8...8
        options.absolute = 1e-6
        try KernelHarness.check(g, inputShape: c.shape, options: options, c.testDescription)
    }

    static func permutations(_ n: Int) -> [[Int]] {
        guard n > 1 else { return [[0]] }
        return permutations(n - 1).flatMap { p in
            (0...p.count).map { i in
                var q = p
                q.insert(n - 1, at: i)
                return q
            }
        }
    }

    @Test(arguments: [1, 3])
    func transposeMatchesReference(batch: Int) throws {
        var perms: [[Int]?] = Self.permutations(4)
        perms.append(nil)
        for perm in perms {
            var g = TestGraph()
            let x = g.input()
            // After a Sigmoid, so the transposed tensor is not the graph input.
            g.output(g.node(.transpose(perm: perm), g.node(.unary(.sigmoid), x)))
            var options = KernelHarness.Options()
            options.optimized = ["Transpose", "Sigmoid"]
            try KernelHarness.check(
                g, inputShape: [batch, 2, 3, 5], options: options,
                "transpose \(perm.map { "\($0)" } ?? "default") n\(batch)")
        }
        for perm in Self.permutations(3) {
            var g = TestGraph()
            g.output(g.node(.transpose(perm: perm), g.input()))
            try KernelHarness.check(g, inputShape: [batch, 7, 4], "transpose rank 3 \(perm) n\(batch)")
        }
    }
}
