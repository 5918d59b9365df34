extension BGRImage {
    /// The pixels of columns `x1..<x2` and rows `y1..<y2` (clamped to the image) as a new image: NumPy's
    /// `im[y1:y2, x1:x2]`.
    public func cropped(x1: Int, y1: Int, x2: Int, y2: Int) -> BGRImage {
        let ax = min(max(x1, 0), width)
        let bx = min(max(x2, ax), width)
        let ay = min(max(y1, 0), height)
        let by = min(max(y2, ay), height)
        var out = BGRImage(width: bx - ax, height: by - ay)
        guard bx > ax, by > ay else { return out }
        let rowBytes = (bx - ax) * 3
        withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                for y in ay..<by {
                    (target.baseAddress! + (y - ay) * rowBytes).copyMemory(
                        from: source.baseAddress! + (y * width + ax) * 3, byteCount: rowBytes)
                }
            }
        }
        return out
    }
}
