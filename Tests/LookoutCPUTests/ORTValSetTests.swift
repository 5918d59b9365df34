import Foundation
import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// The real shapes models on all 120 validation images against onnxruntime (Tests/Fixtures/generated/ort, made by
/// scripts/fixtures/make_ort_references.py): the engine gets the very letterboxed image onnxruntime got, so any
/// difference is the engine's.
@Suite(.serialized) struct ORTValSetTests {
    struct ModelSet: Sendable, CustomTestStringConvertible {
        var model: String
        /// Folder under generated/ort with the references.
        var references: String
        /// Round input and output to float16 as a float16-IO model would (false: the fp32 computation).
        var halfIO: Bool
        var box: Float
        var score: Float
        var testDescription: String { references }
    }

    static let sets: [ModelSet] = [
        ModelSet(model: Fixtures.staticModel, references: "shapes-yolov8n", halfIO: false, box: 0.01, score: 1e-4),
        ModelSet(
            model: Fixtures.dynamicModel, references: "shapes-yolov8n-dynamic", halfIO: false, box: 0.01, score: 1e-4),
        // The fp16 model computed in fp32 on unrounded input is exactly what onnxruntime computes on its fp32 upcast.
        ModelSet(
            model: Fixtures.fp16Model, references: "shapes-yolov8n-fp16-as-fp32", halfIO: false, box: 0.01, score: 1e-4),
    ]

    /// BGR HWC bytes to the RGB CHW float tensor Ultralytics feeds: `Float(x) / 255` (a true division).
    static func tensor(letterboxed bytes: [UInt8], height: Int, width: Int) -> [Float] {
        let plane = height * width
        // Pointers, not subscripts: this runs over 1.2 M values per image in a debug build.
        return [Float](unsafeUninitializedCapacity: 3 * plane) { x, initialized in
            bytes.withUnsafeBufferPointer { b in
                for p in 0..<plane {
                    for c in 0..<3 { x[c * plane + p] = Float(b[p * 3 + 2 - c]) / 255 }
                }
            }
            initialized = 3 * plane
        }
    }

    struct Reference {
        var name: String
        /// The model input [1, 3, H, W] and output0 shapes.
        var inputShape: [Int]
        var shape: [Int]
        var input: [Float]
        var output: [Float]
    }

    /// Calls `body` with each reference image in turn (one in memory at a time: 5 MB of input each).
    static func forEachReference(_ folder: String, every: Int = 1, _ body: (Reference) throws -> Void) throws -> Int {
        let manifest = try #require(
            try Fixtures.json(try Fixtures.generated("ort/\(folder)/manifest.json")) as? [String: Any])
        let images = try #require(manifest["images"] as? [[String: Any]])
        #expect(images.count == 120, "\(folder): \(images.count) images in the references")
        var count = 0
        for (i, entry) in images.enumerated() where i % every == 0 {
            let source = try #require(entry["source"] as? String)
            let stem = (source as NSString).deletingPathExtension
            let h = try #require(entry["lb_h"] as? Int)
            let w = try #require(entry["lb_w"] as? Int)
            let lb = try Fixtures.bytes(try Fixtures.generated("ort/\(folder)/\(stem).lb.bin"))
            try #require(lb.count == h * w * 3)
            let output = try Fixtures.floats(try Fixtures.generated("ort/\(folder)/\(stem).out.bin"))
            try body(
                Reference(
                    name: source, inputShape: [1, 3, h, w], shape: try #require(entry["output_shape"] as? [Int]),
                    input: tensor(letterboxed: lb, height: h, width: w), output: output))
            count += 1
        }
        return count
    }

    @Test(arguments: sets)
    func engineMatchesOnnxruntimeOnTheValSet(set: ModelSet) throws {
        let model = try DetectionModel(path: set.model)
        var executors: [[Int]: CPUExecutor] = [:]
        var worst = OutputError()
        var worstImage = ("", Float(0))
        let start = Date()
        let count = try Self.forEachReference(set.references) { reference in
            let shape = reference.inputShape
            let executor =
                try executors[shape]
                ?? CPUExecutor(
                    plan: try model.plan(forInputShape: shape), halfInput: set.halfIO, halfOutput: set.halfIO)
            executors[shape] = executor
            let y = executor.run(input: reference.input)
            try #require(y.count == reference.output.count, "\(reference.name): output size")
            let error = OutputError(y, reference.output, shape: reference.shape)
            if error.box > worstImage.1 { worstImage = (reference.name, error.box) }
            #expect(error.box <= set.box, "\(reference.name): \(error)")
            #expect(error.score <= set.score, "\(reference.name): \(error)")
            worst.merge(error)
        }
        #expect(count == 120)
        print(
            String(
                format:
                    "ort val set %@: %d images, %d input shapes, %.1f s: max |engine - onnxruntime| %@ (worst box image %@)",
                set.references, count, executors.count, Date().timeIntervalSince(start), worst.description, worstImage.0
            ))
    }

    /// The float16 model as the detector runs it (float16-rounded input and output) against onnxruntime's float16
    /// kernels, on every tenth image: bounded by how far onnxruntime's own fp16 and fp32 computations of this model
    /// lie apart (the script measures 6.83 px / 0.0124 on all anchors, 0.40 px on anchors scoring > 0.25).
    @Test func fp16ModelWithHalfIOStaysWithinFloat16Noise() throws {
        let model = try DetectionModel(path: Fixtures.fp16Model)
        #expect(model.inputType == .float16)
        let executor = try CPUExecutor(
            plan: try model.plan(forInputShape: [1, 3, 640, 640]), halfInput: true, halfOutput: true)
        var worst = OutputError()
        let count = try Self.forEachReference("shapes-yolov8n-fp16", every: 10) { reference in
            let y = executor.run(input: reference.input)
            worst.merge(OutputError(y, reference.output, shape: reference.shape))
        }
        print("ort fp16 (float16 kernels) vs engine with float16 IO, \(count) images: \(worst)")
        #expect(worst.box <= 8 && worst.score <= 0.015)
        #expect(worst.boxKept <= 1 && worst.scoreKept <= 0.015)
    }

}
