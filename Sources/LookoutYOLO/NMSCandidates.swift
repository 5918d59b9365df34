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
    private var area: [Float] = []
    private var ox1: [Float] = []
    private var oy1: [Float] = []
    private var ox2: [Float] = []
    private var oy2: [Float] = []

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
                let sa = s[Int(a)], sb = s[Int(b)]
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
        ox1.removeAll(keepingCapacity: true)
        oy1.removeAll(keepingCapacity: true)
        ox2.removeAll(keepingCapacity: true)
        oy2.removeAll(keepingCapacity: true)
        area.removeAll(keepingCapacity: true)
        suppressed.removeAll(keepingCapacity: true)
        for i in 0..<n {
            // float32: the offset changes the rounding of the IoU inputs exactly as in Ultralytics.
            let c = Float(classIndex[i]) * classOffset
            let a = x1[i] + c, b = y1[i] + c, d = x2[i] + c, e = y2[i] + c
            ox1.append(a)
            oy1.append(b)
            ox2.append(d)
            oy2.append(e)
            area.append((d - a) * (e - b))
        }
        suppressed.append(contentsOf: repeatElement(false, count: n))
        ox1.withUnsafeBufferPointer { X1 in
            oy1.withUnsafeBufferPointer { Y1 in
                ox2.withUnsafeBufferPointer { X2 in
                    oy2.withUnsafeBufferPointer { Y2 in
                        area.withUnsafeBufferPointer { A in
                            order.withUnsafeBufferPointer { O in
                                suppressed.withUnsafeMutableBufferPointer { S in
                                    for oi in 0..<n {
                                        let i = Int(O[oi])
                                        if S[i] { continue }
                                        kept.append(Int32(i))
                                        if kept.count == limit { return }
                                        let ix1 = X1[i], iy1 = Y1[i], ix2 = X2[i], iy2 = Y2[i], iarea = A[i]
                                        for oj in (oi + 1)..<n {
                                            let j = Int(O[oj])
                                            if S[j] { continue }
                                            // std::max/std::min: (a < b) ? b : a and (b < a) ? b : a.
                                            let xx1 = ix1 < X1[j] ? X1[j] : ix1
                                            let yy1 = iy1 < Y1[j] ? Y1[j] : iy1
                                            let xx2 = X2[j] < ix2 ? X2[j] : ix2
                                            let yy2 = Y2[j] < iy2 ? Y2[j] : iy2
                                            let dw = xx2 - xx1, dh = yy2 - yy1
                                            let w: Float = 0 < dw ? dw : 0
                                            let h: Float = 0 < dh ? dh : 0
                                            let inter = w * h
                                            let ovr = inter / ((iarea + A[j]) - inter)
                                            if Double(ovr) > iouThreshold { S[j] = true }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
