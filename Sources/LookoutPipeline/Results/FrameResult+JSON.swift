import LookoutInference

extension FrameResult {
    /// One JSON line: `{"stream":0,"frame":12,"pts":0.4,"width":1920,"height":1080,"detections":[…]}` with the
    /// detection objects of `lookout detect`; `pts` is seconds, or null when the source has none. A frame with a
    /// name (the image file of an image-folder stream) has it as `"source"` after `"frame"`.
    public func jsonLine(names: [String]) -> String {
        let time = pts.map { $0.isFinite ? String(($0 * 1e6).rounded() / 1e6) : "null" } ?? "null"
        let source = name.map { ",\"source\":" + DetectionJSON.string($0) } ?? ""
        return
            "{\"stream\":\(stream),\"frame\":\(frame)\(source),\"pts\":\(time),\"width\":\(width),\"height\":\(height),\"detections\":"
            + DetectionJSON.objects(detections, names: names) + "}"
    }
}
