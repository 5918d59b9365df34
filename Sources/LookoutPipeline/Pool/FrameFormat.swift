import LookoutCUDABackend

/// How a decoded frame's pixels lie in its pool buffer.
public enum FrameFormat: String, Sendable, CaseIterable {
    /// Packed B G R rows, `width × 3` bytes each: what the CPU letterbox (and `--save-video`) reads.
    case bgr
    /// The decoder's YUV 4:2:0 as NV12: `height` rows of Y, then `(height + 1) / 2` rows of interleaved U V, each row
    /// `width` rounded up to even bytes. Half the bytes of BGR and no colour conversion on the CPU; the GPU letterbox
    /// converts (OpenCV's `COLOR_YUV2BGR_NV12`).
    case nv12

    /// Bytes from one row to the next (of the Y plane for NV12).
    public func pitch(width: Int) -> Int {
        switch self {
        case .bgr: return width * 3
        case .nv12: return (width + 1) & ~1
        }
    }

    /// Bytes of a whole frame.
    public func byteCount(width: Int, height: Int) -> Int {
        switch self {
        case .bgr: return width * height * 3
        case .nv12: return pitch(width: width) * (height + (height + 1) / 2)
        }
    }

    /// The GPU letterbox's name for it.
    var pixelFormat: PixelFormat { self == .bgr ? .bgr : .nv12 }
}
