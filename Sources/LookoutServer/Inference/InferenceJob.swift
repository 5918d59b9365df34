import LookoutInference
import LookoutMedia
import LookoutYOLO

/// A request checked and decoded, waiting for the model's batcher: its rows (images, or rows of the raw network's
/// batch), what it may share an engine call with, and its inputs.
struct InferenceJob: Sendable {
    enum Work: Sendable {
        /// Decoded images, the letterboxes the request would get alone, and its detection parameters.
        case detect(images: [BGRImage], geometries: [LetterboxGeometry], options: DetectOptions)
        /// The raw network's NCHW input, `shape` [N, 3, H, W].
        case raw(floats: [Float], shape: [Int])
    }

    /// Jobs with equal keys may run as one engine call: the same engine input size and, for detection, the same
    /// parameters (`Detector` runs one NMS setting per call).
    struct Key: Hashable, Sendable {
        var width: Int
        var height: Int
        var confidence: Double = 0
        var iou: Double = 0
        var maxDetections = 0
        var classes: [Int]?
        var agnostic = false
        var imageSize: Int?
    }

    var rows: Int
    var key: Key
    var work: Work

    init(images: [BGRImage], geometries: [LetterboxGeometry], options: DetectOptions) {
        rows = images.count
        key = Key(
            width: geometries[0].outputWidth, height: geometries[0].outputHeight, confidence: options.confidence,
            iou: options.iou, maxDetections: options.maxDetections, classes: options.classes,
            agnostic: options.agnostic, imageSize: options.imageSize)
        work = .detect(images: images, geometries: geometries, options: options)
    }

    init(floats: [Float], shape: [Int]) {
        rows = shape[0]
        key = Key(width: shape[3], height: shape[2])
        work = .raw(floats: floats, shape: shape)
    }
}
