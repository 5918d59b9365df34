/// The pixels Ultralytics' `save_one_box` (utils/plotting.py) cuts out for a detection with `save_crop`: the box
/// grown by `gain` and `pad`, optionally squared, truncated to integers and clipped to the image.
///
/// Float32 throughout, as on its CPU tensors: `xyxy2xywh` (`(x1 + x2) / 2`, `x2 - x1`), `wh * gain + pad`,
/// `xywh2xyxy` (`xy ∓ wh / 2`), then `.long()` (towards zero) and `clip_boxes` to `[0, width]` × `[0, height]`; the
/// crop is `im[y1:y2, x1:x2]`.
public struct CropRegion: Sendable, Hashable {
    public var x1: Int
    public var y1: Int
    public var x2: Int
    public var y2: Int

    public init(x1: Int, y1: Int, x2: Int, y2: Int) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
    }

    public var width: Int { x2 - x1 }
    public var height: Int { y2 - y1 }

    /// `save_one_box(xyxy, im, gain=1.02, pad=10, square=False)`'s region for a box in original-image pixels.
    public init(
        x1 bx1: Float, y1 by1: Float, x2 bx2: Float, y2 by2: Float, imageWidth: Int, imageHeight: Int,
        gain: Float = 1.02, pad: Float = 10, square: Bool = false
    ) {
        let cx = (bx1 + bx2) / 2
        let cy = (by1 + by2) / 2
        var w = bx2 - bx1
        var h = by2 - by1
        if square {
            let side = max(w, h)
            w = side
            h = side
        }
        w = w * gain + pad
        h = h * gain + pad
        let halfW = w / 2
        let halfH = h / 2
        func long(_ v: Float) -> Int {
            guard v.isFinite else { return 0 }
            return Int(max(min(v, 1e15), -1e15))
        }
        func clip(_ v: Int, _ limit: Int) -> Int { min(max(v, 0), limit) }
        x1 = clip(long(cx - halfW), imageWidth)
        y1 = clip(long(cy - halfH), imageHeight)
        x2 = clip(long(cx + halfW), imageWidth)
        y2 = clip(long(cy + halfH), imageHeight)
    }

    /// The region of `detection` (see the other initializer).
    public init(_ detection: Detection, imageWidth: Int, imageHeight: Int, square: Bool = false) {
        self.init(
            x1: detection.x1, y1: detection.y1, x2: detection.x2, y2: detection.y2, imageWidth: imageWidth,
            imageHeight: imageHeight, square: square)
    }
}
