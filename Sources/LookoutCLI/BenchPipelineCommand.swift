import ArgumentParser
import LookoutBench
import LookoutCUDA
import LookoutCore
import LookoutEvents
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutPipeline

#if canImport(Glibc)
    import Glibc
#endif

struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "N concurrent streams of one video file end to end: fps, latency p50/p99, drops, CPU use.",
        discussion: "The file is looped; unpaced streams lose no frame (back-pressure), paced ones drop when behind.")

    @Option(help: "Concurrent streams; a comma-separated list runs each count in turn.") var streams = "1"
    @Option(help: "The video file every stream plays.") var source: String
    @Option(
        help:
            "Transfer modes of the GPU path, comma-separated or all (pageable, pinned, pinned-raw, mapped, managed); each runs in turn. CPU runs have none."
    )
    var mode: String?
    @Option(
        help:
            "Where video is decoded, comma-separated, each in turn: cpu, nvdec (NVDEC into device memory: transfer mode device) or auto."
    )
    var decode = "cpu"
    @Option(
        name: .customLong("frame-format"),
        help: "Pool frame layout of the GPU-letterbox modes: nv12 (default, half the bytes) or bgr.")
    var frameFormat: String?
    @Option(
        name: .customLong("sample-every"),
        help: "Print (and keep in the JSON) fps, resident and device memory every this many seconds (soak runs).")
    var sampleEvery: Double?
    @Option(
        name: .customLong("allocation-sites"),
        help: ArgumentHelp(
            "Write the call stacks of every 16th heap allocation of the measured window to this file "
                + "(scripts/alloc-sites.py symbolises them).", visibility: .hidden))
    var allocationSites: String?
    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .cpu
    @Option(help: "A batch closes at this many frames…") var batch = 8
    @Option(name: .customLong("max-delay-ms"), help: "…or when its oldest frame has waited this long.") var maxDelayMs =
        10.0
    @Option(help: "Batches in flight.") var depth = 2
    @Option(help: "Input size for dynamic models.") var imgsz: Int?
    @Option(
        name: .customLong("frames-per-stream"),
        help: "Frame-pool buffers per stream (fewer: lower latency of unpaced files).")
    var framesPerStream: Int?
    @Flag(help: "Pace each stream at the file's frame rate (cameras) instead of as fast as possible.") var paced = false
    @Option(help: "Measured seconds per stream count.") var seconds = 10.0
    @Option(help: "Seconds before measuring (engine plans, decoder start-up).") var warmup = 2.0
    @Option(help: "An Ultralytics baseline script (bench/baselines/pipeline_ultralytics.py); its rows join the report.")
    var baseline: String?
    @Option(help: "Python interpreter for the baseline.") var python = "python3"
    @Option(name: .customLong("baseline-model"), help: "The .pt model the baseline loads.") var baselineModel: String?
    @Option(help: "Write the bench JSON here (- for stdout).") var json: String?
    @OptionGroup(title: "Tracking and events") var tracking: TrackingFlags
    @Flag(
        name: .customLong("compare-tracking"),
        help: "Run each configuration without and then with --tracker/--rules/--db and print the fps ratio.")
    var compareTracking = false

    @Flag(
        help:
            "With --paced: find the largest stream count held in real time (no frame dropped, p99 ≤ --max-p99-ms, and at least 97% of the real-time rate delivered: streams × the file's frame rate), from the first --streams count up (doubling, then halving the gap), for each --decode and --mode."
    )
    var search = false
    @Option(name: .customLong("max-p99-ms"), help: "The latency bound of --search.") var maxP99Ms = 100.0
    @Option(name: .customLong("max-streams"), help: "The largest count --search tries.") var maxStreams = 1024

    func run() async throws {
        let counts = streams.split(separator: ",").compactMap { Int($0.trimmedWhitespace) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--streams: positive counts, e.g. 1,8,32")
        }
        let detector: Detector
        do {
            detector = try Detector(
                model: try DetectionModel(path: try model ?? DefaultModel.modelPath()), device: device,
                options: .fromEnvironment())
        } catch { throw Console.fail(error) }
        var options = PipelineOptions()
        options.maxBatch = batch
        options.maxDelayMilliseconds = maxDelayMs
        options.depth = depth
        options.detect.imageSize = imgsz
        options.framesPerStream = framesPerStream
        var modes: [TransferMode?] = [nil]
        if let mode {
            do { modes = try TransferMode.parseList(mode) } catch { throw Console.fail(error) }
        }
        if let frameFormat {
            guard let format = FrameFormat(rawValue: frameFormat) else {
                throw Console.fail("--frame-format must be nv12 or bgr")
            }
            options.frameFormat = format
        }
        var decodes: [VideoDecode] = []
        for part in decode.split(separator: ",") {
            do { decodes.append(try VideoDecode(parsing: part.trimmedWhitespace)) } catch { throw Console.fail(error) }
        }
        if decodes.isEmpty { throw Console.fail("--decode: use cpu, nvdec or auto, or a comma-separated list") }
        var rows: [[(String, JSONValue)]] = []
        let settings: [(String, JSONValue)] = [
            ("source", .string(source)), ("model", .string(detector.model.path)), ("batch", .int(batch)),
            ("max_delay_ms", .double(maxDelayMs)), ("depth", .int(depth)), ("paced", .bool(paced)),
            ("seconds", .double(seconds)),
            ("warmup", .double(warmup)), ("imgsz", imgsz.map { .int($0) } ?? .null),
            ("frames_per_stream", framesPerStream.map { .int($0) } ?? .null), ("ffmpeg", .string(FFmpeg.versions)),
            ("modes", .string(mode ?? "default")), ("decode", .string(decode)),
            ("frame_format", .string(frameFormat ?? "default")),
            ("host", .string(SystemInfo.cpuDescription)), ("tracker", .string(tracking.tracker ?? "none")),
            ("rules", .string(tracking.rules ?? "none")), ("db", .string(tracking.db ?? "none")),
            ("compare_tracking", .bool(compareTracking)),
        ]
        // Written after every row: a run cut short still leaves what it measured.
        func writeReport() throws {
            guard let json else { return }
            let report = BenchReport(
                benchmark: "pipeline", device: detector.deviceLine, driver: SystemInfo.kernelRelease,
                settings: settings,
                rows: rows)
            do { try report.write(to: json) } catch { throw Console.fail(error) }
        }
        var failures = 0
        if search {
            guard paced else { throw Console.fail("--search needs --paced (real time: the count held without drops)") }
            for decoding in decodes {
                for transfer in modes {
                    var bench = PipelineBenchmark(source: source)
                    bench.paced = true
                    bench.seconds = seconds
                    bench.warmup = warmup
                    bench.options = options
                    bench.options.transferMode = transfer
                    bench.options.decode = decoding
                    bench.log = { Console.note($0) }
                    let held = await searchHeldStreams(bench, detector: detector, from: counts[0]) { row in
                        rows.append(row + [("probe", .bool(true))])
                        try? writeReport()
                    }
                    print(
                        "held in real time: \(held) streams (decode \(decoding.rawValue), mode \(transfer?.rawValue ?? "default"); "
                            + "0 dropped, p99 ≤ \(TextFormat.format("%.0f", maxP99Ms)) ms, ≥ 97% of real time)")
                    rows.append([
                        ("system", .string("lookout")), ("decode", .string(decoding.rawValue)),
                        ("mode", .string(transfer?.rawValue ?? "default")), ("held_streams", .int(held)),
                        (
                            "criterion",
                            .string("paced, 0 dropped, p99 <= \(maxP99Ms) ms, fps >= 97% of streams x the file's rate")
                        ),
                    ])
                    try writeReport()
                }
            }
            return
        }
        print("system     mode        streams      fps   p50 ms   p99 ms  dropped   frames  batch  cpu    gpu")
        let trackingOptions = tracking.enabled ? try tracking.options(classNames: detector.model.classNames) : nil
        let configurations: [EventProcessorOptions?] =
            compareTracking ? [nil, trackingOptions ?? EventProcessorOptions()] : [trackingOptions]
        for count in counts {
            for decoding in decodes {
                for transfer in modes {
                    var baselineFPS: Double?
                    for configuration in configurations {
                        var bench = PipelineBenchmark(source: source)
                        bench.tracking = configuration
                        bench.streams = count
                        bench.paced = paced
                        bench.seconds = seconds
                        bench.warmup = warmup
                        bench.options = options
                        bench.options.transferMode = transfer
                        bench.options.decode = decoding
                        bench.sampleEvery = sampleEvery
                        // One file per row when several run: FILE.<decode>-<mode>-<streams>.
                        let runs = decodes.count * modes.count * counts.count
                        bench.allocationSitesPath = allocationSites.map {
                            runs == 1 ? $0 : "\($0).\(decoding.rawValue)-\(transfer?.rawValue ?? "default")-\(count)"
                        }
                        bench.log = { Console.note($0) }
                        let row: PipelineBenchmark.Row
                        do { row = try await bench.run(detector: detector) } catch {
                            // One mode failing does not hide the others' figures.
                            Console.error(
                                "\(transfer?.rawValue ?? "default") (decode \(decoding.rawValue)) at \(count) streams: \(Console.message(error))"
                            )
                            rows.append([
                                ("system", .string("lookout")), ("mode", .string(transfer?.rawValue ?? "default")),
                                ("decode", .string(decoding.rawValue)), ("streams", .int(count)),
                                ("error", .string(Console.message(error))),
                            ])
                            failures += 1
                            try writeReport()
                            continue
                        }
                        if row.lost > 0 || row.outOfOrder > 0 {
                            Console.error("\(row.lost) frames lost, \(row.outOfOrder) out of order at \(count) streams")
                        }
                        print(
                            "lookout    " + row.mode.padded(toLength: 11)
                                + TextFormat.format(
                                    "%8d %8.1f %8.2f %8.2f %8d %8d %6.2f %4.0f%% ", row.streams, row.fps, row.p50,
                                    row.p99, row.dropped, row.frames, row.batchFill, row.cpuUtilisation * 100)
                                + (row.gpuUtilisation.map { TextFormat.format("%5.1f%%", $0 * 100) } ?? "    -"))
                        var fields = row.json
                        if configuration != nil, let base = baselineFPS, base > 0 {
                            let ratio = row.fps / base
                            fields.append(("fps_ratio_vs_without_events", JSONValue.rounded(ratio, digits: 4)))
                            print(
                                "           events on / off: " + TextFormat.format("%.1f%%", ratio * 100)
                                    + " of the fps")
                        }
                        if configuration == nil { baselineFPS = row.fps }
                        fflush(nil)
                        rows.append(fields)
                        try writeReport()
                    }
                }
            }
            if let baseline {
                do {
                    for extra in try runBaseline(script: baseline, streams: count) {
                        rows.append(extra)
                        print(
                            "ultralytics "
                                + extra.map { "\($0.0)=\($0.1.render(pretty: false))" }.joined(separator: " "))
                    }
                } catch {
                    Console.error("baseline \(baseline): \(error)")
                    failures += 1
                }
                fflush(nil)
                try writeReport()
            }
        }
        try writeReport()
        if failures > 0 { throw ExitCode.failure }
    }

    /// The largest stream count whose paced run drops nothing and keeps p99 within `maxP99Ms`: counts double from
    /// `start` until one fails, then the gap between the last held and the first failed count is halved down to 1
    /// (or 5% of the count). Each probe's row goes to `record`; 0 when even `start` (or 1) fails.
    func searchHeldStreams(
        _ template: PipelineBenchmark, detector: Detector, from start: Int,
        record: ([(String, JSONValue)]) -> Void
    ) async -> Int {
        var held = 0
        var failed: Int? = nil
        // A decoder that cannot keep up drops nothing (a paced file waits for its decoder, as a camera's frames
        // would pile up in its socket): it shows as fewer frames than real time delivers.
        let frameRate = (try? VideoDecoder(url: template.source).info.frameRate) ?? 30
        func holds(_ count: Int) async -> Bool {
            var bench = template
            bench.streams = count
            do {
                let row = try await bench.run(detector: detector)
                let realTime = frameRate * Double(count)
                let ok =
                    row.dropped == 0 && row.p99 <= maxP99Ms && row.lost == 0 && row.fps >= 0.97 * realTime
                print(
                    TextFormat.format(
                        "probe %5d streams: %8.1f fps (%5.1f%% of real time)  p99 %8.2f ms  dropped %6d  %@", count,
                        row.fps, row.fps / realTime * 100, row.p99, row.dropped, ok ? "held" : "not held"))
                fflush(nil)
                record(
                    row.json + [
                        ("realtime_fps", JSONValue.rounded(realTime, digits: 1)),
                        ("realtime_fraction", JSONValue.rounded(row.fps / realTime, digits: 3)), ("held", .bool(ok)),
                    ])
                return ok
            } catch {
                Console.error("\(count) streams: \(Console.message(error))")
                record([("streams", .int(count)), ("error", .string(Console.message(error))), ("held", .bool(false))])
                return false
            }
        }
        var count = max(1, start)
        while count <= maxStreams {
            if await holds(count) {
                held = count
                count *= 2
            } else {
                failed = count
                break
            }
        }
        guard var high = failed else { return held }
        var low = held
        while high - low > max(1, low / 20) {
            let middle = (low + high) / 2
            if await holds(middle) { low = middle } else { high = middle }
        }
        return low
    }

    /// Runs the Ultralytics baseline; it prints one JSON object per line, each a row.
    func runBaseline(script: String, streams: Int) throws(LookoutError) -> [[(String, JSONValue)]] {
        var arguments = ["--source", source, "--streams", String(streams), "--seconds", String(seconds)]
        if let baselineModel { arguments += ["--model", baselineModel] }
        return try BaselineScript.rows(
            python: python, script: script, arguments: arguments,
            order: ["system", "mode", "streams", "fps", "p50_ms", "p99_ms", "dropped", "frames"])
    }
}
