/// A ground-truth object in letterboxed model-input pixels (corners), where val matches detections.
public struct GroundTruthBox: Sendable, Hashable {
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float
    public var classIndex: Int

    public init(x1: Float, y1: Float, x2: Float, y2: Float, classIndex: Int) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
        self.classIndex = classIndex
    }

    /// A label placed the way Ultralytics' val pipeline places it, in the same float32 steps: xywh to xyxy,
    /// times the loaded size, times the letterbox ratio, plus the pad (LetterBox._update_labels); back to xywh
    /// divided by the input size (Format); then xyxy times the input size (DetectionValidator._prepare_batch).
    public init(label: LabelBox, geometry: ValGeometry) {
        let lb = geometry.letterbox
        let halfW = label.width / 2
        let halfH = label.height / 2
        var ax = label.centerX - halfW
        var ay = label.centerY - halfH
        var bx = label.centerX + halfW
        var by = label.centerY + halfH
        let loadedW = Float(geometry.loadedWidth)
        let loadedH = Float(geometry.loadedHeight)
        ax *= loadedW
        bx *= loadedW
        ay *= loadedH
        by *= loadedH
        let r = Float(lb.ratio)
        ax *= r
        bx *= r
        ay *= r
        by *= r
        let padX = Float(lb.left)
        let padY = Float(lb.top)
        ax += padX
        bx += padX
        ay += padY
        by += padY
        let inW = Float(lb.outputWidth)
        let inH = Float(lb.outputHeight)
        let cx = ((ax + bx) / 2) / inW
        let w = (bx - ax) / inW
        let cy = ((ay + by) / 2) / inH
        let h = (by - ay) / inH
        let hw = w / 2
        let hh = h / 2
        self.init(
            x1: (cx - hw) * inW, y1: (cy - hh) * inH, x2: (cx + hw) * inW, y2: (cy + hh) * inH,
            classIndex: label.classIndex)
    }
}
