/// Ultralytics' `scale_boxes` + `clip_boxes` (utils/ops.py:126-213): boxes from the letterboxed model input back
/// to original image pixels, in float32 like the CPU tensors (`(x - pad) / Float(gain)`, a true division).
public enum BoxScaling {
    /// The predict path (`ratio_pad=None`): gains and pads recomputed from the two shapes, per axis, with the same
    /// rounding as `LetterboxGeometry`.
    public static func toOriginal(
        _ detections: inout [Detection], inputWidth w1: Int, inputHeight h1: Int, originalWidth w0: Int,
        originalHeight h0: Int
    ) {
        let ratioPad = predictRatioPad(inputWidth: w1, inputHeight: h1, originalWidth: w0, originalHeight: h0)
        toOriginal(&detections, ratioPad: ratioPad, originalWidth: w0, originalHeight: h0)
    }

    /// The gains and pads `scale_boxes` derives from the two shapes when it is given no `ratio_pad` (predict).
    public static func predictRatioPad(
        inputWidth w1: Int, inputHeight h1: Int, originalWidth w0: Int, originalHeight h0: Int
    )
        -> RatioPad
    {
        let gain = min(Double(h1) / Double(h0), Double(w1) / Double(w0))
        let newH = max(Int((Double(h0) * gain).rounded(.toNearestOrEven)), 1)
        let newW = max(Int((Double(w0) * gain).rounded(.toNearestOrEven)), 1)
        let padX = (Double(w1 - newW) / 2 - 0.1).rounded(.toNearestOrEven)
        let padY = (Double(h1 - newH) / 2 - 0.1).rounded(.toNearestOrEven)
        return RatioPad(gainY: Double(newH) / Double(h0), gainX: Double(newW) / Double(w0), padX: padX, padY: padY)
    }

    /// The val path: explicit `ratio_pad` (see `ValGeometry.ratioPad`).
    public static func toOriginal(
        _ detections: inout [Detection], ratioPad: RatioPad, originalWidth w0: Int, originalHeight h0: Int
    ) {
        let padX = Float(ratioPad.padX)
        let padY = Float(ratioPad.padY)
        let gainX = Float(ratioPad.gainX)
        let gainY = Float(ratioPad.gainY)
        let maxX = Float(w0)
        let maxY = Float(h0)
        for i in detections.indices {
            var d = detections[i]
            d.x1 = clip((d.x1 - padX) / gainX, maxX)
            d.y1 = clip((d.y1 - padY) / gainY, maxY)
            d.x2 = clip((d.x2 - padX) / gainX, maxX)
            d.y2 = clip((d.y2 - padY) / gainY, maxY)
            detections[i] = d
        }
    }

    /// `clamp_(0, limit)`; NaN stays NaN as in torch.
    @inline(__always)
    private static func clip(_ v: Float, _ limit: Float) -> Float {
        v < 0 ? 0 : (v > limit ? limit : v)
    }
}
