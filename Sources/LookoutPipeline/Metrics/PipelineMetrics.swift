import CoreMetrics
import LookoutCore
import LookoutInference
import Prometheus
import Synchronization

/// The pipeline's metrics through swift-metrics, collected in a Prometheus registry of their own (no global
/// bootstrap, so several pipelines and tests can coexist); `text()` is the Prometheus exposition format that
/// `--metrics-port` serves.
///
/// Per stage latency histograms (decode, queue wait, preprocess, inference, postprocess, end to end per stream), frames,
/// drops, reconnects and decode errors per stream, fps, queue depths, pool occupancy, batches in flight, batch
/// size, the process's resident memory, and on the GPU path device memory in use and the compute stream's busy
/// fraction (CUDA event timings over wall time).
public final class PipelineMetrics: @unchecked Sendable {
    // Handles are created in init and are thread-safe themselves; `previous` is only touched by `update`.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let perStream = Mutex<[Int: StreamMetrics]>([:])
    private let decode: CoreMetrics.Timer
    private let queueWait: CoreMetrics.Timer
    private let preprocess: CoreMetrics.Timer
    private let inference: CoreMetrics.Timer
    private let postprocess: CoreMetrics.Timer
    private let batchSize: CoreMetrics.Recorder
    private let inFlight: CoreMetrics.Gauge
    private let resident: CoreMetrics.Gauge
    private let deviceMemory: CoreMetrics.Gauge
    private let gpuBusy: CoreMetrics.Gauge
    private var previous: PipelineSample?

    /// One stream's metrics, labelled `stream` (its index) and `source`.
    struct StreamMetrics {
        let endToEnd: CoreMetrics.Timer
        let frames: CoreMetrics.Counter
        let dropped: CoreMetrics.Counter
        let reconnects: CoreMetrics.Counter
        let decodeErrors: CoreMetrics.Counter
        let failures: CoreMetrics.Counter
        let fps: CoreMetrics.Gauge
        let queueDepth: CoreMetrics.Gauge
        let poolInUse: CoreMetrics.Gauge

        init(stream: Int, source: String, factory: PrometheusMetricsFactory) {
            let labels = [("stream", String(stream)), ("source", source)]
            endToEnd = CoreMetrics.Timer(label: "lookout_end_to_end_latency", dimensions: labels, factory: factory)
            frames = CoreMetrics.Counter(label: "lookout_frames_total", dimensions: labels, factory: factory)
            dropped = CoreMetrics.Counter(label: "lookout_frames_dropped_total", dimensions: labels, factory: factory)
            reconnects = CoreMetrics.Counter(label: "lookout_reconnects_total", dimensions: labels, factory: factory)
            decodeErrors = CoreMetrics.Counter(
                label: "lookout_decode_errors_total", dimensions: labels, factory: factory)
            failures = CoreMetrics.Counter(label: "lookout_stream_errors_total", dimensions: labels, factory: factory)
            fps = CoreMetrics.Gauge(label: "lookout_fps", dimensions: labels, factory: factory)
            queueDepth = CoreMetrics.Gauge(label: "lookout_queue_depth", dimensions: labels, factory: factory)
            poolInUse = CoreMetrics.Gauge(label: "lookout_pool_buffers_in_use", dimensions: labels, factory: factory)
        }

        func destroy() {
            endToEnd.destroy()
            frames.destroy()
            dropped.destroy()
            reconnects.destroy()
            decodeErrors.destroy()
            failures.destroy()
            fps.destroy()
            queueDepth.destroy()
            poolInUse.destroy()
        }
    }

    /// Metrics for a pipeline; its streams register as they are added (the `source` label; `stream` is the index).
    public convenience init() { self.init(sources: []) }

    /// Metrics for streams named by `sources` (streams 0…count-1).
    public init(sources: [String]) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].map {
            .milliseconds($0)
        }
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128]
        self.factory = factory
        func stage(_ name: String) -> CoreMetrics.Timer {
            CoreMetrics.Timer(label: "lookout_stage_latency", dimensions: [("stage", name)], factory: factory)
        }
        decode = stage("decode")
        queueWait = stage("queue")
        preprocess = stage("preprocess")
        inference = stage("inference")
        postprocess = stage("postprocess")
        batchSize = CoreMetrics.Recorder(label: "lookout_batch_size", dimensions: [], aggregate: true, factory: factory)
        inFlight = CoreMetrics.Gauge(label: "lookout_batches_in_flight", dimensions: [], factory: factory)
        resident = CoreMetrics.Gauge(label: "lookout_resident_memory_bytes", dimensions: [], factory: factory)
        deviceMemory = CoreMetrics.Gauge(label: "lookout_device_memory_bytes", dimensions: [], factory: factory)
        gpuBusy = CoreMetrics.Gauge(label: "lookout_gpu_utilisation", dimensions: [], factory: factory)
        for (index, source) in sources.enumerated() { addStream(index, source: source) }
    }

    /// A stream's metrics (the pipeline registers each stream; a second call for an index keeps the first).
    func addStream(_ stream: Int, source: String) {
        perStream.withLock { all in
            if all[stream] == nil { all[stream] = StreamMetrics(stream: stream, source: source, factory: factory) }
        }
    }

    /// A stream that left the pipeline: its series leave the exposition.
    func removeStream(_ stream: Int) {
        perStream.withLock { $0.removeValue(forKey: stream) }?.destroy()
    }

    private func metrics(of stream: Int) -> StreamMetrics? { perStream.withLock { $0[stream] } }

    /// The Prometheus text exposition of every metric.
    public func text() -> String { registry.emitToString() }

    func recordLatency(stream: Int, milliseconds: Double) {
        metrics(of: stream)?.endToEnd.recordNanoseconds(Int64(milliseconds * 1e6))
    }

    func recordDecode(nanoseconds: UInt64) {
        decode.recordNanoseconds(Int64(nanoseconds))
    }

    func recordQueueWait(_ milliseconds: Double) {
        queueWait.recordNanoseconds(Int64(milliseconds * 1e6))
    }

    func recordBatch(_ detections: BatchDetections, frames count: Int) {
        preprocess.recordNanoseconds(Int64(detections.preprocessMilliseconds * 1e6))
        inference.recordNanoseconds(Int64(detections.inferenceMilliseconds * 1e6))
        postprocess.recordNanoseconds(Int64(detections.postprocessMilliseconds * 1e6))
        batchSize.record(count)
    }

    func event(_ event: StreamEvent) {
        switch event.kind {
        case .reconnected: metrics(of: event.stream)?.reconnects.increment()
        case .failed: metrics(of: event.stream)?.failures.increment()
        default: break
        }
    }

    /// Counters and gauges from a sample (called about once a second).
    func update(_ sample: PipelineSample) {
        let seconds = previous.map { Double(sample.time &- $0.time) / 1e9 } ?? 0
        let before = Dictionary((previous?.streams ?? []).map { ($0.stream, $0) }, uniquingKeysWith: { a, _ in a })
        for s in sample.streams {
            guard let m = metrics(of: s.stream) else { continue }
            let before = before[s.stream]
            m.frames.increment(by: s.delivered - (before?.delivered ?? 0))
            m.dropped.increment(by: s.dropped - (before?.dropped ?? 0))
            m.decodeErrors.increment(by: s.decodeErrors - (before?.decodeErrors ?? 0))
            if seconds > 0 { m.fps.record(Double(s.delivered - (before?.delivered ?? 0)) / seconds) }
            m.queueDepth.record(s.queued)
            m.poolInUse.record(s.poolSize - s.poolFree)
        }
        inFlight.record(sample.batchesInFlight)
        resident.record(ProcessUsage.residentBytes)
        if let device = sample.device {
            deviceMemory.record(device.deviceMemoryUsed)
            if seconds > 0, let before = previous?.device {
                gpuBusy.record((device.busyMilliseconds - before.busyMilliseconds) / (seconds * 1000))
            }
        }
        previous = sample
    }
}
