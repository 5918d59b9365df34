import LookoutCPU
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutMedia
import LookoutModel
import LookoutYOLO

/// Options of `detect`, with Ultralytics' predict defaults.
public struct DetectOptions: Sendable {
    public var confidence: Double = 0.25
    public var iou: Double = 0.7
    public var maxDetections: Int = 300
    /// Input size for dynamic models (fixed-shape models always use their export size, as Ultralytics does).
    public var imageSize: Int?
    /// Keep only these class indices (Ultralytics' `classes`: applied to the NMS candidates, before suppression);
    /// nil keeps every class.
    public var classes: [Int]?
    /// One NMS over all classes instead of one per class (Ultralytics' `agnostic_nms`).
    public var agnostic = false

    public init() {}

    /// Throws when a threshold is out of its range (the same check for every command and API).
    public func validate() throws(LookoutError) {
        guard confidence.isFinite, (0...1).contains(confidence) else {
            throw LookoutError.invalidArgument("confidence", "must be between 0 and 1 (got \(confidence))")
        }
        guard iou.isFinite, (0...1).contains(iou) else {
            throw LookoutError.invalidArgument("iou", "must be between 0 and 1 (got \(iou))")
        }
        guard maxDetections >= 1 else {
            throw LookoutError.invalidArgument("maxDetections", "must be at least 1 (got \(maxDetections))")
        }
        if let imageSize, !(32...8192).contains(imageSize) {
            throw LookoutError.invalidArgument("imageSize", "must be between 32 and 8192 (got \(imageSize))")
        }
        if let negative = classes?.first(where: { $0 < 0 }) {
            throw LookoutError.invalidArgument("classes", "must be class indices, 0 or more (got \(negative))")
        }
    }

    /// The NMS settings these options mean (Ultralytics' predict defaults otherwise).
    public var nms: NMSOptions {
        var options = NMSOptions.predict
        options.confidenceThreshold = confidence
        options.iouThreshold = iou
        options.maxDetections = maxDetections
        options.classes = classes
        options.agnostic = agnostic
        return options
    }
}

/// Detections of one image, in original pixels, with the time each stage took.
public struct ImageDetections: Sendable {
    public var width: Int
    public var height: Int
    /// The model input the image was letterboxed to (width, height).
    public var inputWidth: Int
    public var inputHeight: Int
    public var detections: [Detection]
    public var preprocessMilliseconds: Double
    public var inferenceMilliseconds: Double
    public var postprocessMilliseconds: Double
}

/// A model on a device, ready to detect: letterbox, engine, NMS and box scaling with Ultralytics' semantics.
///
/// ```swift
/// let detector = try Detector(model: DetectionModel(path: "yolov8n.onnx"), device: .auto)
/// let result = try detector.detect(try ImageDecoder.decode(file: "bus.jpg"))
/// ```
///
/// One detection at a time per detector (calls from several threads take turns).
public final class Detector: @unchecked Sendable {
    // The letterbox's per-worker state is only touched under `lock`.
    public let model: DetectionModel
    /// The device the detector runs on, in one line (`--device auto` prints it).
    public let deviceLine: String
    package let engine: any InferenceEngine
    private let lock = Lock()
    private let letterbox = ParallelLetterbox(pool: WorkerPool.shared())

    /// The detector of `model` on `device`. `.auto` takes the first GPU when the CUDA driver, NVRTC and the GPU
    /// engine work for this model, else the CPU (saying why in `deviceLine`); `.cuda` fails instead of falling back.
    public init(model: DetectionModel, device: DeviceRequest = .auto, options: EngineOptions = EngineOptions())
        throws(LookoutError)
    {
        self.model = model
        switch device.resolve() {
        case .failure(let unavailable):
            throw LookoutError(
                .deviceUnavailable, "`device` \(device): \(unavailable.description)", parameter: "device",
                cause: unavailable)
        case .success(.cpu(let reason)):
            engine = CPUEngine(model: model, tuning: options.cpu)
            // `auto` falls back quietly: the loader's full search list is what `cuda` reports.
            let short = reason.firstRange(of: ": looked for").map { String(reason[..<$0.lowerBound]) } ?? reason
            deviceLine = "device: cpu, \(CPUExecutor.deviceDescription) (\(short))"
        case .success(.cuda(let driver, let ordinal)):
            do {
                let cuda = try CUDAInferenceEngine(driver: driver, ordinal: ordinal, model: model, options: options)
                engine = cuda
                deviceLine = "device: \(cuda.deviceName), driver \(driver.versionString), \(options.precision.rawValue)"
            } catch {
                if case .cuda = device {
                    throw LookoutError(
                        .deviceUnavailable, "`device` \(device): the CUDA backend cannot run this model: \(error)",
                        parameter: "device", cause: error)
                }
                engine = CPUEngine(model: model, tuning: options.cpu)
                deviceLine =
                    "device: cpu, \(CPUExecutor.deviceDescription) (cuda:\(ordinal) found, but the CUDA backend failed: \(error))"
            }
        }
    }

    /// `lookout-cpu` or `lookout-cuda`.
    public var backendName: String { engine.backendName }
    /// The device the engine runs on, in words.
    public var engineDevice: String { engine.deviceName }

    /// The letterbox an image of `width`×`height` gets: the export size for fixed models, the minimal
    /// stride-aligned rectangle within `imageSize` (rounded up to the stride) for dynamic ones (Ultralytics' `rect`
    /// predict).
    public func geometry(width: Int, height: Int, imageSize: Int?) -> LetterboxGeometry {
        if model.isDynamic {
            let size = imageSizeChoice(imageSize).size
            return LetterboxGeometry(
                sourceWidth: width, sourceHeight: height, targetWidth: size, targetHeight: size, auto: true,
                stride: model.metadata.stride)
        }
        let (h, w) = model.defaultImageSize
        return LetterboxGeometry(sourceWidth: width, sourceHeight: height, targetWidth: w, targetHeight: h)
    }

    /// The letterboxes of one `detect(batch:)` call on images of these sizes (width, height): as in Ultralytics,
    /// images of one size share the minimal rectangle; mixed sizes get the full square. All share one output size.
    package func geometries(_ sizes: [(width: Int, height: Int)], imageSize: Int?) -> [LetterboxGeometry] {
        let first = sizes.first
        if !model.isDynamic || sizes.allSatisfy({ $0.width == first?.width && $0.height == first?.height }) {
            return sizes.map { geometry(width: $0.width, height: $0.height, imageSize: imageSize) }
        }
        let size = imageSizeChoice(imageSize).size
        return sizes.map {
            LetterboxGeometry(
                sourceWidth: $0.width, sourceHeight: $0.height, targetWidth: size, targetHeight: size, auto: false,
                stride: model.metadata.stride)
        }
    }

    /// Runs detection on one BGR image.
    public func detect(_ image: BGRImage, options: DetectOptions = DetectOptions()) throws(LookoutError)
        -> ImageDetections
    {
        try detect(batch: [image], options: options)[0]
    }

    /// Runs detection on several images as one batch (dynamic models; a fixed-batch model runs its export batch,
    /// one call per group of images). As in Ultralytics, images of one size share the minimal rectangle; mixed
    /// sizes get the full square.
    public func detect(batch images: [BGRImage], options: DetectOptions = DetectOptions()) throws(LookoutError)
        -> [ImageDetections]
    {
        guard !images.isEmpty else { return [] }
        try validate(options)
        let capacity = model.isDynamic ? images.count : (model.fixedBatch ?? 1)
        if images.count > capacity {
            var results: [ImageDetections] = []
            for start in stride(from: 0, to: images.count, by: capacity) {
                results += try detect(
                    batch: Array(images[start..<min(start + capacity, images.count)]), options: options)
            }
            return results
        }
        let batch = try detect(
            geometries: geometries(images.map { ($0.width, $0.height) }, imageSize: options.imageSize),
            options: options, lend: { i, body in images[i].withPixels(body) })
        return images.indices.map { i in
            ImageDetections(
                width: images[i].width, height: images[i].height, inputWidth: batch.inputWidth,
                inputHeight: batch.inputHeight, detections: batch.frames[i],
                preprocessMilliseconds: batch.preprocessMilliseconds / Double(images.count),
                inferenceMilliseconds: batch.inferenceMilliseconds / Double(images.count),
                postprocessMilliseconds: batch.postprocessMilliseconds / Double(images.count))
        }
    }

    /// The predict path for a batch whose images share one letterbox output size: each image (lent by `lend`) is
    /// letterboxed into its slot of the engine's input, the engine runs once, NMS and box scaling run per image.
    /// `filled` runs once every image has been read (the caller may release their buffers before the model runs).
    package func detect(
        geometries: [LetterboxGeometry], options: DetectOptions, lend: (Int, (BGRPixels) -> Void) -> Void,
        filled: () -> Void = {}
    ) throws(LookoutError) -> BatchDetections {
        let width = geometries[0].outputWidth
        let height = geometries[0].outputHeight
        precondition(
            geometries.allSatisfy { $0.outputWidth == width && $0.outputHeight == height },
            "the images of one batch must share a letterbox output size")
        let targets = geometries.map { g in
            BoxScalingTarget(
                ratioPad: BoxScaling.predictRatioPad(
                    inputWidth: width, inputHeight: height, originalWidth: g.sourceWidth, originalHeight: g.sourceHeight
                ),
                originalWidth: g.sourceWidth, originalHeight: g.sourceHeight)
        }
        return try lock.withLock { () throws(LookoutError) -> BatchDetections in
            try infer(
                count: geometries.count, width: width, height: height, nms: options.nms, targets: targets,
                fill: { tensor in
                    for (i, geometry) in geometries.enumerated() {
                        lend(i) { pixels in letterbox.run(pixels, geometry: geometry, into: tensor, slot: i) }
                    }
                    filled()
                })
        }
    }

    /// The one path from an engine input to detections, for predict and val: `fill` writes the first `count` slots
    /// of the NCHW float input (`width` × `height` each; the slots past them are zeroed, as Ultralytics pads a
    /// static batch); the engine runs once; NMS (on the GPU where the backend has it) keeps each slot's boxes,
    /// scaled to `targets` when given (else left in input pixels, as val matches them). Call under `lock`.
    package func infer(
        count: Int, width: Int, height: Int, nms: NMSOptions, targets: [BoxScalingTarget]?,
        fill: (UnsafeMutablePointer<Float>) -> Void
    ) throws(LookoutError) -> BatchDetections {
        let batch = model.isDynamic ? count : (model.fixedBatch ?? 1)
        guard count <= batch else {
            throw LookoutError(
                .invalidArgument,
                "\(model.path): a batch of \(count) images, but the model was exported with batch \(batch)",
                parameter: "maxBatch")
        }
        let shape = [batch, 3, height, width]
        let plane = 3 * width * height
        var marks: [UInt64] = [MonotonicClock.nanoseconds()]
        func fillAll(_ buffer: UnsafeMutableBufferPointer<Float>) {
            fill(buffer.baseAddress!)
            if buffer.count > count * plane {
                (buffer.baseAddress! + count * plane).update(repeating: 0, count: buffer.count - count * plane)
            }
            marks.append(MonotonicClock.nanoseconds())
        }
        let classes = model.classCount
        var frames: [[Detection]] = []
        try LookoutError.naming(model.path) {
            if let found = try engine.detect(shape: shape, count: count, fill: fillAll, options: nms, targets: targets)
            {
                frames = found
                marks.append(MonotonicClock.nanoseconds())
                return
            }
            var suppression = NonMaxSuppression(options: nms)
            frames = Array(repeating: [], count: count)
            let head = model.head
            try engine.run(
                shape: shape, fill: fillAll,
                read: { output in
                    marks.append(MonotonicClock.nanoseconds())
                    let perSlot = output.count / batch
                    for i in 0..<count {
                        let slot = output.baseAddress! + i * perSlot
                        switch head {
                        case .anchors:
                            suppression.run(
                                output: slot, anchors: perSlot / (4 + classes), classes: classes, into: &frames[i])
                        case .endToEnd(let rows):
                            EndToEndSelection.run(output: slot, rows: rows, options: nms, into: &frames[i])
                        }
                    }
                })
            if let targets {
                for i in 0..<count {
                    BoxScaling.toOriginal(
                        &frames[i], ratioPad: targets[i].ratioPad, originalWidth: targets[i].originalWidth,
                        originalHeight: targets[i].originalHeight)
                }
            }
        }
        let end = MonotonicClock.nanoseconds()
        // Device postprocessing is part of the engine's time (the boxes come back with the output).
        let filledAt = marks.count > 1 ? marks[1] : end
        let inferredAt = marks.count > 2 ? marks[2] : end
        let ms = { (a: UInt64, b: UInt64) in Double(b &- a) / 1e6 }
        return BatchDetections(
            frames: frames, inputWidth: width, inputHeight: height, engineBatch: batch,
            preprocessMilliseconds: ms(marks[0], filledAt), inferenceMilliseconds: ms(filledAt, inferredAt),
            postprocessMilliseconds: ms(inferredAt, end))
    }

    /// Runs `body` under the detector's lock (for paths that drive the engine themselves, like val).
    package func exclusively<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try lock.withLock(body)
    }
}

extension Detector {
    /// The CUDA backend when the detector runs on a GPU; nil on the CPU.
    package var cuda: CUDABackendAccess? {
        guard let engine = engine as? CUDAInferenceEngine else { return nil }
        return CUDABackendAccess(engine: engine.engine, compiler: engine.compiler)
    }
}

/// The CUDA backend of a `Detector`, for stages that drive the GPU themselves (the pipeline's transfer modes: their
/// own streams, frame buffers, letterbox launches into the engine's input, GPU NMS).
package struct CUDABackendAccess: @unchecked Sendable {
    /// The engine: one compiled instance per input shape. Use it from one thread at a time, and not while
    /// `Detector.detect` runs on the same detector.
    package let engine: CUDAEngine
    /// The NVRTC compiler (with its disk cache) the engine's kernels came from.
    package let compiler: KernelCompiler
    package var context: CUDAContext { engine.context }
}
