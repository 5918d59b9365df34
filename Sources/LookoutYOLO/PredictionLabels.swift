import LookoutCore

/// The label lines of Ultralytics' `save_txt` (`Results.save_txt`): one line per detection,
/// `class x_center y_center width height [confidence]`, normalised to the original image, each number as `%g`.
///
/// The numbers are computed as Ultralytics does on its CPU tensors: `xyxy2xywh` in float32 (`(x1 + x2) / 2`,
/// `x2 - x1`), then an in-place float32 division by the image width or height (`Boxes.xywhn`); the floats are
/// printed through their double value with `%g` (six significant digits), the confidence too.
public enum PredictionLabels {
    /// One line, without its newline: `2 0.503497 0.401544 0.213786 0.218790` (`+ " 0.873265"` with `confidence`).
    public static func line(_ detection: Detection, imageWidth: Int, imageHeight: Int, confidence: Bool) -> String {
        let w = Float(imageWidth)
        let h = Float(imageHeight)
        let d = detection
        let values = [((d.x1 + d.x2) / 2) / w, ((d.y1 + d.y2) / 2) / h, (d.x2 - d.x1) / w, (d.y2 - d.y1) / h]
        var text = TextFormat.c("%g", Double(d.classIndex))
        for v in values { text += " " + TextFormat.c("%g", Double(v)) }
        if confidence { text += " " + TextFormat.c("%g", Double(d.confidence)) }
        return text
    }

    /// The file's contents: one line per detection, each ending in a newline; empty when there is none (Ultralytics
    /// then writes no file).
    public static func text(_ detections: [Detection], imageWidth: Int, imageHeight: Int, confidence: Bool) -> String {
        var out = ""
        for d in detections {
            out += line(d, imageWidth: imageWidth, imageHeight: imageHeight, confidence: confidence) + "\n"
        }
        return out
    }
}
