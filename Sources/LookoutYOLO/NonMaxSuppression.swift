/// Ultralytics' `non_max_suppression` for one image (utils/nms.py:63-169) with torchvision's CPU `nms` kernel,
/// on the raw model output `[4 + nc, A]` (rows cx, cy, w, h, then one sigmoid score row per class).
///
/// Bit-level rules: candidates are anchors whose best score is `> Float(conf)`, kept in anchor order; boxes go
/// from xywh to xyxy in float32 (`w / 2`, `xy ± wh`); class offsets `cls * 7680` are added in float32; the NMS
/// order is a stable descending sort (ties: lower candidate first); IoU is float32
/// `inter / ((area_i + area_j) - inter)` and suppresses when `Double(iou) > iou_thres`; the result is truncated to
/// `max_det` and sorted by descending confidence.
///
/// One value per stream: its scratch buffers are reused, so steady-state calls do not allocate.
public struct NonMaxSuppression: Sendable {
    public var options: NMSOptions
    /// The anchor index of each detection of the last `run` (for debugging and tests).
    public private(set) var lastAnchorIndices: [Int] = []

    private var bestScore: [Float] = []
    private var bestClass: [Int32] = []
    private var candidates = NMSCandidates()

    public init(options: NMSOptions = .predict) {
        self.options = options
    }

    /// Runs on one image's output. `output` points at `(4 + classes) * anchors` floats, row-major (pass
    /// `base + slot * (4 + classes) * anchors` for a batch slot). Replaces `detections`' contents.
    public mutating func run(
        output: UnsafePointer<Float>, anchors: Int, classes: Int, into detections: inout [Detection]
    ) {
        precondition(anchors >= 0 && classes >= 1, "need at least one class row")
        detections.removeAll(keepingCapacity: true)
        lastAnchorIndices.removeAll(keepingCapacity: true)
        candidates.removeAll()
        let conf = Float(options.confidenceThreshold)
        collectCandidates(output: output, anchors: anchors, classes: classes, threshold: conf)
        if let keep = options.classes {
            candidates.filterClasses(keep)
        }
        if candidates.count > options.maxCandidates {
            candidates.keepHighest(options.maxCandidates)
        }
        let offset = options.agnostic ? Float(0) : options.classOffset
        candidates.suppress(iouThreshold: options.iouThreshold, classOffset: offset, limit: options.maxDetections)
        for k in candidates.kept {
            let i = Int(k)
            detections.append(candidates.detection(i))
            lastAnchorIndices.append(Int(candidates.anchor[i]))
        }
    }

    /// The candidate filter, the hot part: one pass per class row over contiguous scores keeps the running best
    /// score and its first class index (ties keep the first, as `max(1)` does).
    private mutating func collectCandidates(
        output: UnsafePointer<Float>, anchors: Int, classes: Int, threshold: Float
    ) {
        if bestScore.count != anchors {
            bestScore = [Float](repeating: 0, count: anchors)
            bestClass = [Int32](repeating: 0, count: anchors)
        }
        bestScore.withUnsafeMutableBufferPointer { best in
            bestClass.withUnsafeMutableBufferPointer { cls in
                let scores0 = output + 4 * anchors
                for a in 0..<anchors {
                    best[a] = scores0[a]
                    cls[a] = 0
                }
                for c in 1..<max(classes, 1) {
                    let row = output + (4 + c) * anchors
                    let c32 = Int32(c)
                    for a in 0..<anchors where row[a] > best[a] {
                        best[a] = row[a]
                        cls[a] = c32
                    }
                }
            }
        }
        let cx = output
        let cy = output + anchors
        let w = output + 2 * anchors
        let h = output + 3 * anchors
        for a in 0..<anchors where bestScore[a] > threshold {
            let halfW = w[a] / 2
            let halfH = h[a] / 2
            let box = (cx[a] - halfW, cy[a] - halfH, cx[a] + halfW, cy[a] + halfH)
            if options.multiLabel {
                // torch.where(cls > conf): row-major (anchor, class) order.
                for c in 0..<classes {
                    let s = output[(4 + c) * anchors + a]
                    if s > threshold { candidates.append(anchor: a, classIndex: c, score: s, box: box) }
                }
            } else {
                candidates.append(anchor: a, classIndex: Int(bestClass[a]), score: bestScore[a], box: box)
            }
        }
    }
}
