/// IoU of two (x1, y1, x2, y2) boxes in float32, as Ultralytics' `bbox_ioa(iou=True)` computes it (eps 1e-7 added to
/// the union).
enum BoxIoU {
    @inline(__always)
    static func iou(_ a: (Float, Float, Float, Float), _ b: (Float, Float, Float, Float)) -> Float {
        let w = max(min(a.2, b.2) - max(a.0, b.0), 0)
        let h = max(min(a.3, b.3) - max(a.1, b.1), 0)
        let inter = w * h
        let areaB = (b.2 - b.0) * (b.3 - b.1)
        let areaA = (a.2 - a.0) * (a.3 - a.1)
        let union = areaB + areaA - inter
        return inter / (union + 1e-7)
    }
}
