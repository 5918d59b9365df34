import LookoutCUDA
import LookoutMedia
import LookoutPipeline

/// A decoded frame in a frame-pool buffer, on its way through the pipeline.
///
/// The pool hands the buffer out as a lease, which the source submits at once with the frame's fence armed: the
/// pool then reuses the buffer only after `release()` signals the fence. Until then the buffer's address stays
/// valid and nobody else writes it, which is what lets the frame travel between threads as an address (the
/// pool is kept alive by the reference held here).
final class PooledFrame: @unchecked Sendable {
    // Written by the source before `publish`, then only read; the batcher's lock orders the hand-over.
    let stream: Int
    var index = 0
    var pts: Double?
    var width = 0
    var height = 0
    /// Letterboxed input size: frames with equal keys can share a batch.
    var inputKey = BatchKey(width: 0, height: 0)
    /// `DispatchTime` uptime nanoseconds when decoding finished (the start of end-to-end latency).
    var decodedAt: UInt64 = 0
    /// How the pixels lie in the buffer, and the bytes from one row to the next.
    private(set) var format = FrameFormat.bgr
    private(set) var rowBytes = 0
    let capacity: Int
    private let base: UnsafeMutableRawPointer
    /// The buffer's device address when the GPU can read it in place (mapped and managed memory).
    let devicePointer: DevicePointer?
    private let fence: FrameFence
    private let pool: AnyObject
    private(set) var released = false

    init(
        stream: Int, base: UnsafeMutableRawPointer, capacity: Int, devicePointer: DevicePointer?, fence: FrameFence,
        pool: AnyObject
    ) {
        self.stream = stream
        self.base = base
        self.devicePointer = devicePointer
        self.capacity = capacity
        self.fence = fence
        self.pool = pool
    }

    /// Sets the size and layout of the frame about to be written.
    func reshape(width: Int, height: Int, format: FrameFormat = .bgr) {
        precondition(format.byteCount(width: width, height: height) <= capacity, "frame larger than its buffer")
        self.width = width
        self.height = height
        self.format = format
        self.rowBytes = format.pitch(width: width)
    }

    /// Bytes the frame occupies from the start of its buffer.
    var byteCount: Int { format.byteCount(width: width, height: height) }

    /// The start of the frame's bytes, for copies the GPU makes (valid until `release()`).
    var address: UnsafeMutableRawPointer {
        precondition(!released, "reading a released frame")
        return base
    }

    /// The buffer for the source to write `height` rows of `rowBytes` into.
    func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        precondition(!released, "writing a released frame")
        return try body(UnsafeMutableRawBufferPointer(start: base, count: capacity))
    }

    /// The frame's pixels, lent for the duration of `body`.
    func withPixels<R>(_ body: (BGRPixels) throws -> R) rethrows -> R {
        precondition(!released, "reading a released frame")
        precondition(format == .bgr, "the frame is \(format), not BGR")
        return try body(
            BGRPixels(
                base: UnsafePointer(base.assumingMemoryBound(to: UInt8.self)), width: width, height: height,
                rowBytes: rowBytes))
    }

    /// Returns the buffer to its pool (once; later calls do nothing).
    func release() {
        guard !released else { return }
        released = true
        fence.signal()
    }
}

/// The letterboxed input size a frame needs.
struct BatchKey: Hashable, Sendable {
    var width: Int
    var height: Int
}
