import LookoutCore
import Prometheus
import Synchronization

/// The inference server's Prometheus metrics under Triton's names (`lookout serve --inference-only --metrics-port`,
/// default 8002, `GET /metrics`), so that dashboards and alerts written for Triton read Lookout unchanged.
///
/// Per model, labelled `model` and `version` ("1"), counted per request as Triton does:
/// `nv_inference_request_success`, `nv_inference_request_failure` (requests), `nv_inference_count` (rows: images,
/// or rows of the raw network's batch), `nv_inference_exec_count` (engine calls; count / exec count is the mean
/// dynamic batch), the cumulative `nv_inference_request_duration_us`, `nv_inference_queue_duration_us`,
/// `nv_inference_compute_input_duration_us`, `nv_inference_compute_infer_duration_us` and
/// `nv_inference_compute_output_duration_us` (answered requests), and the gauge `nv_inference_pending_request_count` (requests queued
/// now). Per scrape: `nv_cpu_utilization` (all cores, 0–1, since the previous scrape), `nv_cpu_memory_total_bytes`
/// and `nv_cpu_memory_used_bytes` (from /proc/stat and /proc/meminfo, as Triton reads them).
package final class InferenceMetrics: Sendable {
    private struct Model {
        let success, failure, inferences, executions: Counter
        let requestDuration, queueDuration, computeInput, computeInfer, computeOutput: Counter
        let pending: Gauge
    }

    let registry = PrometheusCollectorRegistry()
    private let models = Mutex<[String: Model]>([:])
    /// /proc/stat's busy and total jiffies at the previous scrape.
    private let previousCPU = Mutex<(busy: UInt64, total: UInt64)?>(nil)
    private let cpuUtilisation: Gauge
    private let memoryTotal: Gauge
    private let memoryUsed: Gauge

    package init() {
        cpuUtilisation = registry.makeGauge(
            descriptor: Self.name("nv_cpu_utilization", "CPU utilization rate [0.0 - 1.0]"), labels: [])
        memoryTotal = registry.makeGauge(
            descriptor: Self.name("nv_cpu_memory_total_bytes", "CPU total memory (RAM), in bytes"), labels: [])
        memoryUsed = registry.makeGauge(
            descriptor: Self.name("nv_cpu_memory_used_bytes", "CPU used memory (RAM), in bytes"), labels: [])
    }

    /// A metric's whole name (Triton's names carry their unit already) and help line.
    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func model(_ name: String) -> Model {
        models.withLock { models in
            if let model = models[name] { return model }
            let labels = [("model", name), ("version", "1")]
            func counter(_ metric: String, _ help: String) -> Counter {
                registry.makeCounter(descriptor: Self.name(metric, help), labels: labels)
            }
            let cached = "(does not include cached requests)"
            let model = Model(
                success: counter(
                    "nv_inference_request_success", "Number of successful inference requests, all batch sizes"),
                failure: counter(
                    "nv_inference_request_failure", "Number of failed inference requests, all batch sizes"),
                inferences: counter("nv_inference_count", "Number of inferences performed \(cached)"),
                executions: counter("nv_inference_exec_count", "Number of model executions performed \(cached)"),
                requestDuration: counter(
                    "nv_inference_request_duration_us",
                    "Cumulative inference request duration in microseconds (includes cached requests)"),
                queueDuration: counter(
                    "nv_inference_queue_duration_us",
                    "Cumulative inference queuing duration in microseconds (includes cached requests)"),
                computeInput: counter(
                    "nv_inference_compute_input_duration_us",
                    "Cumulative compute input duration in microseconds \(cached)"),
                computeInfer: counter(
                    "nv_inference_compute_infer_duration_us",
                    "Cumulative compute inference duration in microseconds \(cached)"),
                computeOutput: counter(
                    "nv_inference_compute_output_duration_us",
                    "Cumulative inference compute output duration in microseconds \(cached)"),
                pending: registry.makeGauge(
                    descriptor: Self.name(
                        "nv_inference_pending_request_count",
                        "Instantaneous number of pending requests awaiting execution per-model."), labels: labels))
            models[name] = model
            return model
        }
    }

    /// One request of `name`, answered (with its `rows` and `timing`) or refused (nil), from its arrival to its
    /// answer. As in Triton, the durations count the answered ones only.
    func request(_ name: String, nanoseconds: UInt64, rows: Int, timing: RequestTiming?) {
        let model = model(name)
        guard let timing else {
            model.failure.increment()
            return
        }
        model.success.increment()
        model.inferences.increment(by: Int64(rows))
        model.requestDuration.increment(by: Double(nanoseconds) / 1000)
        model.queueDuration.increment(by: Double(timing.queue) / 1000)
        model.computeInput.increment(by: Double(timing.input) / 1000)
        model.computeInfer.increment(by: Double(timing.infer) / 1000)
        model.computeOutput.increment(by: Double(timing.output) / 1000)
    }

    /// One engine call of `name`.
    func execution(_ name: String) {
        model(name).executions.increment()
    }

    /// The exposition text, the pending counts given by `pending` (model name → requests queued now) and the CPU
    /// read now.
    package func text(pending: [String: Int]) -> String {
        for (name, count) in pending { model(name).pending.set(to: Double(count)) }
        // A model no longer loaded has nothing pending.
        for name in models.withLock({ Array($0.keys) }) where pending[name] == nil { model(name).pending.set(to: 0) }
        sampleCPU()
        return registry.emitToString()
    }

    private func sampleCPU() {
        if let stat = FileBytes.readText("/proc/stat"), let line = stat.split(separator: "\n").first,
            line.hasPrefix("cpu ")
        {
            // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
            let jiffies = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
            if jiffies.count == 8 {
                let total = jiffies.reduce(0, +)
                let busy = total - jiffies[3] - jiffies[4]
                let before = previousCPU.withLock { previous in
                    defer { previous = (busy, total) }
                    return previous ?? (0, 0)
                }
                if total > before.total {
                    cpuUtilisation.set(to: Double(busy &- before.busy) / Double(total - before.total))
                }
            }
        }
        if let meminfo = FileBytes.readText("/proc/meminfo") {
            var kilobytes: [Substring: UInt64] = [:]
            for line in meminfo.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let value = UInt64(fields[1]) { kilobytes[fields[0]] = value }
            }
            if let total = kilobytes["MemTotal:"], let available = kilobytes["MemAvailable:"] {
                memoryTotal.set(to: Double(total * 1024))
                memoryUsed.set(to: Double((total - min(available, total)) * 1024))
            }
        }
    }
}
