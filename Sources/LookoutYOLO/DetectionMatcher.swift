/// Which detections of one image are true positives at each IoU threshold: Ultralytics'
/// `DetectionValidator._process_batch` (box_iou with eps 1e-7, float32) and `BaseValidator.match_predictions`
/// with its default greedy rule (engine/validator.py:321-358).
public enum DetectionMatcher {
    /// `torch.linspace(0.5, 0.95, 10)` in float32: the first half counts up from 0.5, the second half down from
    /// 0.95, by `(0.95 - 0.5) / 9` (PyTorch's CPU linspace kernel).
    public static let iouThresholds: [Float] = {
        let start: Float = 0.5
        let end: Float = 0.95
        let step = (end - start) / Float(9)
        return (0..<10).map { i in i < 5 ? start + step * Float(i) : end - step * Float(9 - i) }
    }()

    /// `box_iou(gt, det)` for one pair, float32: `inter / (((area_a + area_b) - inter) + 1e-7)`.
    @inline(__always)
    static func iou(_ g: GroundTruthBox, _ d: Detection) -> Float {
        let w = max(min(g.x2, d.x2) - max(g.x1, d.x1), 0)
        let h = max(min(g.y2, d.y2) - max(g.y1, d.y1), 0)
        let inter = w * h
        let areaG = (g.x2 - g.x1) * (g.y2 - g.y1)
        let areaD = (d.x2 - d.x1) * (d.y2 - d.y1)
        return inter / (((areaG + areaD) - inter) + Float(1e-7))
    }

    /// The `[detections x 10]` true-positive table, row-major. `detections` must be in NMS order (descending
    /// confidence): each one, in turn, takes the best still-unclaimed ground truth of its class per threshold.
    public static func truePositives(detections: [Detection], groundTruth: [GroundTruthBox]) -> [Bool] {
        let t = iouThresholds
        let n = detections.count
        let m = groundTruth.count
        var correct = [Bool](repeating: false, count: n * t.count)
        guard n > 0, m > 0 else { return correct }
        var claimed = [Bool](repeating: false, count: m * t.count)
        var column = [Float](repeating: 0, count: m)
        let lowest = t[0]
        for j in 0..<n {
            var any = false
            for i in 0..<m {
                // Classes that differ get IoU 0 (iou * correct_class).
                let v = groundTruth[i].classIndex == detections[j].classIndex ? iou(groundTruth[i], detections[j]) : 0
                column[i] = v
                if v >= lowest { any = true }
            }
            if !any { continue }
            for k in 0..<t.count {
                // argmax over unclaimed targets (claimed ones count as 0); first index on ties.
                var best = 0
                var bestValue: Float = claimed[k] ? 0 : column[0]
                for i in 1..<m {
                    let v: Float = claimed[i * t.count + k] ? 0 : column[i]
                    if v > bestValue {
                        best = i
                        bestValue = v
                    }
                }
                if bestValue >= t[k] {
                    correct[j * t.count + k] = true
                    claimed[best * t.count + k] = true
                }
            }
        }
        return correct
    }
}
