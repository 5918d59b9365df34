import Dispatch
import Foundation
import LookoutCUDA
import LookoutPipeline
import LookoutVideo
import Synchronization

/// One stream's side of the pipeline, used by its source thread: the frame pool its decoder writes into, the drop
/// or wait policy, the frame counter, events, and stopping.
final class StreamFeed: @unchecked Sendable {
    // `pool`, `poolBytes` and `nextIndex` are only touched by the stream's source thread.
    let index: Int
    let source: StreamSource
    let batcher: DynamicBatcher
    let stats = StreamStats()
    let framesPerStream: Int
    /// A live source keeps at most this many frames waiting for a batch; a newer frame replaces the oldest.
    let liveQueueLimit: Int
    let startedAt: UInt64
    private let allocate: @Sendable (Int) throws -> HostBuffer
    private let keyFor: @Sendable (Int, Int) -> BatchKey
    private let onEvent = Mutex<(@Sendable (StreamEvent) -> Void)?>(nil)
    private var pool: FramePool<FrameFence>?
    private var poolBytes = 0
    private var nextIndex = 0
    private let stopping = Atomic<Bool>(false)
    private let wake = NSCondition()
    private let interrupt = Mutex<VideoInterrupt?>(nil)
    let error = Mutex<String?>(nil)
    /// Set by the pipeline before the source starts.
    var metrics: PipelineMetrics?
    /// The layout video decoders write (the inference stage's choice); image and synthetic sources write BGR.
    var frameFormat = FrameFormat.bgr

    init(
        index: Int, source: StreamSource, batcher: DynamicBatcher, framesPerStream: Int, liveQueueLimit: Int,
        startedAt: UInt64,
        allocate: @escaping @Sendable (Int) throws -> HostBuffer, keyFor: @escaping @Sendable (Int, Int) -> BatchKey
    ) {
        self.index = index
        self.source = source
        self.batcher = batcher
        self.framesPerStream = max(2, framesPerStream)
        self.liveQueueLimit = max(1, min(liveQueueLimit, self.framesPerStream - 1))
        self.startedAt = startedAt
        self.allocate = allocate
        self.keyFor = keyFor
    }

    func setEventHandler(_ handler: @escaping @Sendable (StreamEvent) -> Void) {
        onEvent.withLock { $0 = handler }
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Asks the source to stop: aborts its blocking I/O and back-off sleeps.
    func stop() {
        stopping.store(true, ordering: .releasing)
        interrupt.withLock { $0?.stop() }
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// The interrupt of the decoder now in use, so that `stop()` can abort its blocking calls.
    func use(_ current: VideoInterrupt?) {
        interrupt.withLock { $0 = current }
        if isStopping { current?.stop() }
    }

    /// Sleeps up to `seconds`; false when woken by `stop()`.
    func sleep(_ seconds: Double) -> Bool {
        let until = Date(timeIntervalSinceNow: seconds)
        wake.lock()
        defer { wake.unlock() }
        while !isStopping && Date() < until { _ = wake.wait(until: until) }
        return !isStopping
    }

    func report(_ kind: StreamEvent.Kind) {
        if case .failed(let message) = kind {
            error.withLock { $0 = message }
            stats.failed.store(true, ordering: .relaxed)
        }
        let time = Double(DispatchTime.now().uptimeNanoseconds - startedAt) / 1e9
        let handler = onEvent.withLock { $0 }
        handler?(StreamEvent(stream: index, source: source.description, kind: kind, time: time))
    }

    /// The index the next decoded frame gets; every decoded frame takes one, dropped or not.
    func takeFrameIndex() -> Int {
        defer { nextIndex += 1 }
        stats.decoded.add(1, ordering: .relaxed)
        return nextIndex
    }

    var framesDecoded: Int { nextIndex }

    /// A pool buffer for a `width`×`height` frame. Files wait for one (back-pressure). A live source that already
    /// has `liveQueueLimit` frames waiting, or finds the pool empty, reuses the buffer of its oldest waiting frame
    /// (dropping that frame: latency stays bounded), or gets nil when every buffer is in a batch (the new frame is
    /// dropped). Drops are counted.
    func acquire(width: Int, height: Int, format: FrameFormat = .bgr) throws -> PooledFrame? {
        let bytes = format.byteCount(width: width, height: height)
        if pool == nil || poolBytes < bytes {
            // First frame, or a live stream that came back larger: a new pool; the old one is freed when its last
            // frame is released.
            pool = try FramePool(
                count: framesPerStream, policy: source.dropsWhenBehind ? .report : .wait,
                makeBuffer: { _ in try allocate(bytes) }, makeFence: { _ in FrameFence() })
            poolBytes = bytes
        }
        let pool = pool!
        if source.dropsWhenBehind {
            if batcher.queued(index) < liveQueueLimit, let lease = try pool.acquire() {
                return wrap(lease, pool: pool, width: width, height: height, format: format)
            }
            stats.dropped.add(1, ordering: .relaxed)
            if let oldest = batcher.takeOldest(index) {
                if oldest.capacity >= bytes {
                    oldest.reshape(width: width, height: height, format: format)
                    return oldest
                }
                oldest.release()
            }
            return nil
        }
        let mayBlock = pool.freeCount == 0
        if mayBlock { batcher.setBlocked(index, true) }
        defer { if mayBlock { batcher.setBlocked(index, false) } }
        guard let lease = try pool.acquire() else { return nil }
        return wrap(lease, pool: pool, width: width, height: height, format: format)
    }

    private func wrap(
        _ lease: consuming FrameLease<FrameFence>, pool: FramePool<FrameFence>, width: Int, height: Int,
        format: FrameFormat
    ) -> PooledFrame {
        let base = lease.withUnsafeMutableBytes { $0.baseAddress! }
        let devicePointer = lease.withBuffer { $0.devicePointer }
        let fence = lease.fence
        fence.arm()
        // In flight from now on: the pool reuses the buffer only once the pipeline signals the fence.
        lease.submit()
        let frame = PooledFrame(
            stream: index, base: base, capacity: pool.bufferBytes, devicePointer: devicePointer, fence: fence,
            pool: pool)
        frame.reshape(width: width, height: height, format: format)
        return frame
    }

    /// Hands a written frame to the batcher.
    func publish(_ frame: PooledFrame, index: Int, pts: Double?) {
        frame.index = index
        frame.pts = pts
        frame.inputKey = keyFor(frame.width, frame.height)
        frame.decodedAt = DispatchTime.now().uptimeNanoseconds
        batcher.enqueue(frame)
    }

    /// Time the decoder spent on one frame (demux, decode, conversion into the pool buffer), for the metrics.
    func recordDecode(nanoseconds: UInt64) {
        metrics?.recordDecode(nanoseconds: nanoseconds)
    }

    /// Buffers of the current pool that are free, for metrics.
    var poolFree: Int { pool?.freeCount ?? framesPerStream }
}
