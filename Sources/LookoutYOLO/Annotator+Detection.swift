import LookoutMedia

extension Annotator {
    /// Draws detections (original-image pixels) labelled `name 0.87` (or what `showsLabels` / `showsConfidence`
    /// leave of it); classes without a name show their index. As Ultralytics' `Results.plot` does, the detections
    /// are drawn in reverse order, so with NMS's descending confidence the highest score ends up on top.
    public func draw(_ detections: [Detection], names: [String], on image: inout BGRImage) {
        let boxes = detections.reversed().map { d in
            let name = names.indices.contains(d.classIndex) ? names[d.classIndex] : String(d.classIndex)
            return Box(
                x1: d.x1, y1: d.y1, x2: d.x2, y2: d.y2, classIndex: d.classIndex,
                label: labelText(name: name, confidence: d.confidence) ?? "")
        }
        draw(boxes, on: &image)
    }
}
