/// Where a source image lands inside the model input: Ultralytics' `LetterBox.get_params`
/// (data/augment.py:1776-1822), computed in float64 with Python's round-half-to-even.
public struct LetterboxGeometry: Sendable, Hashable {
    public var sourceWidth: Int
    public var sourceHeight: Int
    /// The scale applied to the source: `min(H/h, W/w)`, capped at 1 without scale-up.
    public var ratio: Double
    /// The resized image before padding (`new_unpad`).
    public var resizedWidth: Int
    public var resizedHeight: Int
    /// Padding in pixels on each side; odd totals put the extra pixel at the bottom/right.
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    /// The letterboxed image size (the model input for fixed-shape models).
    public var outputWidth: Int { resizedWidth + left + right }
    public var outputHeight: Int { resizedHeight + top + bottom }

    /// - Parameters:
    ///   - targetWidth, targetHeight: the requested input size (`new_shape`).
    ///   - auto: the minimal rectangle: pad only up to a multiple of `stride` (dynamic models under `rect`).
    ///   - scaleUp: allow enlarging small images (predict); val passes false.
    ///   - center: split the padding between both sides; otherwise all of it goes bottom/right.
    public init(
        sourceWidth w: Int, sourceHeight h: Int, targetWidth: Int, targetHeight: Int, auto: Bool = false,
        stride: Int = 32, scaleUp: Bool = true, center: Bool = true
    ) {
        precondition(w > 0 && h > 0 && targetWidth > 0 && targetHeight > 0, "sizes must be positive")
        sourceWidth = w
        sourceHeight = h
        var r = min(Double(targetHeight) / Double(h), Double(targetWidth) / Double(w))
        if !scaleUp { r = min(r, 1.0) }
        ratio = r
        // Python's round() is half-to-even: 1001 * 0.5 = 500.5 gives 500, not C's 501.
        resizedWidth = max(Int((Double(w) * r).rounded(.toNearestOrEven)), 1)
        resizedHeight = max(Int((Double(h) * r).rounded(.toNearestOrEven)), 1)
        var dw = targetWidth - resizedWidth
        var dh = targetHeight - resizedHeight
        if auto {
            // np.mod: the result takes the sign of the divisor.
            dw = ((dw % stride) + stride) % stride
            dh = ((dh % stride) + stride) % stride
        }
        if center {
            // dw/2 is k or k + 0.5, so the -0.1/+0.1 never land on a tie: floor and ceil of the half.
            let halfW = Double(dw) / 2
            let halfH = Double(dh) / 2
            top = Int((halfH - 0.1).rounded(.toNearestOrEven))
            bottom = Int((halfH + 0.1).rounded(.toNearestOrEven))
            left = Int((halfW - 0.1).rounded(.toNearestOrEven))
            right = Int((halfW + 0.1).rounded(.toNearestOrEven))
        } else {
            top = 0
            left = 0
            bottom = dh
            right = dw
        }
    }

    /// Whether the source must be resampled (Ultralytics skips `cv2.resize` when the size is unchanged).
    public var needsResize: Bool { resizedWidth != sourceWidth || resizedHeight != sourceHeight }
}
