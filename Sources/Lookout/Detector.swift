import Dispatch
import LookoutCPU
import LookoutCUDA
import LookoutCUDABackend
import LookoutMedia
import LookoutModel
import LookoutYOLO
import Synchronization

/// Options of `detect`, with Ultralytics' predict defaults.
public struct DetectOptions: Sendable {
    public var confidence: Double = 0.25
    public var iou: Double = 0.7
    public var maxDetections: Int = 300
    /// Input size for dynamic models (fixed-shape models always use their export size, as Ultralytics does).
    public var imageSize: Int?
    public var classes: [Int]?
    public var agnostic = false

    public init() {}

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
public final class Detector: @unchecked Sendable {
    // Per-call scratch (writer, NMS buffers) is only touched under `lock`.
    public let model: DetectionModel
    /// The line `--device auto` prints.
    public let deviceLine: String
    let engine: any InferenceEngine
    private let lock = NSLockLike()
    private var writer = LetterboxTensorWriter()
    private var nms = NonMaxSuppression()
    private var detections: [Detection] = []

    /// `precision` applies to the CUDA backend (the CPU backend computes in fp32).
    public init(model: DetectionModel, device: DeviceRequest = .auto, precision: GPUPrecision = .fp16) throws(LookoutError) {
        self.model = model
        switch device.resolve() {
        case .failure(let unavailable):
            throw LookoutError("--device \(device): \(unavailable.description)")
        case .success(.cpu(let reason)):
            engine = CPUEngine(model: model)
            // `auto` falls back quietly: the loader's full search list is what `--device cuda` prints.
            let short = reason.components(separatedBy: ": looked for").first ?? reason
            deviceLine = "device: cpu, \(CPUExecutor.deviceDescription) (\(short))"
        case .success(.cuda(let driver, let ordinal)):
            do {
                let cuda = try CUDAInferenceEngine(driver: driver, ordinal: ordinal, model: model, precision: precision)
                engine = cuda
                deviceLine = "device: \(cuda.deviceName), driver \(driver.versionString), \(precision.rawValue)"
            } catch {
                // `--device cuda` reports why; `auto` falls back to the CPU and says so.
                if case .cuda = device { throw LookoutError("--device \(device): the CUDA backend cannot run this model: \(error)") }
                engine = CPUEngine(model: model)
                deviceLine = "device: cpu, \(CPUExecutor.deviceDescription) (cuda:\(ordinal) found, but the CUDA backend failed: \(error))"
            }
        }
    }

    public var backendName: String { engine.backendName }
    /// The device the engine runs on, in words.
    public var engineDevice: String { engine.deviceName }

    /// The letterbox an image of `width`×`height` gets: the export size for fixed models, the minimal
    /// stride-aligned rectangle within `imageSize` for dynamic ones (Ultralytics' `rect` predict).
    public func geometry(width: Int, height: Int, imageSize: Int?) -> LetterboxGeometry {
        if model.isDynamic {
            let size = imageSize ?? max(model.defaultImageSize.height, model.defaultImageSize.width)
            return LetterboxGeometry(
                sourceWidth: width, sourceHeight: height, targetWidth: size, targetHeight: size, auto: true,
                stride: model.metadata.stride)
        }
        let (h, w) = model.defaultImageSize
        return LetterboxGeometry(sourceWidth: width, sourceHeight: height, targetWidth: w, targetHeight: h)
    }

    /// Runs detection on several images as one batch (dynamic models; fixed-batch models run one image per call
    /// when exported with batch 1). As in Ultralytics, images of one size share the minimal rectangle; mixed sizes
    /// get the full square.
    public func detect(batch images: [BGRImage], options: DetectOptions = DetectOptions()) throws(LookoutError) -> [ImageDetections] {
        guard !images.isEmpty else { return [] }
        if images.count == 1 || !model.isDynamic {
            var results: [ImageDetections] = []
            for image in images { results.append(try detect(image, options: options)) }
            return results
        }
        let sameSize = Set(images.map { [$0.width, $0.height] }).count == 1
        let size = options.imageSize ?? max(model.defaultImageSize.height, model.defaultImageSize.width)
        let geometries = images.map {
            LetterboxGeometry(
                sourceWidth: $0.width, sourceHeight: $0.height, targetWidth: size, targetHeight: size, auto: sameSize,
                stride: model.metadata.stride)
        }
        let (h, w) = (geometries[0].outputHeight, geometries[0].outputWidth)
        let shape = [images.count, 3, h, w]
        return try LookoutError.naming(model.path) {
            try lock.withLock { () throws -> [ImageDetections] in
                let start = DispatchTime.now().uptimeNanoseconds
                var marks: [UInt64] = []
                var writer = LetterboxTensorWriter()
                swap(&writer, &self.writer)
                var nms = NonMaxSuppression(options: options.nms)
                swap(&nms, &self.nms)
                nms.options = options.nms
                defer {
                    swap(&writer, &self.writer)
                    swap(&nms, &self.nms)
                }
                let classes = model.classCount
                var perImage: [[Detection]] = []
                try engine.run(shape: shape, fill: { buffer in
                    for (slot, image) in images.enumerated() {
                        image.withPixels { writer.write($0, geometry: geometries[slot], into: buffer.baseAddress!, slot: slot) }
                    }
                    marks.append(DispatchTime.now().uptimeNanoseconds)
                }, read: { output in
                    marks.append(DispatchTime.now().uptimeNanoseconds)
                    let perSlot = output.count / images.count
                    for slot in images.indices {
                        var found: [Detection] = []
                        nms.run(output: output.baseAddress! + slot * perSlot, anchors: perSlot / (4 + classes), classes: classes, into: &found)
                        perImage.append(found)
                    }
                })
                let end = DispatchTime.now().uptimeNanoseconds
                let ms = { (a: UInt64, b: UInt64) in Double(b - a) / 1e6 / Double(images.count) }
                return images.enumerated().map { slot, image in
                    var found = perImage[slot]
                    BoxScaling.toOriginal(&found, inputWidth: w, inputHeight: h, originalWidth: image.width, originalHeight: image.height)
                    return ImageDetections(
                        width: image.width, height: image.height, inputWidth: w, inputHeight: h, detections: found,
                        preprocessMilliseconds: ms(start, marks[0]), inferenceMilliseconds: ms(marks[0], marks[1]),
                        postprocessMilliseconds: ms(marks[1], end))
                }
            }
        }
    }

    /// Runs detection on one BGR image.
    public func detect(_ image: BGRImage, options: DetectOptions = DetectOptions()) throws(LookoutError) -> ImageDetections {
        return try LookoutError.naming(model.path) {
            try lock.withLock { () throws -> ImageDetections in
                let start = DispatchTime.now().uptimeNanoseconds
                let geometry = self.geometry(width: image.width, height: image.height, imageSize: options.imageSize)
                let shape = [model.fixedBatch ?? 1, 3, geometry.outputHeight, geometry.outputWidth]
                var marks: [UInt64] = []
                nms.options = options.nms
                // Borrow the reusable scratch out of self for the closures (swap, so no copy-on-write copies).
                var writer = LetterboxTensorWriter()
                swap(&writer, &self.writer)
                var nms = NonMaxSuppression()
                swap(&nms, &self.nms)
                var found: [Detection] = []
                swap(&found, &self.detections)
                defer {
                    swap(&writer, &self.writer)
                    swap(&nms, &self.nms)
                }
                let classes = model.classCount
                func fill(_ buffer: UnsafeMutableBufferPointer<Float>) {
                    image.withPixels { pixels in writer.write(pixels, geometry: geometry, into: buffer.baseAddress!, slot: 0) }
                    if buffer.count > 3 * geometry.outputWidth * geometry.outputHeight {
                        let used = 3 * geometry.outputWidth * geometry.outputHeight
                        (buffer.baseAddress! + used).update(repeating: 0, count: buffer.count - used)
                    }
                }
                // The CUDA backend: inference and NMS on the GPU, boxes scaled there, only they come back.
                let target = BoxScalingTarget(
                    ratioPad: BoxScaling.predictRatioPad(
                        inputWidth: geometry.outputWidth, inputHeight: geometry.outputHeight, originalWidth: image.width,
                        originalHeight: image.height),
                    originalWidth: image.width, originalHeight: image.height)
                let onDevice = try engine.detect(
                    shape: shape,
                    fill: { buffer in
                        fill(buffer)
                        marks.append(DispatchTime.now().uptimeNanoseconds)
                    }, options: options.nms, target: target, into: &found)
                if onDevice {
                    let end = DispatchTime.now().uptimeNanoseconds
                    self.detections = found
                    let ms = { (a: UInt64, b: UInt64) in Double(b - a) / 1e6 }
                    return ImageDetections(
                        width: image.width, height: image.height, inputWidth: geometry.outputWidth,
                        inputHeight: geometry.outputHeight, detections: found, preprocessMilliseconds: ms(start, marks[0]),
                        inferenceMilliseconds: ms(marks[0], end), postprocessMilliseconds: 0)
                }
                try engine.run(shape: shape, fill: { buffer in
                    image.withPixels { pixels in writer.write(pixels, geometry: geometry, into: buffer.baseAddress!, slot: 0) }
                    if buffer.count > 3 * geometry.outputWidth * geometry.outputHeight {
                        // A static model exported with batch > 1: the other slots are zero, as Ultralytics pads.
                        let used = 3 * geometry.outputWidth * geometry.outputHeight
                        (buffer.baseAddress! + used).update(repeating: 0, count: buffer.count - used)
                    }
                    marks.append(DispatchTime.now().uptimeNanoseconds)
                }, read: { output in
                    marks.append(DispatchTime.now().uptimeNanoseconds)
                    let anchors = output.count / (model.fixedBatch ?? 1) / (4 + classes)
                    nms.run(output: output.baseAddress!, anchors: anchors, classes: classes, into: &found)
                })
                BoxScaling.toOriginal(
                    &found, inputWidth: geometry.outputWidth, inputHeight: geometry.outputHeight, originalWidth: image.width,
                    originalHeight: image.height)
                let end = DispatchTime.now().uptimeNanoseconds
                self.detections = found
                let ms = { (a: UInt64, b: UInt64) in Double(b - a) / 1e6 }
                return ImageDetections(
                    width: image.width, height: image.height, inputWidth: geometry.outputWidth,
                    inputHeight: geometry.outputHeight, detections: found, preprocessMilliseconds: ms(start, marks[0]),
                    inferenceMilliseconds: ms(marks[0], marks[1]), postprocessMilliseconds: ms(marks[1], end))
            }
        }
    }
}
