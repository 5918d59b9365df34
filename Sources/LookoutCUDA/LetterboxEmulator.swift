/// A CPU rendition of the letterbox kernel's arithmetic, step for step (same float/double rounding, same fixed
/// point), for tests of the kernel's index maths without a GPU and as the reference for NV12 input.
public enum LetterboxEmulator {
    /// Source index and 11-bit weights for destination index `d` along one axis, as the kernel computes them.
    public struct Tap: Equatable, Sendable {
        public var index: Int
        public var next: Int
        public var w0: Int
        public var w1: Int
    }

    static func coordinate(_ d: Int, scale: Double) -> (Int, Float) {
        let c = Float((Double(d) + 0.5) * scale - 0.5)
        let fl = c.rounded(.down)
        return (Int(fl), c - fl)
    }

    static func weight(_ f: Float) -> Int { Int((f * 2048).rounded(.toNearestOrEven)) }

    /// Horizontal taps: the index and fraction are clamped at both borders.
    public static func columnTap(_ dx: Int, scale: Double, sourceWidth: Int) -> Tap {
        var (sx, fx) = coordinate(dx, scale: scale)
        if sx < 0 { sx = 0; fx = 0 }
        if sx >= sourceWidth - 1 { sx = sourceWidth - 1; fx = 0 }
        return Tap(index: sx, next: min(sx + 1, sourceWidth - 1), w0: weight(1 - fx), w1: weight(fx))
    }

    /// Vertical taps: rows are clamped, the fraction is not.
    public static func rowTap(_ dy: Int, scale: Double, sourceHeight: Int) -> Tap {
        let (sy, fy) = coordinate(dy, scale: scale)
        return Tap(
            index: min(max(sy, 0), sourceHeight - 1), next: min(max(sy + 1, 0), sourceHeight - 1), w0: weight(1 - fy),
            w1: weight(fy))
    }

    /// OpenCV's NV12 → BGR for one pixel.
    public static func nv12ToBGR(y: Int, u: Int, v: Int) -> (Int, Int, Int) {
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

    /// Decodes a packed or NV12 frame to B G R bytes, row-major, 3 per pixel.
    public static func decodeToBGR(_ frame: [UInt8], format: PixelFormat, width: Int, height: Int, pitch: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let o = (y * width + x) * 3
                switch format {
                case .bgr, .bgra:
                    let i = y * pitch + x * format.bytesPerPixel
                    out[o] = frame[i]; out[o + 1] = frame[i + 1]; out[o + 2] = frame[i + 2]
                case .rgb:
                    let i = y * pitch + x * 3
                    out[o] = frame[i + 2]; out[o + 1] = frame[i + 1]; out[o + 2] = frame[i]
                case .nv12:
                    let uv = height * pitch + (y / 2) * pitch + (x & ~1)
                    let (b, g, r) = nv12ToBGR(y: Int(frame[y * pitch + x]), u: Int(frame[uv]), v: Int(frame[uv + 1]))
                    out[o] = UInt8(b); out[o + 1] = UInt8(g); out[o + 2] = UInt8(r)
                }
            }
        }
        return out
    }

    /// The letterboxed uint8 image (HWC, B G R, padded with 114) of a packed BGR image.
    public static func letterboxBGR(_ bgr: [UInt8], width: Int, height: Int, geometry g: GPULetterboxGeometry) -> [UInt8] {
        var out = [UInt8](repeating: 114, count: g.outputWidth * g.outputHeight * 3)
        func s(_ x: Int, _ y: Int, _ k: Int) -> Int { Int(bgr[(y * width + x) * 3 + k]) }
        let columns = (0..<g.resizedWidth).map { columnTap($0, scale: g.scaleX, sourceWidth: width) }
        for dy in 0..<g.resizedHeight {
            let row = rowTap(dy, scale: g.scaleY, sourceHeight: height)
            for dx in 0..<g.resizedWidth {
                let o = ((dy + g.top) * g.outputWidth + dx + g.left) * 3
                for k in 0..<3 {
                    let value: Int
                    switch g.resizeMode {
                    case .copy: value = s(dx, dy, k)
                    case .area2x:
                        value = (s(2 * dx, 2 * dy, k) + s(2 * dx + 1, 2 * dy, k) + s(2 * dx, 2 * dy + 1, k) + s(2 * dx + 1, 2 * dy + 1, k) + 2) >> 2
                    case .bilinear:
                        let c = columns[dx]
                        let d0 = s(c.index, row.index, k) * c.w0 + s(c.next, row.index, k) * c.w1
                        let d1 = s(c.index, row.next, k) * c.w0 + s(c.next, row.next, k) * c.w1
                        value = (((row.w0 * (d0 >> 4)) >> 16) + ((row.w1 * (d1 >> 4)) >> 16) + 2) >> 2
                    }
                    out[o + k] = UInt8(value)
                }
            }
        }
        return out
    }

    /// The float32 NCHW RGB tensor Ultralytics builds from a letterboxed BGR image (`x / 255`).
    public static func tensor(fromLetterboxedBGR image: [UInt8], width: Int, height: Int) -> [Float] {
        var out = [Float](repeating: 0, count: width * height * 3)
        let plane = width * height
        for i in 0..<plane {
            for c in 0..<3 {
                out[c * plane + i] = Float(image[i * 3 + (2 - c)]) / 255
            }
        }
        return out
    }
}
