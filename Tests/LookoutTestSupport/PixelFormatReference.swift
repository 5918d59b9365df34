import LookoutCUDABackend

/// The pixel-format conversions of the letterbox kernel done on the CPU (NV12, RGB and BGRA to BGR), so that a
/// frame of any format can be letterboxed by LookoutYOLO's `LetterboxTensorWriter` as the reference for the GPU.
package enum PixelFormatReference {
    /// OpenCV's `COLOR_YUV2BGR_NV12` for one pixel (BT.601 limited range, 20-bit fixed point).
    package static func nv12ToBGR(y: Int, u: Int, v: Int) -> (Int, Int, Int) {
        let yy = max(0, y - 16) * 1_220_542
        let half = 1 << 19
        let u = u - 128
        let v = v - 128
        func clamp(_ x: Int) -> Int { min(max(x, 0), 255) }
        return (
            clamp((yy + half + 2_116_026 * u) >> 20), clamp((yy + half - 852_492 * v - 409_993 * u) >> 20),
            clamp((yy + half + 1_673_527 * v) >> 20)
        )
    }

    /// Decodes a packed or NV12 frame to B G R bytes, row-major, 3 per pixel, no row padding.
    package static func decodeToBGR(_ frame: [UInt8], format: PixelFormat, width: Int, height: Int, pitch: Int)
        -> [UInt8]
    {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let o = (y * width + x) * 3
                switch format {
                case .bgr, .bgra:
                    let i = y * pitch + x * format.bytesPerPixel
                    out[o] = frame[i]
                    out[o + 1] = frame[i + 1]
                    out[o + 2] = frame[i + 2]
                case .rgb:
                    let i = y * pitch + x * 3
                    out[o] = frame[i + 2]
                    out[o + 1] = frame[i + 1]
                    out[o + 2] = frame[i]
                case .nv12:
                    let uv = height * pitch + (y / 2) * pitch + (x & ~1)
                    let (b, g, r) = nv12ToBGR(y: Int(frame[y * pitch + x]), u: Int(frame[uv]), v: Int(frame[uv + 1]))
                    out[o] = UInt8(b)
                    out[o + 1] = UInt8(g)
                    out[o + 2] = UInt8(r)
                }
            }
        }
        return out
    }
}
