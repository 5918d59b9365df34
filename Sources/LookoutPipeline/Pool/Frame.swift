import LookoutCUDA
import LookoutMedia

/// What is known about a decoded frame besides its pixels: where it comes from and when it was decoded.
public struct FrameInfo: Sendable {
    /// Index of the stream in the pipeline's source list.
    public var stream: Int
    /// 0-based index of the frame among those the stream decoded (a live stream's dropped frames leave gaps).
    public var index = 0
    /// Presentation time in seconds from the stream's start, when known.
    public var pts: Double?
    /// The frame's own name when it has one (the file of an image-folder stream).
    public var name: String?
    public var width = 0
    public var height = 0
    /// How the pixels lie in the pool buffer, and the bytes from one row to the next.
    public var format = FrameFormat.bgr
    public var rowBytes = 0
    /// Monotonic nanoseconds (`MonotonicClock`) when decoding finished: the start of end-to-end latency.
    public var decodedAt: UInt64 = 0
    /// Frames with equal keys can share a batch (their letterboxed input size).
    package var key = BatchKey(width: 0, height: 0)

    package init(stream: Int) { self.stream = stream }

    /// Bytes the frame occupies from the start of its buffer.
    public var byteCount: Int { format.byteCount(width: width, height: height) }
}

/// The letterboxed input size a frame needs.
package struct BatchKey: Hashable, Sendable {
    package var width: Int
    package var height: Int
    package init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// A decoded frame on its way through the pipeline: its pool buffer's lease and what is known about it. The one
/// owner at each step (source, batcher queue, batch, stage) holds it; the stage that reads the pixels ends the
/// lease, at once (CPU) or behind the GPU's fence (`release(afterWorkOn:)`).
package struct Frame: ~Copyable, Sendable {
    package var info: FrameInfo
    package let lease: FrameLease

    package init(info: FrameInfo, lease: consuming FrameLease) {
        self.info = info
        self.lease = lease
    }

    /// Sets the size and layout of the frame about to be written into the buffer.
    package mutating func reshape(width: Int, height: Int, format: FrameFormat) {
        precondition(format.byteCount(width: width, height: height) <= lease.capacity, "frame larger than its buffer")
        info.width = width
        info.height = height
        info.format = format
        info.rowBytes = format.pitch(width: width)
    }

    /// Sets the size of a frame a decoder has mapped into a device surface, whose rows are `pitch` bytes apart.
    package mutating func reshapeSurface(width: Int, height: Int, pitch: Int) {
        info.width = width
        info.height = height
        info.format = .nv12
        info.rowBytes = pitch
    }

    /// Whether the pixels are in device memory (a hardware decoder's surface): nothing to copy, no host bytes.
    package var isDeviceSurface: Bool { lease.isDeviceSurface }

    /// The buffer, for the source to write the frame into.
    @discardableResult
    package func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E)
        -> R
    {
        try lease.withUnsafeMutableBytes(body)
    }

    /// The frame's bytes (`info.byteCount` of them), lent for the duration of `body`.
    package func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let count = info.byteCount
        return try lease.withUnsafeBytes { (raw) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
        }
    }

    /// The frame's pixels (a BGR frame), lent for the duration of `body`.
    package func withPixels<R, E: Error>(_ body: (BGRPixels) throws(E) -> R) throws(E) -> R {
        precondition(info.format == .bgr, "the frame is \(info.format), not BGR")
        let info = self.info
        return try lease.withUnsafeBytes { (raw) throws(E) -> R in
            try body(
                BGRPixels(
                    base: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), width: info.width, height: info.height,
                    rowBytes: info.rowBytes))
        }
    }

    /// The buffer's address for the GPU when it reads it in place (mapped and managed memory).
    package var devicePointer: DevicePointer? { lease.devicePointer }

    /// Ends the lease behind the GPU work queued on `stream` so far (see `FrameLease.release(afterWorkOn:)`).
    package consuming func release(afterWorkOn stream: CUDAStream) throws(CUDAError) {
        try lease.release(afterWorkOn: stream)
    }
}

/// A delivered frame's pixels, still in their pool buffer: the buffer returns to the stream's pool when this
/// object is released, so keep it no longer than needed (a file's decoder waits for it).
public final class FramePixels: Sendable {
    private let frame: Frame

    package init(_ frame: consuming Frame) {
        self.frame = frame
    }

    public var width: Int { frame.info.width }
    public var height: Int { frame.info.height }

    /// The BGR pixels, lent for the duration of `body`.
    public func withPixels<R, E: Error>(_ body: (BGRPixels) throws(E) -> R) throws(E) -> R {
        try frame.withPixels(body)
    }

    /// A copy of the pixels as an image of its own.
    public func image() -> BGRImage {
        var image = BGRImage()
        frame.withPixels { pixels in
            image.reshape(width: pixels.width, height: pixels.height)
            image.withUnsafeMutableBytes { out in
                for y in 0..<pixels.height {
                    (out.baseAddress! + y * pixels.width * 3).copyMemory(
                        from: pixels.row(y), byteCount: pixels.width * 3)
                }
            }
        }
        return image
    }
}
