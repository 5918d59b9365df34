import BasicContainers
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutYOLO
import ServiceLifecycle
import Synchronization

/// Many streams through one detector: each source writes its decoded frames into its own pool of buffers, a
/// dynamic batcher gathers ready frames from any stream, the inference stage runs each batch (on the GPU in the
/// transfer mode of `options`), and the results come out in each stream's frame order.
///
/// A `Service` (swift-service-lifecycle): `run()` runs until every source has ended, or until its task is cancelled
/// or a graceful shutdown is triggered; then the sources stop, every frame already decoded is still detected and
/// delivered (the pipeline drains), and `run()` returns. Read `results` (and `events`) while it runs:
///
/// ```swift
/// let pipeline = try Pipeline(sources: [StreamSource(parsing: "cam.mp4")], detector: detector)
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { try await pipeline.run() }
///     for await result in pipeline.results { print(result.frame, result.detections.count) }
/// }
/// ```
///
/// A pipeline made with `PipelineOptions.servesStreams` starts with any number of sources (none included), takes
/// more with `add(_:)` and lets one go with `remove(stream:)` while it runs, the other streams unaffected; it runs
/// until it is stopped, not when its streams end.
///
/// The threads that block (decoders in FFmpeg, waits on CUDA events, the batcher) are the pipeline's own.
public final class Pipeline: Service, @unchecked Sendable {
    // Everything is set in init; the run state is under `runState`, the streams under `streams`.
    /// The sources the pipeline was made with (streams 0…count-1); `add(_:)` numbers later ones on from there.
    public let sources: [any FrameSource]
    public let options: PipelineOptions
    /// Every frame's detections, each stream in frame order (iterate once).
    public let results: PipelineResults
    /// What happens to the streams, as it happens (iterate once).
    public let events: PipelineEvents
    /// `cpu`, or the transfer mode of the GPU path.
    public var modeName: String { stage.modeName }
    package let stage: any InferenceStage
    package let batcher: DynamicBatcher
    /// How video is decoded when `options.decode` is `auto` or `nvdec`, and why (one line); nil for `cpu`.
    public let decodeNote: String?
    /// Whether video streams decode on NVDEC (each stream NVDEC cannot decode falls back to the CPU, with an event).
    public var decodesOnNVDEC: Bool { hardware != nil }
    private let hardware: HardwareDecoding?
    /// Everything a stream's `FrameSink` needs from the pipeline but its source and index.
    private let sinkSettings: SinkSettings
    private let streams = Mutex(Streams())

    struct Streams {
        /// The running streams (and those that ended whose frames may still be in flight), by index.
        var sinks: [Int: FrameSink] = [:]
        var next = 0
        var started = false
    }

    struct SinkSettings {
        let poolSize: Int
        let liveLimit: Int
        let format: FrameFormat
        let streamsForThreads: Int
    }
    package let metrics: PipelineMetrics?
    private let resultQueue: ResultQueue<FrameResult>
    private let eventQueue: ResultQueue<StreamEvent>
    private let runState = Mutex(RunState())
    private let batchTotals = Mutex(BatchTotals())
    private let completions = BlockingQueue<BatchOutcome>()
    private let createdAt = MonotonicClock.nanoseconds()

    struct RunState {
        var started = false
        var finished = false
        var startedAt: UInt64 = 0
        var cpuAtStart = 0.0
        /// Counts at the start of the measured window (`resetMeasurements`), subtracted in summaries.
        var delivered: [Int: Int] = [:]
        var dropped: [Int: Int] = [:]
        var batches = BatchTotals()
        var summary: PipelineSummary?
        var waiters: [CheckedContinuation<Void, Never>] = []
        var fatal: LookoutError?
        var stopping = false
        /// Frames of the streams a serving pipeline has forgotten.
        var retired = (delivered: 0, dropped: 0)
    }

    package struct BatchTotals {
        package var batches = 0
        package var frames = 0
    }

    /// Prepares the pipeline (nothing runs until `run()`). Fails when the detector's device and the options cannot
    /// run together (a transfer mode on the CPU, a frame format the mode cannot read) or the batch settings do not
    /// fit the model. `metrics` collects Prometheus metrics while it runs.
    public convenience init(
        sources: [any FrameSource], detector: Detector, options: PipelineOptions = PipelineOptions(),
        metrics: PipelineMetrics? = nil
    ) throws(LookoutError) {
        try self.init(sources: sources, detector: detector, options: options, metrics: metrics, stage: nil)
    }

    /// `stage`: the inference stage to run the batches (tests measure the rest of the pipeline with their own);
    /// nil: the detector's.
    init(
        sources: [any FrameSource], detector: Detector, options: PipelineOptions, metrics: PipelineMetrics?,
        stage injected: (any InferenceStage)?
    ) throws(LookoutError) {
        guard !sources.isEmpty || options.servesStreams else {
            throw LookoutError.invalidArgument("sources", "must name at least one source")
        }
        guard options.maxBatch >= 1 else { throw LookoutError.invalidArgument("maxBatch", "must be at least 1") }
        guard options.depth >= 1 else { throw LookoutError.invalidArgument("depth", "must be at least 1") }
        guard options.maxDelayMilliseconds >= 0 else {
            throw LookoutError.invalidArgument("maxDelayMilliseconds", "must not be negative")
        }
        if let n = options.framesPerStream, n < 2 {
            throw LookoutError.invalidArgument("framesPerStream", "must be at least 2")
        }
        if let n = options.liveQueueFrames, n < 1 {
            throw LookoutError.invalidArgument("liveQueueFrames", "must be at least 1")
        }
        try detector.validate(options.detect)
        for case let source as StreamSource in sources where source.videoStride < 1 {
            throw LookoutError.invalidArgument(
                "videoStride", "must be at least 1 (got \(source.videoStride) for \(source.description))")
        }
        let decoding = try HardwareDecoding.resolve(options: options, detector: detector)
        var options = options
        if decoding.nvdec != nil && options.transferMode == nil { options.transferMode = .device }
        let stage: any InferenceStage
        if let injected {
            stage = injected
        } else {
            stage = try InferenceStages.make(detector: detector, options: options)
        }
        hardware = decoding.nvdec.map { HardwareDecoding(nvdec: $0, context: detector.cuda!.context) }
        decodeNote = decoding.note
        var maxBatch = options.maxBatch
        if let limit = stage.maximumBatch, maxBatch > limit {
            // A static export runs its own batch size only.
            maxBatch = limit
        }
        self.sources = sources
        self.options = options
        self.stage = stage
        self.metrics = metrics
        let resultQueue = ResultQueue<FrameResult>(capacity: options.resultBufferSize, blocksWhenFull: true)
        let eventQueue = ResultQueue<StreamEvent>(capacity: 1024, blocksWhenFull: false)
        self.resultQueue = resultQueue
        self.eventQueue = eventQueue
        results = PipelineResults(queue: resultQueue)
        events = PipelineEvents(queue: eventQueue)
        batcher = DynamicBatcher(
            streams: 0, maxBatch: maxBatch, maxDelayMilliseconds: options.maxDelayMilliseconds,
            depth: options.depth, acceptsStreams: options.servesStreams)
        // A serving pipeline sizes its streams for `plannedStreams` (the streams it expects at once).
        let planned = max(1, options.servesStreams ? max(options.plannedStreams, sources.count) : sources.count)
        // Enough waiting frames per live stream to fill a batch across the streams, and no more (latency).
        sinkSettings = SinkSettings(
            poolSize: options.framesPerStream
                ?? Pipeline.defaultPoolSize(streams: planned, batch: maxBatch, depth: options.depth),
            liveLimit: options.liveQueueFrames ?? max(2, (maxBatch + planned - 1) / planned),
            format: stage.frameFormat, streamsForThreads: planned)
        for source in sources { _ = makeStream(source) }
    }

    /// Registers a stream (its frame sink, batcher queue and metrics) under the next index; `started` says whether
    /// the pipeline already runs (then the caller launches it).
    private func makeStream(_ source: any FrameSource) -> (sink: FrameSink, started: Bool) {
        let settings = sinkSettings
        let cores = SystemInfo.activeProcessorCount
        // FFmpeg's own choice of threads for one stream; one each when streams outnumber cores.
        let decoderThreads =
            settings.streamsForThreads >= cores ? 1 : max(1, min(4, cores / settings.streamsForThreads))
        return streams.withLock { registry in
            let index = registry.next
            registry.next += 1
            let sink = FrameSink(
                stream: index, source: source, batcher: batcher, poolSize: settings.poolSize,
                liveQueueLimit: settings.liveLimit, startedAt: createdAt, preferredFormat: settings.format,
                decoderThreads: decoderThreads, hardwareDecoding: hardware, metrics: metrics,
                makePool: { [stage] count, bytes, policy in
                    try stage.makePool(count: count, bufferBytes: bytes, policy: policy)
                },
                keyFor: { [stage] w, h in stage.batchKey(width: w, height: h) },
                onEvent: { [eventQueue, metrics] event in
                    eventQueue.push(event)
                    metrics?.event(event)
                })
            registry.sinks[index] = sink
            batcher.addStream(index)
            metrics?.addStream(index, source: source.description)
            return (sink, registry.started)
        }
    }

    /// The running streams (and ended ones whose frames may still be in flight), in index order.
    package var sinks: [FrameSink] {
        streams.withLock { registry in registry.sinks.keys.sorted().map { registry.sinks[$0]! } }
    }

    private func sink(_ stream: Int) -> FrameSink? { streams.withLock { $0.sinks[stream] } }

    /// The source of `stream`, while the pipeline knows it (nil once a removed stream has left).
    public func source(of stream: Int) -> (any FrameSource)? { sink(stream)?.source }

    // MARK: Streams at run time

    /// Adds a stream to a pipeline made with `servesStreams` and returns its index; it starts at once when the
    /// pipeline runs (or with it). Indices are never reused.
    public func add(_ source: any FrameSource) throws(LookoutError) -> Int {
        guard options.servesStreams else {
            throw LookoutError.invalidArgument("servesStreams", "is off: this pipeline's streams are fixed")
        }
        if let source = source as? StreamSource, source.videoStride < 1 {
            throw LookoutError.invalidArgument(
                "videoStride", "must be at least 1 (got \(source.videoStride) for \(source.description))")
        }
        guard !runState.withLock({ $0.stopping || $0.finished }) else {
            throw LookoutError(.invalidArgument, "the pipeline has stopped", parameter: "source")
        }
        let (sink, started) = makeStream(source)
        if started { launch(sink) }
        return sink.stream
    }

    /// Stops `stream`'s source: its frames already decoded are still detected and delivered, then it ends with an
    /// `ended` event and leaves the pipeline. False when no such stream runs.
    @discardableResult
    public func remove(stream: Int) -> Bool {
        guard let sink = sink(stream) else { return false }
        sink.stop()
        return true
    }

    /// Buffers per stream: enough for each stream's share of the batches in flight plus two being decoded.
    static func defaultPoolSize(streams: Int, batch: Int, depth: Int) -> Int {
        min(64, max(3, (batch * depth + streams - 1) / streams + 2))
    }

    /// The largest batch the pipeline forms.
    public var maxBatch: Int { batcher.maxBatch }

    /// Compiles and tunes, before `run()`, what frames of `width` × `height` will need (on the GPU: the engine's
    /// instance for every batch-size bucket), so that the first batches do not stall the pipeline.
    public func prepare(width: Int, height: Int) throws(LookoutError) {
        do { try stage.prepare(width: width, height: height) } catch {
            throw GPUInferenceStage.lookoutError(error)
        }
    }

    // MARK: Running

    /// Runs the streams until they end (files) or the task is cancelled or shut down gracefully (live streams);
    /// either way every frame already decoded is detected and delivered before it returns. Throws when the engine
    /// failed (the error that stopped the pipeline); a stream that fails alone ends with a `failed` event and the
    /// others go on.
    public func run() async throws {
        start()
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await finished()
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
        if let fatal = runState.withLock({ $0.fatal }) { throw fatal }
    }

    /// Starts the source threads, the inference thread and the results thread (once).
    package func start() {
        let first = runState.withLock { state -> Bool in
            guard !state.started else { return false }
            state.started = true
            state.startedAt = MonotonicClock.nanoseconds()
            state.cpuAtStart = ProcessUsage.cpuSeconds
            return true
        }
        guard first else { return }
        let initial = streams.withLock { registry in
            registry.started = true
            return registry.sinks.keys.sorted().map { registry.sinks[$0]! }
        }
        for sink in initial { launch(sink) }
        PlatformThread.spawn(name: "lookout-infer", stackSize: 4 << 20) { [self] in inferenceLoop() }
        PlatformThread.spawn(name: "lookout-results", stackSize: 4 << 20) { [self] in resultsLoop() }
    }

    /// Runs a stream's source on its own thread; when it returns the stream ends and, once its last frame has been
    /// batched, leaves the pipeline (its counts stay in the summary).
    private func launch(_ sink: FrameSink) {
        PlatformThread.spawn(name: "lookout-src-\(sink.stream)", stackSize: 4 << 20) { [self] in
            do {
                try sink.source.run(into: sink)
            } catch {
                sink.report(.failed(message: "\(error)"))
            }
            sink.batcher.finish(sink.stream)
            if !sink.stats.failed.load(ordering: .relaxed) { sink.report(.ended(frames: sink.framesProduced)) }
            if options.servesStreams { retire(sink) }
        }
    }

    /// A serving pipeline forgets an ended stream (so that a thousand streams added and removed leave nothing):
    /// its figures move into the totals of ended streams, its metrics go.
    private func retire(_ sink: FrameSink) {
        streams.withLock { _ = $0.sinks.removeValue(forKey: sink.stream) }
        let s = sink.stats
        runState.withLock {
            $0.retired.delivered += s.delivered.load(ordering: .relaxed)
            $0.retired.dropped += s.dropped.load(ordering: .relaxed)
        }
        metrics?.removeStream(sink.stream)
    }

    /// Stops the sources; frames already decoded are still detected and delivered, then `run()` returns.
    package func stop() {
        runState.withLock { $0.stopping = true }
        batcher.closeToNewStreams()
        for sink in sinks { sink.stop() }
    }

    /// Returns once every stream has ended and every decoded frame has been delivered.
    package func finished() async {
        await withCheckedContinuation { continuation in
            let done = runState.withLock { state -> Bool in
                if state.finished { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The error that stopped the whole pipeline (the engine failing), if one did.
    public var fatalError: LookoutError? { runState.withLock { $0.fatal } }

    private func inferenceLoop() {
        let hold = options.deliversFrames
        while true {
            guard let batch = batcher.nextBatch() else { break }
            if let metrics {
                let closedAt = batch.closedAt
                for info in batch.infos { metrics.recordQueueWait(Double(closedAt &- info.decodedAt) / 1e6) }
            }
            // The GPU stage queues the batch and completes it on its own thread; the CPU stage runs it here.
            stage.submit(batch, holdFrames: hold) { [self] outcome in
                if case .failure = outcome.result {
                    // The engine failing is fatal: stop the sources and drop what is queued.
                    stop()
                    batcher.abort()
                }
                completions.push(outcome)
            }
        }
        stage.drain()
        completions.close()
    }

    private func resultsLoop() {
        var pending = UniqueArray<BatchOutcome>()
        var next = 0
        while let outcome = completions.pop() {
            pending.append(outcome)
            while let index = (0..<pending.count).first(where: { pending[$0].number == next }) {
                deliver(pending.remove(at: index))
                next += 1
            }
        }
        finish()
    }

    private func deliver(_ outcome: consuming BatchOutcome) {
        let detections: BatchDetections
        switch outcome.result {
        case .success(let d): detections = d
        case .failure(let error):
            runState.withLock { if $0.fatal == nil { $0.fatal = error } }
            for sink in sinks where !sink.stats.failed.load(ordering: .relaxed) {
                sink.report(.failed(message: "inference failed: \(error)"))
            }
            batcher.completed()
            return
        }
        let now = MonotonicClock.nanoseconds()
        let infos = outcome.infos
        var frames = outcome.frames
        batchTotals.withLock {
            $0.batches += 1
            $0.frames += infos.count
        }
        metrics?.recordBatch(detections, frames: infos.count)
        // Held frames (`deliversFrames`) go out with their results; the emptied array goes back to the batcher.
        var pixels: [FramePixels?] = []
        if frames.count == infos.count {
            pixels = Array(repeating: nil, count: infos.count)
            while let frame = frames.popLast() { pixels[frames.count] = FramePixels(frame) }
        }
        for (slot, info) in infos.enumerated() {
            let latency = Double(now &- info.decodedAt) / 1e6
            let result = FrameResult(
                stream: info.stream, frame: info.index, pts: info.pts, name: info.name, width: info.width,
                height: info.height, detections: detections.frames[slot], latencyMilliseconds: latency,
                batchSize: infos.count, pixels: pixels.isEmpty ? nil : pixels[slot])
            if let stats = sink(info.stream)?.stats {
                stats.delivered.add(1, ordering: .relaxed)
                stats.recordLatency(latency)
            }
            metrics?.recordLatency(stream: info.stream, milliseconds: latency)
            resultQueue.push(result)
        }
        batcher.completed(returning: frames)
    }

    private func finish() {
        let summary = self.summary()
        let waiters = runState.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.summary = summary
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        resultQueue.finish()
        eventQueue.finish()
        for w in waiters { w.resume() }
    }

    // MARK: Observing

    /// Starts the measured window now (after a warm-up): summaries then count frames, drops, latency, batches and
    /// CPU time from here.
    public func resetMeasurements() {
        let sinks = self.sinks
        let delivered = Dictionary(
            uniqueKeysWithValues: sinks.map { ($0.stream, $0.stats.delivered.load(ordering: .relaxed)) })
        let dropped = Dictionary(
            uniqueKeysWithValues: sinks.map { ($0.stream, $0.stats.dropped.load(ordering: .relaxed)) })
        for sink in sinks { sink.stats.latency.withLock { $0.all.reset() } }
        let batches = batchTotals.withLock { $0 }
        runState.withLock {
            $0.startedAt = MonotonicClock.nanoseconds()
            $0.cpuAtStart = ProcessUsage.cpuSeconds
            $0.delivered = delivered
            $0.dropped = dropped
            $0.batches = batches
        }
    }

    /// Per-stream and total figures so far (the final ones once `run()` has returned), over the measured window.
    public func summary() -> PipelineSummary {
        if let final = runState.withLock({ $0.summary }) { return final }
        let (startedAt, cpuAtStart, base) = runState.withLock { ($0.startedAt, $0.cpuAtStart, $0) }
        let seconds = max(1e-9, Double(MonotonicClock.nanoseconds() &- startedAt) / 1e9)
        var total = LatencyHistogram()
        var streams: [StreamSummary] = []
        for sink in sinks {
            let s = sink.stats
            let histogram = s.latency.withLock { $0.all }
            total.merge(histogram)
            let delivered = s.delivered.load(ordering: .relaxed) - base.delivered[sink.stream, default: 0]
            let dropped = s.dropped.load(ordering: .relaxed) - base.dropped[sink.stream, default: 0]
            streams.append(
                StreamSummary(
                    stream: sink.stream, source: sink.source.description, decoded: s.decoded.load(ordering: .relaxed),
                    delivered: delivered, dropped: dropped, reconnects: s.reconnects.load(ordering: .relaxed),
                    gaps: s.gaps.load(ordering: .relaxed),
                    gapSeconds: Double(s.gapMilliseconds.load(ordering: .relaxed)) / 1000,
                    decodeErrors: s.decodeErrors.load(ordering: .relaxed), error: sink.error.withLock { $0 },
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

    /// Device memory and GPU busy time (nil on the CPU path).
    public func deviceStatistics() -> DeviceStatistics? { stage.deviceStatistics() }

    /// Frames decoded, delivered and dropped per stream over the whole run (warm-up included).
    package func frameCounts() -> [(decoded: Int, delivered: Int, dropped: Int)] {
        sinks.map {
            (
                $0.stats.decoded.load(ordering: .relaxed), $0.stats.delivered.load(ordering: .relaxed),
                $0.stats.dropped.load(ordering: .relaxed)
            )
        }
    }

    /// What the status line and the metrics show: counters so far, and the latency of the frames delivered since
    /// the previous call (which resets that window).
    package func sample() -> PipelineSample {
        var streams: [PipelineSample.Stream] = []
        let snapshot = batcher.snapshot()
        for sink in sinks {
            let s = sink.stats
            let recent = s.latency.withLock { window -> LatencyHistogram in
                defer { window.recent.reset() }
                return window.recent
            }
            streams.append(
                PipelineSample.Stream(
                    stream: sink.stream, delivered: s.delivered.load(ordering: .relaxed),
                    decoded: s.decoded.load(ordering: .relaxed),
                    dropped: s.dropped.load(ordering: .relaxed), reconnects: s.reconnects.load(ordering: .relaxed),
                    decodeErrors: s.decodeErrors.load(ordering: .relaxed), queued: snapshot.queued[sink.stream] ?? 0,
                    poolFree: sink.poolFree, poolSize: sink.poolSize, recent: recent))
        }
        let totals = batchTotals.withLock { $0 }
        return PipelineSample(
            time: MonotonicClock.nanoseconds(), streams: streams, batchesInFlight: snapshot.inFlight,
            batches: totals.batches, batchedFrames: totals.frames, device: stage.deviceStatistics())
    }
}

/// A point-in-time reading of the pipeline.
package struct PipelineSample: Sendable {
    package struct Stream: Sendable {
        package var stream: Int
        package var delivered: Int
        package var decoded: Int
        package var dropped: Int
        package var reconnects: Int
        package var decodeErrors: Int
        package var queued: Int
        package var poolFree: Int
        package var poolSize: Int
        package var recent: LatencyHistogram
    }
    package var time: UInt64
    package var streams: [Stream]
    package var batchesInFlight: Int
    package var batches: Int
    package var batchedFrames: Int
    package var device: DeviceStatistics?
}
