import LookoutCUDA
import LookoutCore
import LookoutEvents
import LookoutInference
import LookoutMedia
import LookoutPipeline
import Synchronization

/// `lookout bench pipeline`: N concurrent streams of one file (looped; paced at its frame rate or unpaced) through a
/// pipeline, measured after a warm-up: total fps, end-to-end latency p50/p99 (decoded → result), drops, frames,
/// whether every stream's results stayed in order, CPU utilisation.
package struct PipelineBenchmark: Sendable {
    package var source: String
    package var streams = 1
    package var paced = false
    package var seconds = 10.0
    package var warmup = 2.0
    package var options = PipelineOptions()
    /// Take a memory and throughput sample this often during the measured window (soak runs); nil: none.
    package var sampleEvery: Double?
    /// Called with each sample's line (stderr in the CLI).
    package var log: (@Sendable (String) -> Void)?
    /// Tracking, rules and the store beside the pipeline (`--tracker`, `--rules`, `--db`): results are then read
    /// after the `EventProcessor`, as `lookout track` reads them.
    package var tracking: EventProcessorOptions?
    /// Record the call stacks of every 16th allocation of the measured window and write them here
    /// (`AllocationSites`); nil: none.
    package var allocationSitesPath: String?

    package init(source: String) {
        self.source = source
    }

    /// One row of the shared bench JSON.
    package struct Row: Sendable {
        package var mode: String
        /// Where the video was decoded: `cpu` or `nvdec`.
        package var decode = "cpu"
        /// NVML's decoder utilisation at the end of the measured window (percent; nil without NVDEC or NVML).
        package var nvdecUtilisation: Int?
        /// Device memory the pipeline added (whole device, after the measured window less before the pipeline was
        /// made), per stream.
        package var deviceMemoryPerStream: Int?
        /// Host allocations over the measured window per delivered frame: Lookout's (every thread but the NVIDIA
        /// libraries' calls) and the NVIDIA libraries'; nil when the counting allocator is not linked in.
        package var allocations: AllocationReport?
        /// CUDA allocations (device, pinned, mapped, managed) Lookout made over the window.
        package var cudaAllocations = 0
        package var streams: Int
        package var fps: Double
        package var p50: Double
        package var p99: Double
        package var dropped: Int
        package var frames: Int
        package var batchFill: Double
        package var cpuUtilisation: Double
        /// Frames decoded but neither delivered nor dropped (must be 0: the pipeline drains).
        package var lost: Int
        /// Results that came out of frame order (must be 0).
        package var outOfOrder: Int
        package var seconds: Double
        /// The frame layout in the pool (`bgr`, `nv12`).
        package var frameFormat = "bgr"
        /// Compute-stream busy time over wall time (CUDA events), and the engine's share of it; nil on the CPU.
        package var gpuUtilisation: Double?
        package var engineUtilisation: Double?
        /// Bytes copied host → device per delivered frame.
        package var uploadedBytesPerFrame: Double?
        /// Resident memory and device memory in use (whole device) at the start and the end of the measured window.
        package var residentStart = 0
        package var residentEnd = 0
        package var deviceMemoryStart: Int?
        package var deviceMemoryEnd: Int?
        /// Samples over the window: seconds since it started, fps since the previous sample, RSS, device memory.
        package var samples: [(seconds: Double, fps: Double, resident: Int, device: Int?)] = []

        static func megabytes(_ bytes: Int?) -> JSONValue {
            bytes.map { JSONValue.rounded(Double($0) / 1_048_576, digits: 1) } ?? .null
        }

        static func growth(_ start: Int?, _ end: Int?) -> JSONValue {
            guard let start, let end, start > 0 else { return .null }
            return JSONValue.rounded(Double(end - start) / Double(start) * 100, digits: 3)
        }

        package var json: [(String, JSONValue)] {
            var fields: [(String, JSONValue)] = [
                ("system", .string("lookout")), ("mode", .string(mode)), ("decode", .string(decode)),
                ("streams", .int(streams)),
                ("fps", JSONValue.rounded(fps, digits: 1)), ("p50_ms", JSONValue.rounded(p50, digits: 2)),
                ("p99_ms", JSONValue.rounded(p99, digits: 2)), ("dropped", .int(dropped)), ("frames", .int(frames)),
                ("batch_fill", JSONValue.rounded(batchFill, digits: 2)),
                ("cpu_utilisation", JSONValue.rounded(cpuUtilisation, digits: 2)),
                // Host cores busy (the process's CPU time over wall time) and that per delivered frame.
                ("cpu_cores_used", JSONValue.rounded(cpuUtilisation, digits: 2)),
                ("cpu_ms_per_frame", JSONValue.rounded(cpuUtilisation * 1000 / max(fps, 1e-9), digits: 3)),
                ("nvdec_utilisation", nvdecUtilisation.map { .int($0) } ?? .null),
                ("device_memory_mb_per_stream", Row.megabytes(deviceMemoryPerStream)),
                (
                    "host_allocations_per_frame",
                    allocations.map { JSONValue.rounded($0.perFrame($0.ours), digits: 3) } ?? .null
                ),
                (
                    "driver_allocations_per_frame",
                    allocations.map { JSONValue.rounded($0.perFrame($0.driver), digits: 3) } ?? .null
                ),
                ("cuda_allocations", .int(cudaAllocations)),
                ("gpu_utilisation", gpuUtilisation.map { JSONValue.rounded($0, digits: 3) } ?? .null),
                ("engine_utilisation", engineUtilisation.map { JSONValue.rounded($0, digits: 3) } ?? .null),
                ("frame_format", .string(frameFormat)),
                ("uploaded_bytes_per_frame", uploadedBytesPerFrame.map { JSONValue.rounded($0, digits: 0) } ?? .null),
                // What crosses from the host per frame: the pixels copied (0 for NVDEC's frames, whose compressed
                // packets are read by the driver).
                ("host_bytes_per_frame", uploadedBytesPerFrame.map { JSONValue.rounded($0, digits: 0) } ?? .null),
                ("lost", .int(lost)), ("out_of_order", .int(outOfOrder)),
                ("seconds", JSONValue.rounded(seconds, digits: 2)),
                ("rss_mb_start", Row.megabytes(residentStart)), ("rss_mb_end", Row.megabytes(residentEnd)),
                ("rss_growth_pct", Row.growth(residentStart, residentEnd)),
                ("device_memory_mb_start", Row.megabytes(deviceMemoryStart)),
                ("device_memory_mb_end", Row.megabytes(deviceMemoryEnd)),
                ("device_memory_growth_pct", Row.growth(deviceMemoryStart, deviceMemoryEnd)),
            ]
            if !samples.isEmpty {
                fields.append(
                    (
                        "samples",
                        .array(
                            samples.map { sample in
                                .object([
                                    ("t", JSONValue.rounded(sample.seconds, digits: 1)),
                                    ("fps", JSONValue.rounded(sample.fps, digits: 1)),
                                    ("rss_mb", Row.megabytes(sample.resident)),
                                    ("device_memory_mb", Row.megabytes(sample.device)),
                                ])
                            })
                    ))
            }
            return fields
        }
    }

    /// Runs the streams for `warmup + seconds`, then stops them and lets the pipeline drain.
    package func run(detector: Detector) async throws(LookoutError) -> Row {
        guard Paths.exists(self.source) else { throw LookoutError(.notFound, "\(self.source): no such file") }
        let source = StreamSource(kind: .file(self.source), loop: true, paced: paced)
        var options = self.options
        // As `lookout track`: with rules, results carry their frames so that new events get snapshots.
        if tracking?.rules != nil { options.deliversFrames = true }
        let memoryBefore = try? detector.cuda?.context.memoryInfo()
        let pipeline = try Pipeline(
            sources: Array(repeating: source, count: streams), detector: detector, options: options)
        if let note = pipeline.decodeNote { log?(note) }
        do {
            let info = try VideoDecoder(url: self.source).info
            try pipeline.prepare(width: info.width, height: info.height)
        } catch {
            throw LookoutError(.streamFailure, "\(self.source): \(error)", cause: error)
        }
        let streams = self.streams
        var processor: EventProcessor?
        if let tracking {
            processor = try EventProcessor(pipeline: pipeline, classNames: detector.model.classNames, options: tracking)
        }
        let tracked = processor
        let processing = Task { try await tracked?.run() }
        // Every result is read (the pipeline waits for its reader), checking each stream's order. The reader runs on
        // a thread of its own (`ReaderExecutor`): on the default executor each of its wake-ups would cost two heap
        // allocations in libdispatch, counted in `host_allocations_per_frame`.
        let readerExecutor = ReaderExecutor(name: "lookout-bench-reader")
        defer { readerExecutor.shutdown() }
        let reader = Task(executorPreference: readerExecutor) { () -> Int in
            var last = [Int](repeating: -1, count: streams)
            var violations = 0
            if let tracked {
                for await result in tracked.results {
                    if result.frame <= last[result.stream] { violations += 1 }
                    last[result.stream] = result.frame
                }
                return violations
            }
            for await result in pipeline.results {
                if result.frame <= last[result.stream] { violations += 1 }
                last[result.stream] = result.frame
            }
            return violations
        }
        let failures = Task { () -> [String] in
            var failures: [String] = []
            for await event in pipeline.events where event.isError { failures.append(event.description) }
            return failures
        }
        let running = Task { try await pipeline.run() }
        try? await Task.sleep(nanoseconds: UInt64(warmup * 1e9))
        pipeline.resetMeasurements()
        // The NVIDIA libraries loaded by now (driver, NVRTC, cuDNN, NVDEC) count as theirs, not Lookout's.
        AllocationCount.attributeNVIDIALibraries()
        let allocationsStart = AllocationCount.now()
        if allocationSitesPath != nil { AllocationSites.record(every: 16) }
        let cudaStart = Measurement.cudaAllocations()
        let deviceStart = pipeline.deviceStatistics()
        let residentStart = ProcessUsage.residentBytes
        var samples: [(seconds: Double, fps: Double, resident: Int, device: Int?)] = []
        if let every = sampleEvery, every > 0 {
            var elapsed = 0.0
            var frames = 0
            while elapsed < seconds {
                let step = min(every, seconds - elapsed)
                try? await Task.sleep(nanoseconds: UInt64(step * 1e9))
                elapsed += step
                let now = pipeline.summary()
                let sample = (
                    seconds: elapsed, fps: Double(now.frames - frames) / step, resident: ProcessUsage.residentBytes,
                    device: pipeline.deviceStatistics()?.deviceMemoryUsed
                )
                frames = now.frames
                samples.append(sample)
                log?(
                    TextFormat.format(
                        "  %6.0f s  %8.1f fps  rss %8.1f MB  device ", warmup + sample.seconds, sample.fps,
                        Double(sample.resident) / 1_048_576)
                        + (sample.device.map { TextFormat.format("%.1f MB", Double($0) / 1_048_576) } ?? "-"))
            }
        } else {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        }
        let measured = pipeline.summary()
        let allocationsEnd = AllocationCount.now()
        if let allocationSitesPath {
            let stacks = AllocationSites.write(to: allocationSitesPath)
            log?("allocation sites: \(stacks) stacks → \(allocationSitesPath)")
        }
        let cudaAllocations = Measurement.cudaAllocations() - cudaStart
        let deviceEnd = pipeline.deviceStatistics()
        var nvdecUtilisation: Int?
        if pipeline.decodesOnNVDEC, case .success(let nvml) = NVML.load(),
            let ordinal = detector.cuda?.context.device.ordinal
        {
            nvdecUtilisation = try? nvml.utilisation(device: ordinal).decoder
        }
        let residentEnd = ProcessUsage.residentBytes
        pipeline.stop()
        let outcome = await running.result
        let violations = await reader.value
        if case .failure(let error) = await processing.result {
            throw (error as? LookoutError) ?? LookoutError(.inferenceFailure, "\(error)")
        }
        if let first = await failures.value.first { throw LookoutError(.streamFailure, first) }
        if case .failure(let error) = outcome {
            throw (error as? LookoutError) ?? LookoutError(.inferenceFailure, "\(error)")
        }
        // Over the whole run (warm-up included): every decoded frame was delivered or, paced, dropped.
        let wholeRunLost = pipeline.frameCounts().reduce(0) { $0 + $1.decoded - $1.dropped - $1.delivered }
        var row = Row(
            mode: pipeline.modeName + (tracking != nil ? "+events" : ""), streams: streams, fps: measured.fps,
            p50: measured.p50Milliseconds,
            p99: measured.p99Milliseconds, dropped: measured.dropped, frames: measured.frames,
            batchFill: measured.batchFill,
            cpuUtilisation: measured.cpuUtilisation, lost: wholeRunLost, outOfOrder: violations,
            seconds: measured.seconds)
        row.frameFormat = pipeline.stage.frameFormat.rawValue
        row.decode = pipeline.decodesOnNVDEC ? "nvdec" : "cpu"
        if let allocationsStart, let allocationsEnd {
            row.allocations = allocationsStart.report(until: allocationsEnd, frames: measured.frames)
        }
        row.cudaAllocations = cudaAllocations
        row.nvdecUtilisation = nvdecUtilisation
        if let memoryBefore, let deviceEnd {
            row.deviceMemoryPerStream =
                (deviceEnd.deviceMemoryUsed - (memoryBefore.total - memoryBefore.free)) / max(1, streams)
        }
        row.residentStart = residentStart
        row.residentEnd = residentEnd
        row.samples = samples
        if let deviceStart, let deviceEnd {
            let wall = measured.seconds * 1000
            row.gpuUtilisation = (deviceEnd.busyMilliseconds - deviceStart.busyMilliseconds) / wall
            row.engineUtilisation = (deviceEnd.engineMilliseconds - deviceStart.engineMilliseconds) / wall
            row.uploadedBytesPerFrame =
                Double(deviceEnd.uploadedBytes - deviceStart.uploadedBytes) / Double(max(1, measured.frames))
            row.deviceMemoryStart = deviceStart.deviceMemoryUsed
            row.deviceMemoryEnd = deviceEnd.deviceMemoryUsed
        }
        return row
    }
}
