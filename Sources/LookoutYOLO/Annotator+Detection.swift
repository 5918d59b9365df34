import LookoutMedia

extension Annotator {
    /// Draws detections (original-image pixels) labelled `name 0.87`; classes without a name show their index.
    public func draw(_ detections: [Detection], names: [String], on image: inout BGRImage) {
        let boxes = detections.map { d in
            let name = names.indices.contains(d.classIndex) ? names[d.classIndex] : String(d.classIndex)
            return Box(
                x1: d.x1, y1: d.y1, x2: d.x2, y2: d.y2, classIndex: d.classIndex,
                label: Annotator.label(name: name, confidence: d.confidence))
        }
        draw(boxes, on: &image)
    }
}
