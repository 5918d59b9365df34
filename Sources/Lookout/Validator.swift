import Dispatch
import Foundation
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
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: imagesFolder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LookoutError("\(folder): no images/ folder (expected images/ and labels/ in YOLO format)")
        }
        let expansion = ImageSources.expand([imagesFolder])
        if let error = expansion.errors.first { throw LookoutError(error) }
        let model = detector.model
        let size = imageSize ?? max(model.defaultImageSize.height, model.defaultImageSize.width)
        var nmsOptions = NMSOptions.val
        nmsOptions.confidenceThreshold = confidence
        nmsOptions.iouThreshold = iou
        nmsOptions.maxDetections = maxDetections
        var nms = NonMaxSuppression(options: nmsOptions)
        var preprocessor = ValPreprocessor()
        var decoder = ImageDecoder()
        var image = BGRImage()
        var metrics = ValMetrics()
        var detections: [Detection] = []
        var failures: [String] = []
        let start = DispatchTime.now().uptimeNanoseconds
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
            let (targetWidth, targetHeight) = targetSize(width: image.width, height: image.height, size: size, model: model)
            let shape = [model.fixedBatch ?? 1, 3, targetHeight, targetWidth]
            var geometry: ValGeometry?
            do {
                // The CUDA backend runs the NMS on the GPU (boxes stay in letterboxed pixels, as val matches them).
                let onDevice = try detector.engine.detect(
                    shape: shape,
                    fill: { buffer in
                        geometry = image.withPixels {
                            preprocessor.write($0, imageSize: size, targetWidth: targetWidth, targetHeight: targetHeight,
                                               into: buffer.baseAddress!, slot: 0)
                        }
                    }, options: nmsOptions, target: nil, into: &detections)
                if onDevice {
                    guard let geometry else { continue }
                    metrics.add(detections: detections, groundTruth: labels.map { GroundTruthBox(label: $0, geometry: geometry) })
                    continue
                }
                try detector.engine.run(shape: shape, fill: { buffer in
                    geometry = image.withPixels {
                        preprocessor.write($0, imageSize: size, targetWidth: targetWidth, targetHeight: targetHeight,
                                           into: buffer.baseAddress!, slot: 0)
                    }
                }, read: { output in
                    let anchors = output.count / (model.fixedBatch ?? 1) / (4 + model.classCount)
                    nms.run(output: output.baseAddress!, anchors: anchors, classes: model.classCount, into: &detections)
                })
            } catch {
                throw LookoutError("\(path): \(error)")
            }
            guard let geometry else { continue }
            metrics.add(detections: detections, groundTruth: labels.map { GroundTruthBox(label: $0, geometry: geometry) })
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
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
