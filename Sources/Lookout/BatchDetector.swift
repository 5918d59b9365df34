import Dispatch
import LookoutMedia
import LookoutModel
import LookoutYOLO

/// Detections of one batch: per frame, in original pixels, with the batch's stage times.
public struct BatchDetections: Sendable {
    /// One list per frame, in the order the frames were given.
    public var frames: [[Detection]]
    /// The letterboxed input every frame of the batch shares (width, height).
    public var inputWidth: Int
    public var inputHeight: Int
    /// The batch size the engine ran (a static model runs its export batch, padded with zero slots).
    public var engineBatch: Int
    public var preprocessMilliseconds: Double
    public var inferenceMilliseconds: Double
    public var postprocessMilliseconds: Double

    public init(
        frames: [[Detection]], inputWidth: Int, inputHeight: Int, engineBatch: Int, preprocessMilliseconds: Double,
        inferenceMilliseconds: Double, postprocessMilliseconds: Double
    ) {
        self.frames = frames
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.engineBatch = engineBatch
        self.preprocessMilliseconds = preprocessMilliseconds
        self.inferenceMilliseconds = inferenceMilliseconds
        self.postprocessMilliseconds = postprocessMilliseconds
    }
}

/// `Detector.detect` for several frames at once, for the streaming pipeline: every frame is letterboxed from the
/// caller's (pooled) pixels straight into its slot of the engine's input tensor, the batch runs once, and NMS and box
/// scaling run per slot, with exactly `detect`'s semantics per frame. Frames in one batch must share a letterbox
/// output size (`inputSize(width:height:)`); their source sizes may differ.
public final class BatchDetector: @unchecked Sendable {
    // The letterbox writer and NMS scratch are only touched under `lock`: one batch at a time.
    public let detector: Detector
    public let options: DetectOptions
    private let lock = NSLockLike()
    private var writer = LetterboxTensorWriter()
    private var nms: NonMaxSuppression

    public init(detector: Detector, options: DetectOptions = DetectOptions()) {
        self.detector = detector
        self.options = options
        self.nms = NonMaxSuppression(options: options.nms)
    }

    /// The largest batch the model takes: unlimited (nil) for dynamic models, the export batch for static ones.
    public var maximumBatch: Int? { detector.model.isDynamic ? nil : (detector.model.fixedBatch ?? 1) }

    /// The letterboxed input size of a `width`×`height` frame: frames with equal input sizes can share a batch.
    public func inputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let geometry = detector.geometry(width: width, height: height, imageSize: options.imageSize)
        return (geometry.outputWidth, geometry.outputHeight)
    }

    /// Runs one batch. `sizes` are the frames' (width, height); `lend(i, body)` calls `body` with frame `i`'s
    /// pixels (they are read only inside it); `filled` runs once every frame has been read, so the caller can
    /// release the frame buffers before the model runs.
    public func detect(
        sizes: [(width: Int, height: Int)], lend: (Int, (BGRPixels) -> Void) -> Void, filled: () -> Void = {}
    ) throws(LookoutError) -> BatchDetections {
        precondition(!sizes.isEmpty, "a batch holds at least one frame")
        let model = detector.model
        let geometries = sizes.map {
            detector.geometry(width: $0.width, height: $0.height, imageSize: options.imageSize)
        }
        let inputWidth = geometries[0].outputWidth
        let inputHeight = geometries[0].outputHeight
        precondition(
            geometries.allSatisfy { $0.outputWidth == inputWidth && $0.outputHeight == inputHeight },
            "frames of one batch must share a letterbox size")
        let batch = model.isDynamic ? sizes.count : (model.fixedBatch ?? 1)
        guard sizes.count <= batch else {
            throw LookoutError(
                "\(model.path): a batch of \(sizes.count) frames, but the model was exported with batch \(batch)")
        }
        let classes = model.classCount
        return try LookoutError.naming(model.path) {
            try lock.withLock { () throws -> BatchDetections in
                var writer = LetterboxTensorWriter()
                swap(&writer, &self.writer)
                var nms = NonMaxSuppression()
                swap(&nms, &self.nms)
                defer {
                    swap(&writer, &self.writer)
                    swap(&nms, &self.nms)
                }
                var marks: [UInt64] = [DispatchTime.now().uptimeNanoseconds]
                var frames: [[Detection]] = Array(repeating: [], count: sizes.count)
                try detector.engine.run(
                    shape: [batch, 3, inputHeight, inputWidth],
                    fill: { buffer in
                        let plane = 3 * inputWidth * inputHeight
                        for i in sizes.indices {
                            lend(i) { pixels in
                                writer.write(pixels, geometry: geometries[i], into: buffer.baseAddress!, slot: i)
                            }
                        }
                        if buffer.count > sizes.count * plane {
                            // Unused slots of a static batch are zero, as Ultralytics pads.
                            (buffer.baseAddress! + sizes.count * plane).update(
                                repeating: 0, count: buffer.count - sizes.count * plane)
                        }
                        filled()
                        marks.append(DispatchTime.now().uptimeNanoseconds)
                    },
                    read: { output in
                        marks.append(DispatchTime.now().uptimeNanoseconds)
                        let perSlot = output.count / batch
                        let anchors = perSlot / (4 + classes)
                        for i in sizes.indices {
                            nms.run(
                                output: output.baseAddress! + i * perSlot, anchors: anchors, classes: classes,
                                into: &frames[i])
                        }
                    })
                for i in sizes.indices {
                    BoxScaling.toOriginal(
                        &frames[i], inputWidth: inputWidth, inputHeight: inputHeight, originalWidth: sizes[i].width,
                        originalHeight: sizes[i].height)
                }
                marks.append(DispatchTime.now().uptimeNanoseconds)
                let ms = { (a: UInt64, b: UInt64) in Double(b - a) / 1e6 }
                return BatchDetections(
                    frames: frames, inputWidth: inputWidth, inputHeight: inputHeight, engineBatch: batch,
                    preprocessMilliseconds: ms(marks[0], marks[1]), inferenceMilliseconds: ms(marks[1], marks[2]),
                    postprocessMilliseconds: ms(marks[2], marks[3]))
            }
        }
    }
}
