/// Ultralytics' `compute_ap` (utils/metrics.py:770-792): the precision envelope sampled at 101 recall points by
/// linear interpolation and integrated with the trapezoid rule (not COCO's step rule).
enum AveragePrecision {
    static let recallPoints = NumPyMath.unitLinspace(101)

    static func compute(recall: [Double], precision: [Double]) -> Double {
        let mrec = [0.0] + recall + [recall.last ?? 1.0, 1.0]
        var mpre = [1.0] + precision + [0.0, 0.0]
        // Envelope: running maximum from the right.
        var i = mpre.count - 2
        while i >= 0 {
            mpre[i] = max(mpre[i], mpre[i + 1])
            i -= 1
        }
        let y = recallPoints.map { NumPyMath.interp($0, mrec, mpre) }
        return NumPyMath.trapezoid(y, recallPoints)
    }
}
