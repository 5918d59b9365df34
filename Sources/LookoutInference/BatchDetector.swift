import LookoutCore
import LookoutMedia
import LookoutModel
import LookoutYOLO

/// Detections of one batch: per frame, in original pixels, with the batch's stage times.
package struct BatchDetections: Sendable {
    /// One list per frame, in the order the frames were given.
    package var frames: [[Detection]]
    /// The letterboxed input every frame of the batch shares (width, height).
    package var inputWidth: Int
    package var inputHeight: Int
    /// The batch size the engine ran (a static model runs its export batch, padded with zero slots).
    package var engineBatch: Int
    package var preprocessMilliseconds: Double
    package var inferenceMilliseconds: Double
    package var postprocessMilliseconds: Double

    package init(
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

/// `Detector.detect` for the pipeline's batches: every frame is letterboxed from the caller's (pooled) pixels straight
/// into its slot of the engine's input tensor, the batch runs once, and NMS and box scaling run per slot, with
/// exactly `detect`'s semantics per frame. Frames in one batch must share a letterbox output size
/// (`inputSize(width:height:)`); their source sizes may differ.
package final class BatchDetector: Sendable {
    package let detector: Detector
    package let options: DetectOptions

    package init(detector: Detector, options: DetectOptions = DetectOptions()) {
        self.detector = detector
        self.options = options
    }

    /// The largest batch the model takes: unlimited (nil) for dynamic models, the export batch for static ones.
    package var maximumBatch: Int? { detector.model.isDynamic ? nil : (detector.model.fixedBatch ?? 1) }

    /// The letterboxed input size of a `width`×`height` frame: frames with equal input sizes can share a batch.
    package func inputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let geometry = detector.geometry(width: width, height: height, imageSize: options.imageSize)
        return (geometry.outputWidth, geometry.outputHeight)
    }

    /// Runs one batch. `sizes` are the frames' (width, height); `lend(i, body)` calls `body` with frame `i`'s
    /// pixels (they are read only inside it); `filled` runs once every frame has been read, so the caller can
    /// release the frame buffers before the model runs.
    package func detect(
        sizes: [(width: Int, height: Int)], lend: (Int, (BGRPixels) -> Void) -> Void, filled: () -> Void = {}
    ) throws(LookoutError) -> BatchDetections {
        precondition(!sizes.isEmpty, "a batch holds at least one frame")
        let geometries = sizes.map {
            detector.geometry(width: $0.width, height: $0.height, imageSize: options.imageSize)
        }
        return try detector.detect(geometries: geometries, options: options, lend: lend, filled: filled)
    }
}
