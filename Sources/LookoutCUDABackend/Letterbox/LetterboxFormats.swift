/// The raw pixel layouts the GPU letterbox reads.
package enum PixelFormat: String, CaseIterable, Sendable {
    /// 3 bytes a pixel, B G R (OpenCV's and Ultralytics' order).
    case bgr
    /// 3 bytes a pixel, R G B.
    case rgb
    /// 4 bytes a pixel, B G R A (alpha ignored).
    case bgra
    /// 8-bit Y plane, then a half-height plane of interleaved U V (BT.601 limited range, OpenCV's conversion).
    case nv12

    package var bytesPerPixel: Int {
        switch self {
        case .bgr, .rgb: return 3
        case .bgra: return 4
        case .nv12: return 1
        }
    }

    /// Bytes of a tightly packed frame (pitch = width × bytes per pixel; NV12 needs an even height).
    package func frameBytes(width: Int, height: Int) -> Int {
        switch self {
        case .nv12: return width * height + width * ((height + 1) / 2)
        default: return width * height * bytesPerPixel
        }
    }

    /// The index of B, G and R among the channels the kernel decodes for this format (NV12 decodes to B G R).
    var decodedOrder: (b: Int32, g: Int32, r: Int32) {
        switch self {
        case .rgb: return (2, 1, 0)
        case .bgr, .bgra, .nv12: return (0, 1, 2)
        }
    }

    var kernelCode: Int {
        switch self {
        case .bgr: return 0
        case .rgb: return 1
        case .bgra: return 2
        case .nv12: return 3
        }
    }
}

/// Element type of the output tensor.
package enum TensorElement: String, CaseIterable, Sendable {
    case float32, float16
    package var byteCount: Int { self == .float32 ? 4 : 2 }
}

/// Memory layout of the output tensor.
package enum TensorMemoryLayout: String, CaseIterable, Sendable {
    case nchw, nhwc
}

/// Channel order of the output tensor (YOLO models take RGB).
package enum ChannelOrder: String, CaseIterable, Sendable {
    case rgb, bgr
}
