import LookoutCore
import LookoutMedia
import LookoutModel
import LookoutYOLO

/// Ultralytics' val protocol (YOLO_SEMANTICS §5) over a folder with `images/` and `labels/`: val preprocessing
/// (ceil resize, letterbox without scale-up; a 640 square for fixed models, the rect batch shape for dynamic
/// ones), conf 0.001, IoU 0.7, multi-label NMS, matching in letterboxed space, 101-point AP.
public struct Validator {
    public var confidence = 0.001
    public var iou = 0.7
    public var maxDetections = 300
    public var imageSize: Int?

    public init() {}

    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
    }

    public struct Result: Sendable {
        public var summary: ValSummary
        /// Images that could not be read (one line each); they are left out of the metrics.
        public var failures: [String]
        public var seconds: Double
    }

    /// Validates `detector` on `folder`. Errors only when the folder itself is unusable.
    public func run(
        detector: Detector, folder: String, progress: (Progress) -> Void = { _ in }
    ) throws(LookoutError) -> Result {
        let imagesFolder = folder + "/images"
        guard Paths.isDirectory(imagesFolder) else {
            throw LookoutError(.notFound, "\(folder): no images/ folder (expected images/ and labels/ in YOLO format)")
        }
        let expansion = ImageSources.expand([imagesFolder])
        if let error = expansion.errors.first { throw LookoutError(.notFound, error) }
        var thresholds = DetectOptions()
        thresholds.confidence = confidence
        thresholds.iou = iou
        thresholds.maxDetections = maxDetections
        thresholds.imageSize = imageSize
        try thresholds.validate()
        let model = detector.model
        let size = detector.imageSizeChoice(imageSize).size
        var nmsOptions = NMSOptions.val
        nmsOptions.confidenceThreshold = confidence
        nmsOptions.iouThreshold = iou
        nmsOptions.maxDetections = maxDetections
        var preprocessor = ValPreprocessor()
        var decoder = ImageDecoder()
        var image = BGRImage()
        var metrics = ValMetrics()
        var failures: [String] = []
        let start = MonotonicClock.nanoseconds()
        for (index, path) in expansion.files.enumerated() {
            defer { progress(Progress(done: index + 1, total: expansion.files.count)) }
            do {
                try decoder.decode(file: path, into: &image)
            } catch {
                failures.append(error.description)
                continue
            }
            let labels: [LabelBox]
            do {
                labels = try YOLOLabels.read(file: YOLOLabels.labelPath(forImage: path))
            } catch {
                failures.append(error.description)
                continue
            }
            let (targetWidth, targetHeight) = targetSize(
                width: image.width, height: image.height, size: size, model: model)
            var geometry: ValGeometry?
            // Boxes stay in letterboxed pixels (no targets): val matches them there.
            let batch = try detector.exclusively { () throws(LookoutError) -> BatchDetections in
                try detector.infer(
                    count: 1, width: targetWidth, height: targetHeight, nms: nmsOptions, targets: nil,
                    fill: { tensor in
                        geometry = image.withPixels {
                            preprocessor.write(
                                $0, imageSize: size, targetWidth: targetWidth, targetHeight: targetHeight, into: tensor,
                                slot: 0)
                        }
                    })
            }
            guard let geometry else { continue }
            metrics.add(
                detections: batch.frames[0], groundTruth: labels.map { GroundTruthBox(label: $0, geometry: geometry) })
        }
        let seconds = Double(MonotonicClock.nanoseconds() &- start) / 1e9
        return Result(summary: metrics.summary(), failures: failures, seconds: seconds)
    }

    /// Fixed-shape exports get the export size; dynamic ones Ultralytics' rect shape for a batch of one image:
    /// `ceil(shape_ratio * imgsz / stride + 0.5) * stride` (data/build.py, base.py `set_rectangle`).
    func targetSize(width: Int, height: Int, size: Int, model: DetectionModel) -> (Int, Int) {
        guard model.isDynamic else { return (model.defaultImageSize.width, model.defaultImageSize.height) }
        let stride = Double(model.metadata.stride)
        let aspect = Double(height) / Double(width)
        let (h, w) = aspect < 1 ? (aspect, 1.0) : (1.0, 1 / aspect)
        let th = Int((h * Double(size) / stride + 0.5).rounded(.up)) * Int(stride)
        let tw = Int((w * Double(size) / stride + 0.5).rounded(.up)) * Int(stride)
        return (tw, th)
    }
}
