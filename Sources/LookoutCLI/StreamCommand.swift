import ArgumentParser
import Logging
import LookoutCUDA
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutPipeline
import LookoutServer
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Detect objects in video files, live streams, image folders or synthetic frames, many at once.",
        discussion: """
            SOURCE is a video file (anything FFmpeg reads), a live URL (rtsp://, rtsps://, rtmp://, http(s)://, udp://, \
            srt://), a folder of images, or synthetic:WxH[@FPS][:FRAMES]. Files are read as fast as detection goes and \
            lose no frame; live streams drop their oldest frame when behind and reconnect after errors or stalls. \
            Ctrl-C stops the sources, finishes the frames already decoded and prints a summary (twice: quit at once).
            """)

    @Argument(help: "Video files, URLs, image folders or synthetic:WxH[@FPS][:FRAMES].") var sources: [String]
    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .auto
    @Option(parsing: .unconditional, help: "A batch closes at this many frames…") var batch = 8
    @Option(
        name: .customLong("max-delay-ms"), parsing: .unconditional,
        help: "…or when its oldest frame has waited this long.")
    var maxDelayMs = 10.0
    @Option(
        help:
            "Transfer mode of the GPU path: pageable, pinned, pinned-raw, mapped, managed, device (NVDEC frames; CPU runs have none)."
    )
    var mode: String?
    @Option(
        help:
            "Where video is decoded: cpu (FFmpeg), nvdec (the GPU's decoders, straight into device memory) or auto (NVDEC when the GPU and codec allow)."
    )
    var decode = "cpu"
    @Option(parsing: .unconditional, help: "Batches in flight (overlap depth).") var depth = 2
    @Option(
        name: .customLong("frame-format"),
        help: "Pool frame layout of the GPU-letterbox modes: nv12 (default, half the bytes) or bgr.")
    var frameFormat: String?
    @Option(help: "Write one JSON line per frame to PATH, or - for standard output.") var json: String?
    @Option(
        name: .customLong("save-video"),
        help: "Write each stream, annotated, as DIR/stream-N-NAME.mp4; --save-txt and --save-crop write there too.")
    var saveVideo: String?
    @Option(
        name: .customLong("metrics-port"), parsing: .unconditional,
        help: "Serve Prometheus metrics on http://HOST:N/metrics (a port in use fails the run).")
    var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "Address the metrics server binds.") var metricsHost = "127.0.0.1"
    @OptionGroup var thresholds: ThresholdOptions
    @OptionGroup var predict: PredictOptions
    @Flag(help: "Replay files from the start when they end.") var loop = false
    @Flag(help: "Pace files at their frame rate, like a camera (then they drop when behind).") var paced = false
    @Option(name: .customLong("max-frames"), parsing: .unconditional, help: "Stop each stream after N frames.")
    var maxFrames: Int?
    @Option(name: .customLong("frames-per-stream"), parsing: .unconditional, help: "Frame-pool buffers per stream.")
    var framesPerStream: Int?
    @Option(
        name: .customLong("live-queue"), parsing: .unconditional,
        help: "Frames a live stream keeps waiting before dropping its oldest.")
    var liveQueue: Int?
    @Option(name: .customLong("rtsp-transport"), help: "tcp or udp (default: FFmpeg's choice).") var rtspTransport:
        String?
    @Option(
        name: .customLong("stall-timeout"), parsing: .unconditional,
        help: "Seconds without a frame before a live stream reconnects.")
    var stallTimeout = 5.0
    @Option(
        name: .customLong("reconnect-max-delay"), parsing: .unconditional,
        help: "Longest back-off between reconnect attempts, seconds.")
    var reconnectMaxDelay = 1.0
    @Option(
        name: .customLong("reconnect-attempts"), parsing: .unconditional,
        help: "Failed attempts in a row before a live stream gives up (default: never).")
    var reconnectAttempts: Int?
    @Option(
        name: .customLong("decoder-threads"), parsing: .unconditional, help: "FFmpeg decoder threads per stream.")
    var decoderThreads: Int?
    @OptionGroup(title: "Tracking and events") var tracking: TrackingFlags

    func validate() throws {
        guard batch >= 1 else { throw Console.fail("--batch must be at least 1") }
        guard maxDelayMs >= 0 else { throw Console.fail("--max-delay-ms must not be negative") }
        guard depth >= 1 else { throw Console.fail("--depth must be at least 1") }
        if let rtspTransport, RTSPTransport(rawValue: rtspTransport) == nil {
            throw Console.fail("--rtsp-transport must be tcp or udp")
        }
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw Console.fail("--metrics-port must be between 0 and 65535 (got \(metricsPort))")
        }
    }

    func run() async throws {
        let terminal = TerminalOutput(statusEnabled: StandardStreams.errorIsTerminal)
        var parsed: [StreamSource] = []
        for text in sources {
            do {
                var source = try StreamSource(parsing: text)
                source.loop = loop
                source.paced = paced
                source.maxFrames = maxFrames
                source.videoStride = predict.vidStride
                source.rtspTransport = rtspTransport.flatMap(RTSPTransport.init(rawValue:))
                source.decoderThreads = decoderThreads
                source.reconnect.stallTimeout = stallTimeout
                source.reconnect.maxDelay = reconnectMaxDelay
                source.reconnect.maxAttempts = reconnectAttempts
                parsed.append(source)
            } catch { throw Console.fail(error) }
        }
        var options = PipelineOptions()
        options.maxBatch = batch
        options.maxDelayMilliseconds = maxDelayMs
        options.depth = depth
        options.framesPerStream = framesPerStream
        options.liveQueueFrames = liveQueue
        options.deliversFrames = saveVideo != nil || predict.saveCrop
        if let mode {
            do { options.transferMode = try TransferMode.parseList(mode).first } catch { throw Console.fail(error) }
        }
        do { options.decode = try VideoDecode(parsing: decode) } catch { throw Console.fail(error) }
        if let frameFormat {
            guard let format = FrameFormat(rawValue: frameFormat) else {
                throw Console.fail("--frame-format must be nv12 or bgr")
            }
            options.frameFormat = format
        }

        let detector: Detector
        do {
            detector = try Detector(
                model: try DetectionModel(path: try model ?? DefaultModel.modelPath()), device: device,
                options: .fromEnvironment())
        } catch { throw Console.fail(error) }
        if device == .auto { terminal.note(detector.deviceLine) }
        thresholds.noteImageSize(detector)
        options.detect = try predict.apply(to: thresholds.detectOptions(), detector: detector)
        if tracking.enabled {
            // Tracking, rules and the event store beside the pipeline (lookout track's path).
            try await TrackRun(
                sources: parsed, options: options, detector: detector, tracking: tracking, json: json,
                saveVideo: saveVideo
            ).run()
            return
        }

        if let metricsPort, metricsPort != 0, let problem = PortProbe.problem(host: metricsHost, port: metricsPort) {
            throw Console.fail(
                "--metrics-port \(metricsPort): cannot listen on \(metricsHost):\(metricsPort) (\(problem))")
        }
        let metrics = metricsPort != nil ? PipelineMetrics(sources: parsed.map(\.description)) : nil
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(sources: parsed, detector: detector, options: options, metrics: metrics)
        } catch { throw Console.fail(error) }
        if let note = pipeline.decodeNote { Console.note(note) }
        let names = detector.model.classNames
        var writer: LineWriter?
        if let json {
            do { writer = try LineWriter(path: json) } catch { throw Console.fail(error) }
        }
        var video: AnnotatedVideoWriter?
        if let saveVideo {
            do {
                video = try AnnotatedVideoWriter(
                    directory: saveVideo, sources: parsed.map(\.description), names: names,
                    annotator: predict.annotator
                ) {
                    terminal.note("error: \($0)")
                }
            } catch { throw Console.fail(error) }
        }
        var saver: PredictionSaver?
        let saveOptions = predict.saveOptions(annotated: false)
        if saveOptions.writesFiles {
            do {
                saver = try PredictionSaver(
                    directory: PredictOptions.runFolder(saveVideo), options: saveOptions, names: names)
            } catch { throw Console.fail(error) }
        }
        // The one reader of the results: JSON lines, annotated video, label files and crops, in each stream's frame
        // order.
        let lines = writer
        let sink = video
        let files = saver
        let descriptions = parsed.map(\.description)
        let saveFailed = Atomic<Bool>(false)
        let reader = Task {
            for await result in pipeline.results {
                lines?.write(result.jsonLine(names: names))
                sink?.write(result)
                guard let files else { continue }
                do {
                    if let name = result.name {
                        // An image-folder stream: each frame is its own image file.
                        try files.save(
                            detections: result.detections, width: result.width, height: result.height,
                            image: result.pixels?.image(), source: name)
                    } else {
                        try files.save(
                            detections: result.detections, width: result.width, height: result.height,
                            image: result.pixels?.image(), source: descriptions[result.stream], frame: result.frame + 1,
                            videoKey: "stream-\(result.stream)")
                    }
                } catch {
                    if !saveFailed.exchange(true, ordering: .relaxed) {
                        terminal.note("error: \(Console.message(error))")
                    }
                }
            }
        }
        let reporter = Task {
            for await event in pipeline.events { terminal.note(event.description) }
        }

        var services = [
            ServiceGroupConfiguration.ServiceConfiguration(
                service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let metrics, let metricsPort {
            let host = metricsHost
            // A port that is taken fails the run.
            services.append(
                .init(
                    service: MetricsServer(metrics: metrics, host: host, port: metricsPort) { port in
                        terminal.note("metrics: http://\(host):\(port)/metrics")
                    }, successTerminationBehavior: .ignore, failureTerminationBehavior: .cancelGroup))
        }
        let quiet = Logger(label: "lookout") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm], cancellationSignals: [], logger: quiet))
        let failure = await runWithInterrupts(group, pipeline: pipeline, metrics: metrics, terminal: terminal)
        await reader.value
        await reporter.value
        video?.finish()
        if let saver {
            do { try saver.finish() } catch { saveFailed.store(true, ordering: .relaxed) }
            terminal.note("results saved to \(saver.directory)")
        }
        terminal.clearStatus()
        let summary = pipeline.summary()
        StandardStreams.error(summary.text + "\n")
        if let fatal = pipeline.fatalError { throw Console.fail(fatal) }
        if let failure { throw Console.fail(failure) }
        if summary.streams.contains(where: { $0.error != nil }) || saveFailed.load(ordering: .relaxed) {
            throw ExitCode.failure
        }
    }
}
