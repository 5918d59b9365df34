/// Settings of `NonMaxSuppression`, with Ultralytics' names and defaults (utils/nms.py, cfg/default.yaml).
public struct NMSOptions: Sendable, Hashable {
    /// `conf`: keep scores strictly above `Float(confidenceThreshold)`.
    public var confidenceThreshold: Double
    /// `iou`: suppress when the float32 IoU, widened to double, is strictly above this.
    public var iouThreshold: Double
    /// `classes`: keep only these class indices (nil keeps all).
    public var classes: [Int]?
    /// `agnostic_nms`: one NMS over all classes instead of one per class.
    public var agnostic: Bool
    /// `multi_label`: every class above the threshold makes a candidate (val), instead of the best one (predict).
    public var multiLabel: Bool
    /// `max_det`: the most detections returned.
    public var maxDetections: Int
    /// `max_nms`: the most candidates entering NMS (the highest-scoring ones).
    public var maxCandidates: Int
    /// `max_wh`: the per-class box offset that keeps classes apart.
    public var classOffset: Float

    public init(
        confidenceThreshold: Double = 0.25, iouThreshold: Double = 0.7, classes: [Int]? = nil, agnostic: Bool = false,
        multiLabel: Bool = false, maxDetections: Int = 300, maxCandidates: Int = 30000, classOffset: Float = 7680
    ) {
        self.confidenceThreshold = confidenceThreshold
        self.iouThreshold = iouThreshold
        self.classes = classes
        self.agnostic = agnostic
        self.multiLabel = multiLabel
        self.maxDetections = maxDetections
        self.maxCandidates = maxCandidates
        self.classOffset = classOffset
    }

    /// `model.predict()` defaults: conf 0.25, iou 0.7, single label, 300 detections.
    public static let predict = NMSOptions()
    /// `model.val()` defaults: conf 0.001, iou 0.7, multi-label, 300 detections.
    public static let val = NMSOptions(confidenceThreshold: 0.001, multiLabel: true)
}
