/// Ultralytics' letterbox geometry as the GPU kernel uses it (`LetterBox.get_params`, fixed output, centred, scale-up allowed): the resized
/// size and the padding, with Python's half-to-even `round` (1280×1001 → 500 wide, not 501).
public struct GPULetterboxGeometry: Sendable, Equatable, CustomStringConvertible {
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let outputWidth: Int
    public let outputHeight: Int
    public let resizedWidth: Int
    public let resizedHeight: Int
    public let top: Int
    public let bottom: Int
    public let left: Int
    public let right: Int
    public let ratio: Double

    public init(sourceWidth: Int, sourceHeight: Int, outputWidth: Int = 640, outputHeight: Int = 640, scaleUp: Bool = true) {
        precondition(sourceWidth > 0 && sourceHeight > 0 && outputWidth > 0 && outputHeight > 0)
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
        var r = min(Double(outputHeight) / Double(sourceHeight), Double(outputWidth) / Double(sourceWidth))
        if !scaleUp { r = min(r, 1.0) }
        ratio = r
        resizedWidth = max(Int((Double(sourceWidth) * r).rounded(.toNearestOrEven)), 1)
        resizedHeight = max(Int((Double(sourceHeight) * r).rounded(.toNearestOrEven)), 1)
        let dw = Double(outputWidth - resizedWidth) / 2
        let dh = Double(outputHeight - resizedHeight) / 2
        // The ±0.1 makes an odd total pad split floor/ceil: the extra pixel goes bottom/right.
        top = Int((dh - 0.1).rounded(.toNearestOrEven))
        bottom = Int((dh + 0.1).rounded(.toNearestOrEven))
        left = Int((dw - 0.1).rounded(.toNearestOrEven))
        right = Int((dw + 0.1).rounded(.toNearestOrEven))
    }

    /// How OpenCV resizes between these sizes: a copy when equal, its INTER_AREA fast path for an exact 2x
    /// downscale in both axes, else fixed-point bilinear.
    public enum ResizeMode: Int32, Sendable { case bilinear = 0, area2x = 1, copy = 2 }

    public var resizeMode: ResizeMode {
        if resizedWidth == sourceWidth && resizedHeight == sourceHeight { return .copy }
        if sourceWidth == 2 * resizedWidth && sourceHeight == 2 * resizedHeight { return .area2x }
        return .bilinear
    }

    /// OpenCV's per-axis source step, `1 / ((double)dst / src)`.
    public var scaleX: Double { 1.0 / (Double(resizedWidth) / Double(sourceWidth)) }
    public var scaleY: Double { 1.0 / (Double(resizedHeight) / Double(sourceHeight)) }

    public var description: String {
        "\(sourceWidth)x\(sourceHeight) → \(resizedWidth)x\(resizedHeight) pad t\(top) b\(bottom) l\(left) r\(right)"
    }
}
