/// Ultralytics' detection val metrics (`DetMetrics` + `ap_per_class`, utils/metrics.py): add each image's
/// detections (letterboxed pixels, NMS order) with its ground truth, then ask for the summary.
///
/// Matching is greedy per image (`DetectionMatcher`); predictions of all images are pooled and sorted by
/// confidence; AP is the 101-point interpolated trapezoid per class present in the ground truth; P and R are taken
/// at the maximum of the smoothed mean-F1 curve over 1000 confidence points.
public struct ValMetrics: Sendable {
    private var truePositive: [Bool] = []  // [prediction x 10]
    private var confidence: [Float] = []
    private var predictedClass: [Int] = []
    private var targetClass: [Int] = []
    private var imagesWithClass: [Int: Int] = [:]
    public private(set) var images = 0

    public init() {}

    /// Adds one image: `detections` in NMS order (descending confidence) and its ground truth, both in the same
    /// (letterboxed) pixel space.
    public mutating func add(detections: [Detection], groundTruth: [GroundTruthBox]) {
        images += 1
        truePositive += DetectionMatcher.truePositives(detections: detections, groundTruth: groundTruth)
        for d in detections {
            confidence.append(d.confidence)
            predictedClass.append(d.classIndex)
        }
        for g in groundTruth { targetClass.append(g.classIndex) }
        for c in Set(groundTruth.map(\.classIndex)) { imagesWithClass[c, default: 0] += 1 }
    }

    /// The overall and per-class results.
    public func summary() -> ValSummary {
        let t = DetectionMatcher.iouThresholds.count
        let eps = 1e-16
        // Pool and sort by descending confidence (stable; NumPy's argsort here is not, so exact confidence ties
        // may order differently from Ultralytics).
        let order = confidence.indices.sorted { a, b in
            confidence[a] > confidence[b] || (confidence[a] == confidence[b] && a < b)
        }
        var counts: [Int: Int] = [:]
        for c in targetClass { counts[c, default: 0] += 1 }
        let classes = counts.keys.sorted()
        let x = NumPyMath.unitLinspace(1000)
        var pCurves: [[Double]] = []
        var rCurves: [[Double]] = []
        var aps: [[Double]] = []
        for c in classes {
            let nl = Double(counts[c] ?? 0)
            let mine = order.filter { predictedClass[$0] == c }
            if mine.isEmpty {
                pCurves.append([Double](repeating: 0, count: x.count))
                rCurves.append([Double](repeating: 0, count: x.count))
                aps.append([Double](repeating: 0, count: t))
                continue
            }
            let negConf = mine.map { -Double(confidence[$0]) }
            var classAP: [Double] = []
            for k in 0..<t {
                var tpc = 0.0
                var fpc = 0.0
                var recall: [Double] = []
                var precision: [Double] = []
                for i in mine {
                    if truePositive[i * t + k] { tpc += 1 } else { fpc += 1 }
                    recall.append(tpc / (nl + eps))
                    precision.append(tpc / (tpc + fpc))
                }
                if k == 0 {
                    rCurves.append(x.map { NumPyMath.interp(-$0, negConf, recall, left: 0) })
                    pCurves.append(x.map { NumPyMath.interp(-$0, negConf, precision, left: 1) })
                }
                classAP.append(AveragePrecision.compute(recall: recall, precision: precision))
            }
            aps.append(classAP)
        }
        var index = 0
        if !classes.isEmpty {
            var meanF1 = [Double](repeating: 0, count: x.count)
            for (p, r) in zip(pCurves, rCurves) {
                for i in x.indices { meanF1[i] += 2 * p[i] * r[i] / (p[i] + r[i] + eps) }
            }
            meanF1 = meanF1.map { $0 / Double(classes.count) }
            index = NumPyMath.argmax(NumPyMath.smooth(meanF1, fraction: 0.1))
        }
        var results: [ValSummary.ClassResult] = []
        for (ci, c) in classes.enumerated() {
            results.append(
                ValSummary.ClassResult(
                    classIndex: c, images: imagesWithClass[c] ?? 0, instances: counts[c] ?? 0,
                    precision: pCurves[ci][index], recall: rCurves[ci][index], ap: aps[ci]))
        }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        return ValSummary(
            images: images, instances: targetClass.count, classes: results, precision: mean(results.map(\.precision)),
            recall: mean(results.map(\.recall)), map50: mean(results.map(\.ap50)),
            map50to95: mean(results.flatMap(\.ap)))
    }
}
