import Dispatch
import Foundation
import Lookout
import LookoutMedia
import LookoutYOLO
import Synchronization

/// Many video streams through one detector: sources decode on their own threads into per-stream frame pools, a
/// dynamic batcher gathers ready frames from any stream, the inference stage runs each batch, and the results stage
/// hands every frame's detections out in each stream's frame order.
///
/// Subscribe (`results(for:)`, `results()`, `events()`, `onResult`, `onFrame`, `onEvent`) before `start()`; then
/// await `finished()`. Files end by themselves; `stop()` ends live streams, and every frame already decoded is
/// still detected and delivered (the pipeline drains).
public final class StreamPipeline: @unchecked Sendable {
    // Subscribers are only touched under `hooks` (and frozen by `start()`); the rest is set in init.
    public let sources: [StreamSource]
    public let options: PipelineOptions
    /// `cpu`, or the transfer mode of the GPU path.
    public var modeName: String { stage.modeName }
    let stage: any InferenceStage
    let batcher: DynamicBatcher
    let feeds: [StreamFeed]
    let createdAt = DispatchTime.now().uptimeNanoseconds
    private let hooks = Mutex(Hooks())
    private let run = Mutex(RunState())
    private let batchTotals = Mutex(BatchTotals())
    private let completions = BlockingQueue<(FrameBatch, Result<BatchDetections, any Error>)>()
    let metrics: PipelineMetrics?

    struct Hooks {
        var perStream: [Int: [AsyncStream<FrameResult>.Continuation]] = [:]
        var all: [AsyncStream<FrameResult>.Continuation] = []
        var events: [AsyncStream<StreamEvent>.Continuation] = []
        var onResult: [@Sendable (FrameResult) -> Void] = []
        var onFrame: [@Sendable (FrameResult, BGRPixels) -> Void] = []
        var onEvent: [@Sendable (StreamEvent) -> Void] = []
    }

    struct RunState {
        var started = false
        var startedAt: UInt64 = 0
        var cpuAtStart = 0.0
        /// Counts at the start of the measured window (`resetMeasurements`), subtracted in summaries.
        var delivered: [Int] = []
        var dropped: [Int] = []
        var batches = BatchTotals()
        var summary: PipelineSummary?
        var waiters: [CheckedContinuation<PipelineSummary, Never>] = []
        var fatal: String?
    }

    struct BatchTotals {
        var batches = 0
        var frames = 0
    }

    /// Prepares the pipeline (nothing runs until `start()`). Fails with one line when the detector's device and
    /// the transfer mode cannot run together, or the batch settings do not fit the model.
    public init(
        sources: [StreamSource], detector: Detector, options: PipelineOptions = PipelineOptions(),
        metrics: PipelineMetrics? = nil
    ) throws(StreamError) {
        guard !sources.isEmpty else { throw StreamError("no sources") }
        guard options.maxBatch >= 1 else { throw StreamError("--batch must be at least 1") }
        guard options.depth >= 1 else { throw StreamError("--depth must be at least 1") }
        let stage = try InferenceStages.make(detector: detector, options: options)
        var maxBatch = options.maxBatch
        if let limit = stage.maximumBatch, maxBatch > limit {
            // A static export runs its own batch size only.
            maxBatch = limit
        }
        self.sources = sources
        self.options = options
        self.stage = stage
        self.metrics = metrics
        let batcher = DynamicBatcher(
            streams: sources.count, maxBatch: maxBatch, maxDelayMilliseconds: options.maxDelayMilliseconds,
            depth: options.depth)
        self.batcher = batcher
        let perStream =
            options.framesPerStream
            ?? StreamPipeline.defaultPoolSize(streams: sources.count, batch: maxBatch, depth: options.depth)
        // Enough waiting frames per live stream to fill a batch across the streams, and no more (latency).
        let liveLimit = options.liveQueueFrames ?? max(2, (maxBatch + sources.count - 1) / sources.count)
        var feeds: [StreamFeed] = []
        let start = createdAt
        for (index, source) in sources.enumerated() {
            feeds.append(
                StreamFeed(
                    index: index, source: source, batcher: batcher, framesPerStream: perStream,
                    liveQueueLimit: liveLimit,
                    startedAt: start,
                    allocate: { [stage] bytes in try stage.makeFrameBuffer(byteCount: bytes) },
                    keyFor: { [stage] w, h in stage.batchKey(width: w, height: h) }))
        }
        self.feeds = feeds
        for feed in feeds {
            feed.setEventHandler { [weak self] event in self?.emit(event) }
            feed.metrics = metrics
            feed.frameFormat = stage.frameFormat
        }
    }

    /// Buffers per stream: enough for each stream's share of the batches in flight plus two being decoded.
    static func defaultPoolSize(streams: Int, batch: Int, depth: Int) -> Int {
        min(64, max(3, (batch * depth + streams - 1) / streams + 2))
    }

    /// The largest batch the pipeline forms.
    public var maxBatch: Int { batcher.maxBatch }

    // MARK: Subscribing

    /// The results of stream `stream`, in frame order; finishes when the stream's last frame has been delivered.
    public func results(for stream: Int) -> AsyncStream<FrameResult> {
        let (sequence, continuation) = AsyncStream.makeStream(of: FrameResult.self)
        hooks.withLock { $0.perStream[stream, default: []].append(continuation) }
        return sequence
    }

    /// The results of every stream, each stream in frame order.
    public func results() -> AsyncStream<FrameResult> {
        let (sequence, continuation) = AsyncStream.makeStream(of: FrameResult.self)
        hooks.withLock { $0.all.append(continuation) }
        return sequence
    }

    public func events() -> AsyncStream<StreamEvent> {
        let (sequence, continuation) = AsyncStream.makeStream(of: StreamEvent.self)
        hooks.withLock { $0.events.append(continuation) }
        return sequence
    }

    /// Calls `body` with each result on the results thread (keep it quick: it holds up delivery).
    public func onResult(_ body: @escaping @Sendable (FrameResult) -> Void) {
        hooks.withLock { $0.onResult.append(body) }
    }

    /// Calls `body` with each result and its frame's pixels, which are valid only during the call. Needs
    /// `options.holdFramesUntilDelivered`.
    public func onFrame(_ body: @escaping @Sendable (FrameResult, BGRPixels) -> Void) {
        precondition(options.holdFramesUntilDelivered, "onFrame needs options.holdFramesUntilDelivered")
        hooks.withLock { $0.onFrame.append(body) }
    }

    public func onEvent(_ body: @escaping @Sendable (StreamEvent) -> Void) {
        hooks.withLock { $0.onEvent.append(body) }
    }

    func emit(_ event: StreamEvent) {
        let (continuations, callbacks) = hooks.withLock { ($0.events, $0.onEvent) }
        for c in continuations { c.yield(event) }
        for body in callbacks { body(event) }
        metrics?.event(event)
    }

    // MARK: Running

    /// Starts the source threads, the inference thread and the results thread.
    public func start() {
        let first = run.withLock { state -> Bool in
            guard !state.started else { return false }
            state.started = true
            state.startedAt = DispatchTime.now().uptimeNanoseconds
            state.cpuAtStart = ProcessUsage.cpuSeconds
            return true
        }
        guard first else { return }
        let threads = decoderThreads
        for feed in feeds {
            let source = feed.source
            let reconnect = options.reconnect
            let transport = options.rtspTransport
            startThread(name: "lookout-source-\(feed.index)") {
                switch source.kind {
                case .file(let path), .live(let path):
                    VideoFrameSource(url: path, decoderThreads: threads, reconnect: reconnect, rtspTransport: transport)
                        .run(feed)
                case .images(let folder):
                    ImageFolderSource(folder: folder).run(feed)
                case .synthetic(let w, let h, let fps, let frames):
                    SyntheticSource(width: w, height: h, fps: fps, frames: frames).run(feed)
                }
                feed.batcher.finish(feed.index)
                if !feed.stats.failed.load(ordering: .relaxed) { feed.report(.ended(frames: feed.framesDecoded)) }
            }
        }
        startThread(name: "lookout-inference") { [self] in inferenceLoop() }
        startThread(name: "lookout-results") { [self] in resultsLoop() }
    }

    /// Decoder threads per stream: FFmpeg's own choice for one stream, one each when streams outnumber cores.
    var decoderThreads: Int {
        if let n = options.decoderThreads { return n }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return sources.count >= cores ? 1 : max(1, min(4, cores / sources.count))
    }

    /// Stops the sources; frames already decoded are still detected and delivered. `finished()` then returns.
    public func stop() {
        for feed in feeds { feed.stop() }
    }

    /// Waits until every stream has ended and every decoded frame has been delivered.
    public func finished() async -> PipelineSummary {
        await withCheckedContinuation { continuation in
            let done = run.withLock { state -> PipelineSummary? in
                if let summary = state.summary { return summary }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// `finished()` for threads outside Swift concurrency (blocks the caller).
    public func waitUntilFinished() -> PipelineSummary {
        let semaphore = DispatchSemaphore(value: 0)
        let box = Mutex<PipelineSummary?>(nil)
        Task {
            let summary = await finished()
            box.withLock { $0 = summary }
            semaphore.signal()
        }
        semaphore.wait()
        return box.withLock { $0! }
    }

    /// The error that stopped the whole pipeline (the engine failing), if one did.
    public var fatalError: String? { run.withLock { $0.fatal } }

    private func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }

    private func inferenceLoop() {
        let hold = options.holdFramesUntilDelivered
        while let batch = batcher.nextBatch() {
            let queuedAt = batch.closedAt
            metrics?.recordQueueWait(batch.frames.map { Double(queuedAt &- $0.decodedAt) / 1e6 })
            // The GPU stage queues the batch and completes it on its own thread; the CPU stage runs it here.
            stage.submit(batch, holdFrames: hold) { [self] outcome in
                if case .failure = outcome {
                    // The engine failing is fatal: stop the sources and release what is queued.
                    stop()
                    batcher.abort()
                }
                completions.push((batch, outcome))
            }
        }
        stage.drain()
        completions.close()
    }

    /// Device memory and GPU busy time (nil on the CPU path).
    public func deviceStatistics() -> DeviceStatistics? { stage.deviceStatistics() }

    /// Compiles and tunes, before `start()`, what frames of `width` × `height` will need (on the GPU: the engine's
    /// instance for every batch-size bucket), so that the first batches do not stall the pipeline.
    public func prepare(width: Int, height: Int) throws {
        try stage.prepare(width: width, height: height)
    }

    private func resultsLoop() {
        var pending: [Int: (FrameBatch, Result<BatchDetections, any Error>)] = [:]
        var next = 0
        while let item = completions.pop() {
            pending[item.0.number] = item
            while let (batch, outcome) = pending.removeValue(forKey: next) {
                deliver(batch, outcome)
                next += 1
            }
        }
        finish()
    }

    private func deliver(_ batch: FrameBatch, _ outcome: Result<BatchDetections, any Error>) {
        defer {
            for frame in batch.frames { frame.release() }
            batcher.completed()
        }
        let detections: BatchDetections
        switch outcome {
        case .success(let d): detections = d
        case .failure(let error):
            let message = "\(error)"
            run.withLock { if $0.fatal == nil { $0.fatal = message } }
            for feed in feeds where !feed.stats.failed.load(ordering: .relaxed) {
                feed.report(.failed(message: "inference failed: \(message)"))
            }
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        batchTotals.withLock {
            $0.batches += 1
            $0.frames += batch.frames.count
        }
        metrics?.recordBatch(detections, frames: batch.frames.count)
        let hooks = self.hooks.withLock { $0 }
        for (slot, frame) in batch.frames.enumerated() {
            let latency = Double(now &- frame.decodedAt) / 1e6
            let result = FrameResult(
                stream: frame.stream, frame: frame.index, pts: frame.pts, width: frame.width, height: frame.height,
                detections: detections.frames[slot], latencyMilliseconds: latency, batchSize: batch.frames.count)
            let stats = feeds[frame.stream].stats
            stats.delivered.add(1, ordering: .relaxed)
            stats.recordLatency(latency)
            metrics?.recordLatency(stream: frame.stream, milliseconds: latency)
            if !hooks.onFrame.isEmpty {
                frame.withPixels { pixels in
                    for body in hooks.onFrame { body(result, pixels) }
                }
            }
            frame.release()
            for body in hooks.onResult { body(result) }
            for c in hooks.perStream[frame.stream] ?? [] { c.yield(result) }
            for c in hooks.all { c.yield(result) }
        }
    }

    private func finish() {
        let hooks = self.hooks.withLock { $0 }
        for list in hooks.perStream.values { for c in list { c.finish() } }
        for c in hooks.all { c.finish() }
        for c in hooks.events { c.finish() }
        let summary = self.summary()
        let waiters = run.withLock { state -> [CheckedContinuation<PipelineSummary, Never>] in
            state.summary = summary
            defer { state.waiters = [] }
            return state.waiters
        }
        for w in waiters { w.resume(returning: summary) }
    }

    // MARK: Observing

    /// Starts the measured window now (after a warm-up): summaries then count frames, drops, latency, batches and
    /// CPU time from here.
    public func resetMeasurements() {
        let delivered = feeds.map { $0.stats.delivered.load(ordering: .relaxed) }
        let dropped = feeds.map { $0.stats.dropped.load(ordering: .relaxed) }
        for feed in feeds { feed.stats.latency.withLock { $0.all.reset() } }
        let batches = batchTotals.withLock { $0 }
        run.withLock {
            $0.startedAt = DispatchTime.now().uptimeNanoseconds
            $0.cpuAtStart = ProcessUsage.cpuSeconds
            $0.delivered = delivered
            $0.dropped = dropped
            $0.batches = batches
        }
    }

    /// Per-stream and total figures so far (the final ones once finished), over the measured window.
    public func summary() -> PipelineSummary {
        let (startedAt, cpuAtStart, base) = run.withLock { ($0.startedAt, $0.cpuAtStart, $0) }
        let seconds = max(1e-9, Double(DispatchTime.now().uptimeNanoseconds &- startedAt) / 1e9)
        var total = LatencyHistogram()
        var streams: [StreamSummary] = []
        for feed in feeds {
            let s = feed.stats
            let histogram = s.latency.withLock { $0.all }
            total.merge(histogram)
            let delivered =
                s.delivered.load(ordering: .relaxed) - (base.delivered.isEmpty ? 0 : base.delivered[feed.index])
            let dropped = s.dropped.load(ordering: .relaxed) - (base.dropped.isEmpty ? 0 : base.dropped[feed.index])
            streams.append(
                StreamSummary(
                    stream: feed.index, source: feed.source.description, decoded: s.decoded.load(ordering: .relaxed),
                    delivered: delivered, dropped: dropped,
                    reconnects: s.reconnects.load(ordering: .relaxed), gaps: s.gaps.load(ordering: .relaxed),
                    gapSeconds: Double(s.gapMilliseconds.load(ordering: .relaxed)) / 1000,
                    decodeErrors: s.decodeErrors.load(ordering: .relaxed), error: feed.error.withLock { $0 },
                    p50Milliseconds: histogram.percentile(50), p99Milliseconds: histogram.percentile(99),
                    fps: Double(delivered) / seconds))
        }
        var totals = batchTotals.withLock { $0 }
        totals.batches -= base.batches.batches
        totals.frames -= base.batches.frames
        let frames = streams.reduce(0) { $0 + $1.delivered }
        return PipelineSummary(
            streams: streams, seconds: seconds, frames: frames, dropped: streams.reduce(0) { $0 + $1.dropped },
            fps: Double(frames) / seconds, p50Milliseconds: total.percentile(50), p99Milliseconds: total.percentile(99),
            batchFill: totals.batches > 0 ? Double(totals.frames) / Double(totals.batches) : 0, batches: totals.batches,
            cpuUtilisation: (ProcessUsage.cpuSeconds - cpuAtStart) / seconds)
    }

    /// What the status line and the metrics show: counters so far, and the latency of the frames delivered since
    /// the previous call (which resets that window).
    func sample() -> PipelineSample {
        var streams: [PipelineSample.Stream] = []
        let snapshot = batcher.snapshot()
        for feed in feeds {
            let s = feed.stats
            let recent = s.latency.withLock { window -> LatencyHistogram in
                defer { window.recent.reset() }
                return window.recent
            }
            streams.append(
                PipelineSample.Stream(
                    delivered: s.delivered.load(ordering: .relaxed), decoded: s.decoded.load(ordering: .relaxed),
                    dropped: s.dropped.load(ordering: .relaxed), reconnects: s.reconnects.load(ordering: .relaxed),
                    decodeErrors: s.decodeErrors.load(ordering: .relaxed), queued: snapshot.queued[feed.index],
                    poolFree: feed.poolFree, poolSize: feed.framesPerStream, recent: recent))
        }
        let totals = batchTotals.withLock { $0 }
        return PipelineSample(
            time: DispatchTime.now().uptimeNanoseconds, streams: streams, batchesInFlight: snapshot.inFlight,
            batches: totals.batches, batchedFrames: totals.frames, device: stage.deviceStatistics())
    }
}

/// A point-in-time reading of the pipeline.
struct PipelineSample: Sendable {
    struct Stream: Sendable {
        var delivered: Int
        var decoded: Int
        var dropped: Int
        var reconnects: Int
        var decodeErrors: Int
        var queued: Int
        var poolFree: Int
        var poolSize: Int
        var recent: LatencyHistogram
    }
    var time: UInt64
    var streams: [Stream]
    var batchesInFlight: Int
    var batches: Int
    var batchedFrames: Int
    var device: DeviceStatistics?
}
