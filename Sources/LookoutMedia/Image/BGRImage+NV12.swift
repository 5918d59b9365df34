extension BGRImage {
    /// Sets the image to the BGR pixels of an NV12 picture (`height` rows of Y, then `(height + 1) / 2` rows of
    /// interleaved U, V at half resolution), with OpenCV's `COLOR_YUV2BGR_NV12` (BT.601 limited range, 20-bit fixed
    /// point): the conversion the GPU letterbox applies, so a frame converted here matches what the model saw.
    public mutating func convertNV12(
        luma: UnsafePointer<UInt8>, lumaRowBytes: Int, chroma: UnsafePointer<UInt8>, chromaRowBytes: Int, width: Int,
        height: Int
    ) {
        reshape(width: width, height: height)
        let shift = 20
        let half = 1 << 19
        withUnsafeMutableBytes { out in
            let bgr = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for y in 0..<height {
                let lumaRow = luma + y * lumaRowBytes
                let chromaRow = chroma + (y >> 1) * chromaRowBytes
                let outRow = bgr + y * width * 3
                for x in 0..<width {
                    let yy = max(0, Int(lumaRow[x]) - 16) * 1_220_542
                    let u = Int(chromaRow[x & ~1]) - 128
                    let v = Int(chromaRow[(x & ~1) + 1]) - 128
                    outRow[3 * x] = Self.clamped((yy + half + 2_116_026 * u) >> shift)
                    outRow[3 * x + 1] = Self.clamped((yy + half - 852_492 * v - 409_993 * u) >> shift)
                    outRow[3 * x + 2] = Self.clamped((yy + half + 1_673_527 * v) >> shift)
                }
            }
        }
    }

    @inline(__always)
    private static func clamped(_ value: Int) -> UInt8 { UInt8(min(max(value, 0), 255)) }
}
