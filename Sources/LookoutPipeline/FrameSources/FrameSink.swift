import LookoutCUDA
import LookoutCore
import LookoutMedia
import Synchronization

/// One stream's entrance to the pipeline, given to its `FrameSource`: frames are written into pooled buffers
/// (`write`), each decoded frame counts (delivered or dropped), and the source learns when to stop.
///
/// A file-like source's `write` waits while the stream's buffers are all in the pipeline (back-pressure: nothing is
/// lost). A live source's never waits: when the stream already has enough frames waiting, or no buffer is free,
/// its oldest waiting frame is dropped and its buffer reused (latency stays bounded; drops are counted).
public final class FrameSink: @unchecked Sendable {
    // `pool`, `poolBytes` and `nextIndex` are only touched by the stream's source thread.
    /// Index of the stream in the pipeline's source list.
    public let stream: Int
    public let source: any FrameSource
    /// The layout video decoders should write (the inference stage's choice); BGR when the source has no choice.
    public let preferredFormat: FrameFormat
    /// Decoder threads a video source should use when it has no setting of its own (from the core and stream counts).
    public let decoderThreads: Int
    /// NVDEC and the engine's context, when the pipeline decodes video on the GPU.
    package let hardwareDecoding: HardwareDecoding?
    let batcher: DynamicBatcher
    let stats = StreamStats()
    let poolSize: Int
    /// A live source keeps at most this many frames waiting for a batch; a newer frame replaces the oldest.
    let liveQueueLimit: Int
    let startedAt: UInt64
    private let makePool: @Sendable (_ count: Int, _ bytes: Int, _ policy: PoolExhaustionPolicy) throws -> FramePool
    private let keyFor: @Sendable (Int, Int) -> BatchKey
    private let onEvent: @Sendable (StreamEvent) -> Void
    private var pool: FramePool?
    private var poolBytes = 0
    private var nextIndex = 0
    private let stopping = Atomic<Bool>(false)
    private let wake = ConditionLock()
    private let interrupt = Mutex<VideoInterrupt?>(nil)
    let error = Mutex<String?>(nil)
    let metrics: PipelineMetrics?

    init(
        stream: Int, source: any FrameSource, batcher: DynamicBatcher, poolSize: Int, liveQueueLimit: Int,
        startedAt: UInt64, preferredFormat: FrameFormat, decoderThreads: Int, hardwareDecoding: HardwareDecoding?,
        metrics: PipelineMetrics?,
        makePool: @escaping @Sendable (Int, Int, PoolExhaustionPolicy) throws -> FramePool,
        keyFor: @escaping @Sendable (Int, Int) -> BatchKey, onEvent: @escaping @Sendable (StreamEvent) -> Void
    ) {
        self.stream = stream
        self.source = source
        self.batcher = batcher
        self.poolSize = max(2, poolSize)
        self.liveQueueLimit = max(1, min(liveQueueLimit, self.poolSize - 1))
        self.startedAt = startedAt
        self.preferredFormat = preferredFormat
        self.decoderThreads = decoderThreads
        self.hardwareDecoding = hardwareDecoding
        self.metrics = metrics
        self.makePool = makePool
        self.keyFor = keyFor
        self.onEvent = onEvent
    }

    /// True once the pipeline is shutting down: the source should return soon.
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Asks the source to stop: aborts its blocking I/O and back-off sleeps.
    func stop() {
        stopping.store(true, ordering: .releasing)
        interrupt.withLock { $0?.stop() }
        wake.withLock { wake.broadcast() }
    }

    /// Sleeps up to `seconds`; false when woken by the pipeline stopping.
    public func sleep(_ seconds: Double) -> Bool {
        let until = MonotonicClock.seconds() + seconds
        wake.withLock {
            while !isStopping && MonotonicClock.seconds() < until { wake.wait(untilMonotonic: until) }
        }
        return !isStopping
    }

    /// Reports something that happened to the stream (the pipeline's `events`, metrics, stderr in the CLI).
    public func report(_ kind: StreamEvent.Kind) {
        if case .failed(let message) = kind {
            error.withLock { $0 = message }
            stats.failed.store(true, ordering: .relaxed)
        }
        let time = Double(MonotonicClock.nanoseconds() &- startedAt) / 1e9
        onEvent(StreamEvent(stream: stream, source: source.description, kind: kind, time: time))
    }

    /// Frames this stream has produced so far (delivered or dropped).
    public var framesProduced: Int { nextIndex }

    /// Writes one frame: a pool buffer for `width` × `height` pixels in `format` is lent to `fill` (with the bytes
    /// from one row to the next), then the frame goes to the batcher. The frame takes the next index whether or not
    /// it is kept: false when a live stream dropped it (no buffer free). A file-like stream waits for a buffer.
    @discardableResult
    public func write(
        width: Int, height: Int, format: FrameFormat = .bgr, pts: Double? = nil, name: String? = nil,
        fill: (_ buffer: UnsafeMutableRawBufferPointer, _ rowBytes: Int) throws -> Void
    ) throws -> Bool {
        let index = takeFrameIndex()
        guard var frame = try acquire(width: width, height: height, format: format) else { return false }
        let rowBytes = frame.info.rowBytes
        try frame.withUnsafeMutableBytes { buffer in try fill(buffer, rowBytes) }
        frame.info.name = name
        publish(frame, index: index, pts: pts)
        return true
    }

    /// Writes a BGR image as the next frame (one copy into the pool buffer).
    @discardableResult
    public func write(_ image: BGRImage, pts: Double? = nil, name: String? = nil) throws -> Bool {
        try write(width: image.width, height: image.height, format: .bgr, pts: pts, name: name) { buffer, rowBytes in
            image.withPixels { pixels in
                for y in 0..<pixels.height {
                    (buffer.baseAddress! + y * rowBytes).copyMemory(from: pixels.row(y), byteCount: pixels.width * 3)
                }
            }
        }
    }

    // MARK: For the built-in sources

    /// The interrupt of the decoder now in use, so that stopping can abort its blocking calls.
    func use(_ current: VideoInterrupt?) {
        interrupt.withLock { $0 = current }
        if isStopping { current?.stop() }
    }

    /// The index the next frame gets; every frame takes one, dropped or not.
    func takeFrameIndex() -> Int {
        defer { nextIndex += 1 }
        stats.decoded.add(1, ordering: .relaxed)
        return nextIndex
    }

    /// A pool buffer for a `width`×`height` frame (see `write`); nil when a live stream drops the frame.
    func acquire(width: Int, height: Int, format: FrameFormat) throws -> Frame? {
        let bytes = format.byteCount(width: width, height: height)
        if pool == nil || poolBytes < bytes {
            // First frame, or a stream that came back larger: a new pool; the old one is freed when its last
            // lease ends.
            pool = try makePool(poolSize, bytes, source.dropsWhenBehind ? .report : .wait)
            poolBytes = bytes
        }
        let pool = pool!
        if source.dropsWhenBehind {
            if batcher.queued(stream) < liveQueueLimit, let lease = try pool.acquire() {
                return made(lease, width: width, height: height, format: format)
            }
            stats.dropped.add(1, ordering: .relaxed)
            if var oldest = batcher.takeOldest(stream), oldest.lease.capacity >= bytes {
                oldest.reshape(width: width, height: height, format: format)
                return oldest
            }
            return nil
        }
        let mayBlock = pool.freeCount == 0
        if mayBlock { batcher.setBlocked(stream, true) }
        defer { if mayBlock { batcher.setBlocked(stream, false) } }
        guard let lease = try pool.acquire() else { return nil }
        return made(lease, width: width, height: height, format: format)
    }

    private func made(_ lease: consuming FrameLease, width: Int, height: Int, format: FrameFormat) -> Frame {
        var frame = Frame(info: FrameInfo(stream: stream), lease: lease)
        frame.reshape(width: width, height: height, format: format)
        return frame
    }

    /// Publishes one frame that a hardware decoder maps into device memory: a slot of `pool` (a surface pool) is
    /// taken as `write` takes a buffer (a file waits, a live stream drops its oldest waiting frame), then `map` maps
    /// the frame and returns its surface and row pitch, and the frame goes to the batcher. `map` returning nil (the
    /// decoder rejected the picture: its error is counted there) publishes nothing and takes no index. False when the
    /// frame was not published.
    func writeSurface(
        pool: FramePool, width: Int, height: Int, pts: Double?,
        map: () throws -> (surface: DevicePointer, pitch: Int)?
    ) throws -> Bool {
        guard let lease = try acquireSurface(pool) else {
            _ = takeFrameIndex()
            return false
        }
        var frame = Frame(info: FrameInfo(stream: stream), lease: lease)
        guard let mapped = try map() else { return false }
        frame.lease.attach(mapped.surface)
        frame.reshapeSurface(width: width, height: height, pitch: mapped.pitch)
        publish(frame, index: takeFrameIndex(), pts: pts)
        return true
    }

    /// A slot of a surface pool; nil when a live stream drops the frame (counted).
    private func acquireSurface(_ pool: FramePool) throws -> FrameLease? {
        if source.dropsWhenBehind {
            if batcher.queued(stream) < liveQueueLimit, let lease = try pool.acquire() { return lease }
            // Behind: the oldest waiting frame gives way (its surface goes back as it is dropped), and this one
            // takes a slot if one is free now.
            var lost = 0
            if let oldest = batcher.takeOldest(stream) {
                _ = consume oldest
                lost += 1
            }
            let lease = try pool.acquire()
            if lease == nil { lost += 1 }
            stats.dropped.add(lost, ordering: .relaxed)
            return lease
        }
        let mayBlock = pool.freeCount == 0
        if mayBlock { batcher.setBlocked(stream, true) }
        defer { if mayBlock { batcher.setBlocked(stream, false) } }
        return try pool.acquire()
    }

    /// Hands a written frame to the batcher.
    func publish(_ frame: consuming Frame, index: Int, pts: Double?) {
        frame.info.index = index
        frame.info.pts = pts
        frame.info.key = keyFor(frame.info.width, frame.info.height)
        frame.info.decodedAt = MonotonicClock.nanoseconds()
        batcher.enqueue(frame)
    }

    /// Time the decoder spent on one frame (demux, decode, conversion into the pool buffer), for the metrics.
    func recordDecode(nanoseconds: UInt64) {
        metrics?.recordDecode(nanoseconds: nanoseconds)
    }

    /// Buffers of the current pool that are free, for metrics.
    var poolFree: Int { pool?.freeCount ?? poolSize }
}
