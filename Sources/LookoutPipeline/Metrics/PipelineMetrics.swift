import CoreMetrics
import LookoutCore
import LookoutInference
import Prometheus

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
    private let endToEnd: [CoreMetrics.Timer]
    private let decode: CoreMetrics.Timer
    private let queueWait: CoreMetrics.Timer
    private let preprocess: CoreMetrics.Timer
    private let inference: CoreMetrics.Timer
    private let postprocess: CoreMetrics.Timer
    private let batchSize: CoreMetrics.Recorder
    private let frames: [CoreMetrics.Counter]
    private let dropped: [CoreMetrics.Counter]
    private let reconnects: [CoreMetrics.Counter]
    private let decodeErrors: [CoreMetrics.Counter]
    private let failures: [CoreMetrics.Counter]
    private let fps: [CoreMetrics.Gauge]
    private let queueDepth: [CoreMetrics.Gauge]
    private let poolInUse: [CoreMetrics.Gauge]
    private let inFlight: CoreMetrics.Gauge
    private let resident: CoreMetrics.Gauge
    private let deviceMemory: CoreMetrics.Gauge
    private let gpuBusy: CoreMetrics.Gauge
    private var previous: PipelineSample?

    /// Metrics for streams named by `sources` (the `source` label; `stream` is the index).
    public init(sources: [String]) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].map {
            .milliseconds($0)
        }
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128]
        let streamLabels = sources.enumerated().map { [("stream", String($0.offset)), ("source", $0.element)] }
        endToEnd = streamLabels.map {
            CoreMetrics.Timer(label: "lookout_end_to_end_latency", dimensions: $0, factory: factory)
        }
        func stage(_ name: String) -> CoreMetrics.Timer {
            CoreMetrics.Timer(label: "lookout_stage_latency", dimensions: [("stage", name)], factory: factory)
        }
        decode = stage("decode")
        queueWait = stage("queue")
        preprocess = stage("preprocess")
        inference = stage("inference")
        postprocess = stage("postprocess")
        batchSize = CoreMetrics.Recorder(label: "lookout_batch_size", dimensions: [], aggregate: true, factory: factory)
        frames = streamLabels.map {
            CoreMetrics.Counter(label: "lookout_frames_total", dimensions: $0, factory: factory)
        }
        dropped = streamLabels.map {
            CoreMetrics.Counter(label: "lookout_frames_dropped_total", dimensions: $0, factory: factory)
        }
        reconnects = streamLabels.map {
            CoreMetrics.Counter(label: "lookout_reconnects_total", dimensions: $0, factory: factory)
        }
        decodeErrors = streamLabels.map {
            CoreMetrics.Counter(label: "lookout_decode_errors_total", dimensions: $0, factory: factory)
        }
        failures = streamLabels.map {
            CoreMetrics.Counter(label: "lookout_stream_errors_total", dimensions: $0, factory: factory)
        }
        fps = streamLabels.map { CoreMetrics.Gauge(label: "lookout_fps", dimensions: $0, factory: factory) }
        queueDepth = streamLabels.map {
            CoreMetrics.Gauge(label: "lookout_queue_depth", dimensions: $0, factory: factory)
        }
        poolInUse = streamLabels.map {
            CoreMetrics.Gauge(label: "lookout_pool_buffers_in_use", dimensions: $0, factory: factory)
        }
        inFlight = CoreMetrics.Gauge(label: "lookout_batches_in_flight", dimensions: [], factory: factory)
        resident = CoreMetrics.Gauge(label: "lookout_resident_memory_bytes", dimensions: [], factory: factory)
        deviceMemory = CoreMetrics.Gauge(label: "lookout_device_memory_bytes", dimensions: [], factory: factory)
        gpuBusy = CoreMetrics.Gauge(label: "lookout_gpu_utilisation", dimensions: [], factory: factory)
    }

    /// The Prometheus text exposition of every metric.
    public func text() -> String { registry.emitToString() }

    func recordLatency(stream: Int, milliseconds: Double) {
        endToEnd[stream].recordNanoseconds(Int64(milliseconds * 1e6))
    }

    func recordDecode(nanoseconds: UInt64) {
        decode.recordNanoseconds(Int64(nanoseconds))
    }

    func recordQueueWait(_ milliseconds: [Double]) {
        for ms in milliseconds { queueWait.recordNanoseconds(Int64(ms * 1e6)) }
    }

    func recordBatch(_ detections: BatchDetections, frames count: Int) {
        preprocess.recordNanoseconds(Int64(detections.preprocessMilliseconds * 1e6))
        inference.recordNanoseconds(Int64(detections.inferenceMilliseconds * 1e6))
        postprocess.recordNanoseconds(Int64(detections.postprocessMilliseconds * 1e6))
        batchSize.record(count)
    }

    func event(_ event: StreamEvent) {
        switch event.kind {
        case .reconnected: reconnects[event.stream].increment()
        case .failed: failures[event.stream].increment()
        default: break
        }
    }

    /// Counters and gauges from a sample (called about once a second).
    func update(_ sample: PipelineSample) {
        let seconds = previous.map { Double(sample.time &- $0.time) / 1e9 } ?? 0
        for (i, s) in sample.streams.enumerated() {
            let before = previous?.streams[i]
            frames[i].increment(by: s.delivered - (before?.delivered ?? 0))
            dropped[i].increment(by: s.dropped - (before?.dropped ?? 0))
            decodeErrors[i].increment(by: s.decodeErrors - (before?.decodeErrors ?? 0))
            if seconds > 0 { fps[i].record(Double(s.delivered - (before?.delivered ?? 0)) / seconds) }
            queueDepth[i].record(s.queued)
            poolInUse[i].record(s.poolSize - s.poolFree)
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
