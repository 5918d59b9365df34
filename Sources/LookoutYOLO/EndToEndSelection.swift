/// The postprocessing of an end-to-end (NMS-free) head, as Ultralytics applies it to an output of rows
/// `x1, y1, x2, y2, score, class` (utils/nms.py, the `prediction.shape[-1] == 6 or end2end` branch): rows whose
/// score is strictly above `conf`, of the kept `classes` when given, in the model's order (already by descending
/// score), at most `max_det` of them. No NMS: the head was trained one-to-one. IoU and `agnostic` do not apply.
public enum EndToEndSelection {
    /// Values in one output row.
    public static let rowLength = 6

    /// Selects from one image's output: `rows` rows of six floats at `output`. Replaces `detections`' contents;
    /// boxes stay in the model's input pixels.
    public static func run(
        output: UnsafePointer<Float>, rows: Int, options: NMSOptions, into detections: inout [Detection]
    ) {
        detections.removeAll(keepingCapacity: true)
        let threshold = Float(options.confidenceThreshold)
        for r in 0..<rows {
            guard detections.count < options.maxDetections else { break }
            let row = output + r * rowLength
            guard row[4] > threshold else { continue }
            // The class column is a float holding an integer (the graph casts its index).
            let classIndex = Int(exactly: row[5].rounded(.towardZero)) ?? -1
            if let keep = options.classes, !keep.contains(classIndex) { continue }
            detections.append(
                Detection(x1: row[0], y1: row[1], x2: row[2], y2: row[3], confidence: row[4], classIndex: classIndex))
        }
    }
}
