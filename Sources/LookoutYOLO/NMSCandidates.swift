/// The candidates of one NMS run, structure-of-arrays, and torchvision's greedy suppression over them.
struct NMSCandidates: Sendable {
    var anchor: [Int32] = []
    var classIndex: [Int32] = []
    var score: [Float] = []
    var x1: [Float] = []
    var y1: [Float] = []
    var x2: [Float] = []
    var y2: [Float] = []
    /// Indices of the kept candidates, in descending score order.
    var kept: [Int32] = []

    private var order: [Int32] = []
    private var suppressed: [Bool] = []
    private var shifted: [Float] = []

    var count: Int { score.count }

    mutating func removeAll() {
        anchor.removeAll(keepingCapacity: true)
        classIndex.removeAll(keepingCapacity: true)
        score.removeAll(keepingCapacity: true)
        x1.removeAll(keepingCapacity: true)
        y1.removeAll(keepingCapacity: true)
        x2.removeAll(keepingCapacity: true)
        y2.removeAll(keepingCapacity: true)
        kept.removeAll(keepingCapacity: true)
    }

    mutating func append(anchor a: Int, classIndex c: Int, score s: Float, box: (Float, Float, Float, Float)) {
        anchor.append(Int32(a))
        classIndex.append(Int32(c))
        score.append(s)
        x1.append(box.0)
        y1.append(box.1)
        x2.append(box.2)
        y2.append(box.3)
    }

    func detection(_ i: Int) -> Detection {
        Detection(x1: x1[i], y1: y1[i], x2: x2[i], y2: y2[i], confidence: score[i], classIndex: Int(classIndex[i]))
    }

    /// Keeps the candidates whose class is listed, in their order.
    mutating func filterClasses(_ classes: [Int]) {
        let wanted = Set(classes)
        select((0..<count).filter { wanted.contains(Int(classIndex[$0])) })
    }

    /// Keeps the `limit` highest-scoring candidates, highest first (stable for equal scores; torch's argsort here
    /// is not stable, so ties at the cut may differ from Ultralytics).
    mutating func keepHighest(_ limit: Int) {
        sortOrderByScore()
        select(order.prefix(limit).map { Int($0) })
    }

    private mutating func select(_ indices: [Int]) {
        anchor = indices.map { anchor[$0] }
        classIndex = indices.map { classIndex[$0] }
        score = indices.map { score[$0] }
        x1 = indices.map { x1[$0] }
        y1 = indices.map { y1[$0] }
        x2 = indices.map { x2[$0] }
        y2 = indices.map { y2[$0] }
    }

    /// `order`: candidate indices by descending score, ties by ascending index (torch's stable sort).
    private mutating func sortOrderByScore() {
        order.removeAll(keepingCapacity: true)
        for i in 0..<count { order.append(Int32(i)) }
        score.withUnsafeBufferPointer { s in
            order.sort { a, b in
                let sa = s[Int(a)]
                let sb = s[Int(b)]
                return sa > sb || (sa == sb && a < b)
            }
        }
    }

    /// torchvision::nms (csrc/ops/cpu/nms_kernel.cpp) on the boxes shifted by `classIndex * classOffset`,
    /// stopping once `limit` boxes are kept (later boxes cannot change earlier decisions).
    mutating func suppress(iouThreshold: Double, classOffset: Float, limit: Int) {
        kept.removeAll(keepingCapacity: true)
        let n = count
        guard n > 0, limit > 0 else { return }
        sortOrderByScore()
        // Shifted boxes and their areas, five floats per candidate: x1, y1, x2, y2, area.
        shifted.removeAll(keepingCapacity: true)
        for i in 0..<n {
            // float32: the offset changes the rounding of the IoU inputs exactly as in Ultralytics.
            let c = Float(classIndex[i]) * classOffset
            let a = x1[i] + c
            let b = y1[i] + c
            let d = x2[i] + c
            let e = y2[i] + c
            shifted.append(a)
            shifted.append(b)
            shifted.append(d)
            shifted.append(e)
            shifted.append((d - a) * (e - b))
        }
        suppressed.removeAll(keepingCapacity: true)
        suppressed.append(contentsOf: repeatElement(false, count: n))
        var keep = kept
        kept = []
        shifted.withUnsafeBufferPointer { boxes in
            order.withUnsafeBufferPointer { order in
                suppressed.withUnsafeMutableBufferPointer { suppressed in
                    Self.greedy(
                        boxes: boxes, order: order, suppressed: suppressed, threshold: iouThreshold, limit: limit,
                        kept: &keep)
                }
            }
        }
        kept = keep
    }

    private static func greedy(
        boxes: UnsafeBufferPointer<Float>, order: UnsafeBufferPointer<Int32>,
        suppressed: UnsafeMutableBufferPointer<Bool>,
        threshold: Double, limit: Int, kept: inout [Int32]
    ) {
        let n = order.count
        for oi in 0..<n {
            let i = Int(order[oi])
            if suppressed[i] { continue }
            kept.append(Int32(i))
            if kept.count == limit { return }
            let ix1 = boxes[5 * i]
            let iy1 = boxes[5 * i + 1]
            let ix2 = boxes[5 * i + 2]
            let iy2 = boxes[5 * i + 3]
            let iarea = boxes[5 * i + 4]
            for oj in (oi + 1)..<n {
                let j = Int(order[oj])
                if suppressed[j] { continue }
                let jx1 = boxes[5 * j]
                let jy1 = boxes[5 * j + 1]
                let jx2 = boxes[5 * j + 2]
                let jy2 = boxes[5 * j + 3]
                // std::max/std::min: (a < b) ? b : a and (b < a) ? b : a.
                let xx1 = ix1 < jx1 ? jx1 : ix1
                let yy1 = iy1 < jy1 ? jy1 : iy1
                let xx2 = jx2 < ix2 ? jx2 : ix2
                let yy2 = jy2 < iy2 ? jy2 : iy2
                let dw = xx2 - xx1
                let dh = yy2 - yy1
                let w: Float = 0 < dw ? dw : 0
                let h: Float = 0 < dh ? dh : 0
                let inter = w * h
                let ovr = inter / ((iarea + boxes[5 * j + 4]) - inter)
                if Double(ovr) > threshold { suppressed[j] = true }
            }
        }
    }
}
