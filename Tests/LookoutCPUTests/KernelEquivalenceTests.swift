import Foundation
import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// One convolution the CPU backend may run by another path: im2col tiles on OpenBLAS's small or packed GEMM,
/// 1×1 in place, or Winograd F(2×2, 3×3) / F(4×4, 3×3) / stride 2.
struct ConvCase: CustomStringConvertible, Sendable {
    var batch = 1
    var channels: Int
    var outChannels: Int
    var height: Int
    var width: Int
    var kernel = 3
    var stride = 1
    var pad = 1
    var group = 1
    var silu = true
    var residual = false

    var description: String {
        "b\(batch) \(channels)→\(outChannels) \(height)×\(width) k\(kernel) s\(stride) p\(pad) g\(group)"
            + (silu ? " silu" : "") + (residual ? " +res" : "")
    }

    var outHeight: Int { (height + 2 * pad - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * pad - kernel) / stride + 1 }
}

/// The optimised kernels against `Reference` (the plain implementation), over the shapes that select each path
/// and their edges: odd sizes (Winograd's partial tiles), several tile rows per block, batches, residuals.
@Suite struct KernelEquivalenceTests {
    static let convolutions: [ConvCase] = [
        ConvCase(channels: 3, outChannels: 16, height: 64, width: 48, stride: 2),  // first layer: k 27, small GEMM
        ConvCase(channels: 16, outChannels: 32, height: 40, width: 40, stride: 2),
        ConvCase(batch: 2, channels: 8, outChannels: 16, height: 41, width: 71, stride: 2),  // odd: partial vectors
        ConvCase(channels: 4, outChannels: 8, height: 12, width: 12, kernel: 5, stride: 2, pad: 2),  // generic im2col
        ConvCase(channels: 64, outChannels: 128, height: 20, width: 20, stride: 2),  // packed GEMM
        ConvCase(channels: 32, outChannels: 32, height: 40, width: 40),  // Winograd F(4×4)
        // F(4×4), partial tiles
        ConvCase(batch: 2, channels: 16, outChannels: 24, height: 37, width: 45, residual: true),
        ConvCase(channels: 16, outChannels: 16, height: 15, width: 13, residual: true),  // F(2×2), odd sizes
        ConvCase(batch: 3, channels: 24, outChannels: 40, height: 9, width: 35, residual: true),
        ConvCase(batch: 2, channels: 128, outChannels: 64, height: 20, width: 20, silu: false),
        ConvCase(channels: 8, outChannels: 8, height: 30, width: 30),  // too narrow for Winograd: im2col
        ConvCase(channels: 48, outChannels: 32, height: 33, width: 31, kernel: 1, pad: 0),  // 1×1
        ConvCase(batch: 2, channels: 64, outChannels: 4, height: 20, width: 20, kernel: 1, pad: 0, silu: false),
        ConvCase(channels: 16, outChannels: 32, height: 18, width: 18, group: 2),
        // Stride-2 Winograd (5×5 patches): odd sizes and partial tile rows, output channels that leave 1, 3 or 5
        // rows of the last six-row weight panel of the packed GEMM, a batch, no activation.
        ConvCase(channels: 16, outChannels: 17, height: 37, width: 45, stride: 2),
        ConvCase(batch: 2, channels: 24, outChannels: 21, height: 9, width: 35, stride: 2),
        ConvCase(channels: 32, outChannels: 19, height: 80, width: 66, stride: 2, silu: false),
        ConvCase(channels: 128, outChannels: 256, height: 40, width: 40, stride: 2),
        ConvCase(channels: 16, outChannels: 16, height: 5, width: 3, stride: 2),
        // Packed GEMM row remainders in stride-1 Winograd: F(4×4) with 5, F(2×2) with 1 row left.
        ConvCase(channels: 17, outChannels: 23, height: 33, width: 34, residual: true),
        ConvCase(channels: 20, outChannels: 19, height: 11, width: 20),
    ]

    @Test(arguments: convolutions)
    func convolutionMatchesReference(_ c: ConvCase) throws {
        var generator = SplitMix(seed: UInt64(c.channels * 1000 + c.height))
        let x = (0..<(c.batch * c.channels * c.height * c.width)).map { _ in generator.nextFloat() * 2 - 1 }
        let w = (0..<(c.outChannels * c.channels / c.group * c.kernel * c.kernel)).map { _ in
            (generator.nextFloat() - 0.5) * 0.5
        }
        let b = (0..<c.outChannels).map { _ in generator.nextFloat() - 0.5 }
        let attributes = ConvAttributes(
            kernel: (c.kernel, c.kernel), strides: (c.stride, c.stride), dilations: (1, 1),
            pads: (c.pad, c.pad, c.pad, c.pad), autoPad: "NOTSET", group: c.group)
        let outShape = [c.batch, c.outChannels, c.outHeight, c.outWidth]
        let wShape = [c.outChannels, c.channels / c.group, c.kernel, c.kernel]

        // x → (residual: r = 1×1 conv of x, when its shape fits) → y = conv(x) [+ r]
        var graph = Graph()
        graph.values = [
            Value(name: "x", dataType: .float, shape: [c.batch, c.channels, c.height, c.width]),
            Value(name: "w", dataType: .float, shape: wShape),
            Value(name: "b", dataType: .float, shape: [c.outChannels]),
            Value(name: "y", dataType: .float, shape: outShape),
        ]
        graph.inputs = [ValueID(0)]
        graph.outputs = [ValueID(3)]
        let weights = TensorValue(dataType: .float, shape: wShape, floats: w)
        let bias = TensorValue(dataType: .float, shape: [c.outChannels], floats: b)
        graph.constants = [ValueID(1): weights, ValueID(2): bias]
        let op: Operator = c.silu ? .convSiLU(attributes, residual: c.residual) : .conv(attributes)
        let input = TensorValue(dataType: .float, shape: [c.batch, c.channels, c.height, c.width], floats: x)
        var residualValue: TensorValue?
        if c.residual {
            #expect(c.stride == 1 && c.channels == c.outChannels || c.outHeight == c.height)
            let rw = (0..<(c.outChannels * c.channels)).map { _ in (generator.nextFloat() - 0.5) * 0.3 }
            let rWeights = TensorValue(dataType: .float, shape: [c.outChannels, c.channels, 1, 1], floats: rw)
            let rAttributes = ConvAttributes(
                kernel: (1, 1), strides: (1, 1), dilations: (1, 1), pads: (0, 0, 0, 0), autoPad: "NOTSET", group: 1)
            graph.values.append(Value(name: "rw", dataType: .float, shape: [c.outChannels, c.channels, 1, 1]))
            graph.values.append(Value(name: "r", dataType: .float, shape: outShape))
            graph.constants[ValueID(4)] = rWeights
            graph.nodes.append(
                Node(name: "residual", op: .conv(rAttributes), inputs: [ValueID(0), ValueID(4)], outputs: [ValueID(5)]))
            graph.nodes.append(
                Node(
                    name: "conv", op: op, inputs: [ValueID(0), ValueID(1), ValueID(2), ValueID(5)],
                    outputs: [ValueID(3)]))
            residualValue = try Reference.evaluate(
                .conv(rAttributes), inputs: [input, rWeights], outputCount: 1, context: "r")[0]
        } else {
            graph.nodes.append(
                Node(name: "conv", op: op, inputs: [ValueID(0), ValueID(1), ValueID(2)], outputs: [ValueID(3)]))
        }
        let expected = try Reference.evaluate(
            op, inputs: [input, weights, bias, residualValue], outputCount: 1, context: "conv")[0].floats

        let executor = try CPUExecutor(plan: try MemoryPlanner.plan(graph))
        let actual = executor.run(input: x)
        #expect(actual.count == expected.count)
        var worst: Float = 0
        for (a, e) in zip(actual, expected) { worst = max(worst, abs(a - e) / max(1, abs(e))) }
        // im2col and F(2×2) land near 1e-6; F(4×4)'s transforms (entries up to 8, weights with 1/24) near 2e-5.
        // Layout or indexing mistakes show up as differences of order 1.
        #expect(worst < 1e-4, "\(c): max relative difference \(worst)")
    }

    /// Every batch item is computed exactly as a single image would be (no cross-talk between tiles of items).
    @Test func dynamicBatchEqualsSingleImages() throws {
        let model = try DetectionModel(path: Self.fixture("generated/shapes/shapes-yolov8n-dynamic.onnx"))
        for (h, w) in [(640, 640), (384, 640)] {
            let batch = 4
            var generator = SplitMix(seed: 7)
            let x = (0..<(batch * 3 * h * w)).map { _ in generator.nextFloat() }
            let batched = try CPUExecutor(plan: try model.plan(forInputShape: [batch, 3, h, w])).run(input: x)
            let single = try CPUExecutor(plan: try model.plan(forInputShape: [1, 3, h, w]))
            let per = batched.count / batch
            for i in 0..<batch {
                let one = single.run(input: Array(x[(i * 3 * h * w)..<((i + 1) * 3 * h * w)]))
                #expect(one == Array(batched[(i * per)..<((i + 1) * per)]), "item \(i) of \(batch) at \(h)×\(w)")
            }
        }
    }

    /// The raw output against onnxruntime's on letterboxed validation images (references written by
    /// scripts/fixtures/make_ort_references.py; skipped when they have not been generated).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: fixture("generated/ort/shapes-yolov8n/manifest.json"))))
    func outputMatchesOnnxruntime() throws {
        // The dynamic model is rebuilt into generated/shapes by scripts/fixtures/rebuild_models.py.
        for (stem, path) in [
            ("shapes-yolov8n", "shapes/shapes-yolov8n.onnx"),
            ("shapes-yolov8n-dynamic", "generated/shapes/shapes-yolov8n-dynamic.onnx"),
        ] {
            let folder = Self.fixture("generated/ort/\(stem)")
            let manifest =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))) as? [String: Any]
            let images = try #require(manifest?["images"] as? [[String: Any]])
            let model = try DetectionModel(path: Self.fixture(path))
            var executors: [[Int]: CPUExecutor] = [:]
            var (boxes, scores): (Float, Float) = (0, 0)
            for image in stride(from: 0, to: images.count, by: max(1, images.count / 6)).map({ images[$0] }) {
                let name = try #require(image["source"] as? String).replacingOccurrences(of: ".jpg", with: "")
                let (h, w) = (try #require(image["lb_h"] as? Int), try #require(image["lb_w"] as? Int))
                let pixels = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name).lb.bin")))
                let expected = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name).out.bin")).withUnsafeBytes {
                    Array($0.bindMemory(to: Float.self))
                }
                // BGR HWC bytes → RGB CHW, x / 255.
                var x = [Float](repeating: 0, count: 3 * h * w)
                for p in 0..<(h * w) {
                    for c in 0..<3 { x[c * h * w + p] = Float(pixels[p * 3 + 2 - c]) / 255 }
                }
                let shape = [1, 3, h, w]
                if executors[shape] == nil {
                    executors[shape] = try CPUExecutor(plan: try model.plan(forInputShape: shape))
                }
                let actual = try #require(executors[shape]).run(input: x)
                let anchors = actual.count / 8
                for row in 0..<8 {
                    for a in 0..<anchors {
                        let d = abs(actual[row * anchors + a] - expected[row * anchors + a])
                        if row < 4 { boxes = max(boxes, d) } else { scores = max(scores, d) }
                    }
                }
            }
            #expect(boxes <= 0.01, "\(stem): box rows differ by up to \(boxes) px")
            #expect(scores <= 1e-4, "\(stem): score rows differ by up to \(scores)")
        }
    }

    static func fixture(_ path: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(path)").path
    }
}

/// A small seeded generator, so that failures reproduce.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
