import LookoutCore
import LookoutTestFixtures
import Testing

@testable import LookoutServer

/// Triton's Prometheus metrics of the inference server (`--metrics-port`): the same counts as the statistics.
@Suite struct InferenceMetricsTests {
    /// `name{labels}` → value of every sample in the exposition text.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test func countsFollowTheStatistics() async throws {
        let repository = try ModelBatcherTests.repository(
            Fixtures.staticModel, settings: ModelBatcherTests.settings(delayMicroseconds: 0))
        let request = try ModelBatcherTests.request([try ModelBatcherTests.sample()])
        var timings: [RequestTiming] = []
        for _ in 0..<3 { timings.append(try await repository.infer("m-detect", request: request).timing) }
        #expect(timings.allSatisfy { $0.input > 0 && $0.infer > 0 })
        // What the routes record around each request (adding the response's writing): two answered (of 1 and 2
        // images), one refused.
        timings[0].output = 2_000
        timings[1].output = 4_000
        repository.record("m-detect", nanoseconds: 3_000, batch: 1, timing: timings[0])
        repository.record("m-detect", nanoseconds: 5_000, batch: 2, timing: timings[1])
        repository.record("m-detect", nanoseconds: 7_000, batch: 1, timing: nil)

        let samples = Self.samples(repository.metricsText())
        let stats = repository.statistics("m-detect")
        func value(_ metric: String, _ model: String = "m-detect") -> Double? {
            samples[metric + #"{model=""# + model + #"",version="1"}"#]
        }
        #expect(value("nv_inference_request_success") == 2)
        #expect(value("nv_inference_request_failure") == 1)
        #expect(value("nv_inference_count") == 3)
        #expect(value("nv_inference_exec_count") == 3 && stats.executionCount == 3)
        // Answered requests only, as Triton counts it: 3 + 5 µs.
        #expect(value("nv_inference_request_duration_us") == 8)
        // Per answered request, the four phases: statistics and metrics alike; the compute counts equal (what
        // perf_analyzer requires of a server).
        let answered = timings.prefix(2)
        for (metric, phase, duration) in [
            ("nv_inference_queue_duration_us", \RequestTiming.queue, stats.queue),
            ("nv_inference_compute_input_duration_us", \RequestTiming.input, stats.computeInput),
            ("nv_inference_compute_infer_duration_us", \RequestTiming.infer, stats.computeInfer),
            ("nv_inference_compute_output_duration_us", \RequestTiming.output, stats.computeOutput),
        ] {
            let nanoseconds = answered.reduce(UInt64(0)) { $0 + $1[keyPath: phase] }
            #expect(duration == ModelStatistics.Duration(count: 2, nanoseconds: nanoseconds), "\(metric)")
            let microseconds = try #require(value(metric), "\(metric)")
            #expect(abs(microseconds - Double(nanoseconds) / 1000) < 1e-3, "\(metric)")
        }
        #expect(stats.computeOutput.nanoseconds == 6_000)
        #expect(value("nv_inference_pending_request_count") == 0)
        // Every loaded model is listed, with nothing counted yet.
        #expect(value("nv_inference_request_success", "m") == 0)
        let total = try #require(samples["nv_cpu_memory_total_bytes"])
        let used = try #require(samples["nv_cpu_memory_used_bytes"])
        let utilisation = try #require(samples["nv_cpu_utilization"])
        #expect(total > 1e8 && used > 0 && used <= total)
        #expect((0...1).contains(utilisation))
    }

    @Test func pendingCountsTheQueuedRequests() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        // A 10-min delay: the request stays queued until the batcher closes.
        let repository = try ModelBatcherTests.repository(
            dynamic, settings: ModelBatcherTests.settings(delayMicroseconds: 600_000_000))
        let request = try ModelBatcherTests.request([try ModelBatcherTests.sample()])
        let queued = Task { try await repository.infer("m-detect", request: request) }
        let batcher = try repository.batcher("m-detect")
        try await ModelBatcherTests.waitUntil { batcher.queued == 1 }
        let pending = #"nv_inference_pending_request_count{model="m-detect",version="1"}"#
        #expect(Self.samples(repository.metricsText())[pending] == 1)
        await repository.drain()
        #expect(try await queued.value.rows == 1)
        #expect(Self.samples(repository.metricsText())[pending] == 0)
    }
}
