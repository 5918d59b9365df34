import Foundation
import LookoutMedia
import LookoutPipeline
import LookoutServer
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct OutputTests {
    @Test func saveVideoWritesEveryAnnotatedFrame() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = Fixtures.options()
        options.deliversFrames = true
        let sources = [StreamSource(kind: .file(Fixtures.video640), maxFrames: 10)]
        let pipeline = try Pipeline(sources: sources, detector: Fixtures.detector, options: options)
        let errors = Mutex<[String]>([])
        let writer = try AnnotatedVideoWriter(
            directory: dir, sources: sources.map(\.description), names: Fixtures.detector.model.classNames
        ) { message in
            errors.withLock { $0.append(message) }
        }
        // The results carry their frames' pixels; each goes back to its pool once written.
        let consumer = Task {
            var withPixels = 0
            for await result in pipeline.results where result.pixels != nil {
                writer.write(result)
                withPixels += 1
            }
            return withPixels
        }
        try await pipeline.run()
        #expect(await consumer.value == 10)
        writer.finish()
        #expect(errors.withLock { $0 }.isEmpty)
        let decoder = try VideoDecoder(url: writer.path(stream: 0))
        var count = 0
        while try decoder.next() != nil { count += 1 }
        #expect(count == 10)
        #expect(decoder.info.width == 640 && decoder.info.height == 384)
    }

    @Test func metricsServeStageHistogramsInPrometheusText() async throws {
        let sources = [StreamSource(kind: .file(Fixtures.video640), maxFrames: 8)]
        let metrics = PipelineMetrics(sources: sources.map(\.description))
        let pipeline = try Pipeline(
            sources: sources, detector: Fixtures.detector, options: Fixtures.options(), metrics: metrics)
        let monitor = PipelineMonitor(pipeline: pipeline, metrics: metrics, interval: 0.1, status: nil)
        let recorder = Recorder(pipeline)
        recorder.start()
        monitor.start()
        try await recorder.finished()
        monitor.tick()
        monitor.stop()

        let port = Mutex<Int?>(nil)
        let server = Task {
            try await MetricsServer(metrics: metrics, host: "127.0.0.1", port: 0) { bound in
                port.withLock { $0 = bound }
            }.run()
        }
        defer { server.cancel() }
        let deadline = Date(timeIntervalSinceNow: 10)
        while port.withLock({ $0 }) == nil && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        let bound = try #require(port.withLock { $0 })
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let text = String(decoding: data, as: UTF8.self)
        for name in [
            "lookout_stage_latency_bucket", "stage=\"inference\"", "stage=\"queue\"", "stage=\"decode\"",
            "lookout_end_to_end_latency_bucket",
            "lookout_frames_total", "lookout_frames_dropped_total", "lookout_queue_depth",
            "lookout_pool_buffers_in_use",
            "lookout_batch_size", "lookout_resident_memory_bytes", "lookout_fps",
        ] {
            #expect(text.contains(name), "\(name) missing")
        }
        #expect(text.contains("lookout_frames_total{stream=\"0\""))
        #expect(text.contains(" 8\n"), "8 frames counted")
    }
}
