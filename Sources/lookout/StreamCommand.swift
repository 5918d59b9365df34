import ArgumentParser
import Dispatch
import Foundation
import Lookout
import LookoutCUDA
import LookoutModel
import LookoutPipeline
import LookoutStream
import LookoutVideo

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
    @Option(help: "A batch closes at this many frames…") var batch = 8
    @Option(name: .customLong("max-delay-ms"), help: "…or when its oldest frame has waited this long.") var maxDelayMs =
        10.0
    @Option(help: "Transfer mode of the GPU path: pageable, pinned, pinned-raw, mapped, managed (CPU runs have none).")
    var mode: String?
    @Option(help: "Batches in flight (overlap depth).") var depth = 2
    @Option(
        name: .customLong("frame-format"),
        help: "Pool frame layout of the GPU-letterbox modes: nv12 (default, half the bytes) or bgr.")
    var frameFormat: String?
    @Option(help: "Write one JSON line per frame to PATH, or - for standard output.") var json: String?
    @Option(name: .customLong("save-video"), help: "Write each stream, annotated, as DIR/stream-N-NAME.mp4.")
    var saveVideo: String?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on http://HOST:N/metrics.")
    var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "Address the metrics server binds.") var metricsHost = "127.0.0.1"
    @Option(help: "NMS confidence threshold.") var conf = 0.25
    @Option(help: "NMS IoU threshold.") var iou = 0.7
    @Option(name: .customLong("max-det"), help: "Maximum detections per frame.") var maxDet = 300
    @Option(help: "Input size for dynamic models.") var imgsz: Int?
    @Flag(help: "Replay files from the start when they end.") var loop = false
    @Flag(help: "Pace files at their frame rate, like a camera (then they drop when behind).") var paced = false
    @Option(name: .customLong("max-frames"), help: "Stop each stream after N frames.") var maxFrames: Int?
    @Option(name: .customLong("frames-per-stream"), help: "Frame-pool buffers per stream.") var framesPerStream: Int?
    @Option(name: .customLong("live-queue"), help: "Frames a live stream keeps waiting before dropping its oldest.")
    var liveQueue: Int?
    @Option(name: .customLong("rtsp-transport"), help: "tcp or udp (default: FFmpeg's choice).") var rtspTransport:
        String?
    @Option(name: .customLong("stall-timeout"), help: "Seconds without a frame before a live stream reconnects.")
    var stallTimeout = 5.0
    @Option(name: .customLong("reconnect-max-delay"), help: "Longest back-off between reconnect attempts, seconds.")
    var reconnectMaxDelay = 1.0
    @Option(
        name: .customLong("reconnect-attempts"),
        help: "Failed attempts in a row before a live stream gives up (default: never).")
    var reconnectAttempts: Int?
    @Option(name: .customLong("decoder-threads"), help: "FFmpeg decoder threads per stream.") var decoderThreads: Int?

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard maxDelayMs >= 0 else { throw ValidationError("--max-delay-ms must not be negative") }
        guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
        if let rtspTransport, RTSPTransport(rawValue: rtspTransport) == nil {
            throw ValidationError("--rtsp-transport must be tcp or udp")
        }
    }

    func run() async throws {
        let terminal = TerminalOutput(statusEnabled: isatty(2) != 0)
        var parsed: [StreamSource] = []
        for text in sources {
            do {
                var source = try StreamSource(parsing: text)
                source.loop = loop
                source.paced = paced
                source.maxFrames = maxFrames
                parsed.append(source)
            } catch { throw Console.fail(error.description) }
        }
        var options = PipelineOptions()
        options.detect.confidence = conf
        options.detect.iou = iou
        options.detect.maxDetections = maxDet
        options.detect.imageSize = imgsz
        options.maxBatch = batch
        options.maxDelayMilliseconds = maxDelayMs
        options.depth = depth
        options.framesPerStream = framesPerStream
        options.liveQueueFrames = liveQueue
        options.decoderThreads = decoderThreads
        options.rtspTransport = rtspTransport.flatMap(RTSPTransport.init(rawValue:))
        options.reconnect.stallTimeout = stallTimeout
        options.reconnect.maxDelay = reconnectMaxDelay
        options.reconnect.maxAttempts = reconnectAttempts
        options.holdFramesUntilDelivered = saveVideo != nil
        if let mode {
            do { options.mode = try TransferMode.parseList(mode).first } catch { throw Console.fail(error.description) }
        }
        if let frameFormat {
            guard let format = FrameFormat(rawValue: frameFormat) else {
                throw Console.fail("--frame-format must be nv12 or bgr")
            }
            options.frameFormat = format
        }

        let detector: Detector
        do {
            detector = try Detector(
                model: try DetectionModel(path: try model ?? DefaultModel.modelPath()), device: device)
        } catch { throw Console.fail("\(error)") }
        if device == .auto { terminal.note(detector.deviceLine) }

        let metrics = metricsPort != nil ? PipelineMetrics(sources: parsed.map(\.description)) : nil
        let pipeline: StreamPipeline
        do {
            pipeline = try StreamPipeline(sources: parsed, detector: detector, options: options, metrics: metrics)
        } catch {
            throw Console.fail(error.description)
        }
        let names = detector.model.classNames
        var writer: LineWriter?
        if let json {
            do { writer = try LineWriter(path: json) } catch {
                throw Console.fail("\(json): cannot write (\(error.localizedDescription))")
            }
        }
        if let writer {
            let lines = LockedLineWriter(writer)
            pipeline.onResult { result in lines.write(result.jsonLine(names: names)) }
        }
        var video: AnnotatedVideoWriter?
        if let saveVideo {
            do {
                video = try AnnotatedVideoWriter(directory: saveVideo, sources: parsed, names: names) {
                    terminal.note("error: \($0)")
                }
            } catch { throw Console.fail("\(saveVideo): cannot create the directory (\(error.localizedDescription))") }
            let sink = video!
            pipeline.onFrame { result, pixels in sink.write(result, pixels: pixels) }
        }
        pipeline.onEvent { event in terminal.note(event.description) }

        var server: Task<Void, Never>?
        if let metrics, let metricsPort {
            let host = metricsHost
            server = Task {
                do {
                    try await MetricsServer.run(metrics: metrics, host: host, port: metricsPort) { port in
                        terminal.note("metrics: http://\(host):\(port)/metrics")
                    }
                } catch is CancellationError {
                } catch {
                    terminal.note("error: metrics server on \(host):\(metricsPort): \(error)")
                }
            }
        }
        var status: (@Sendable (String) -> Void)? = nil
        if terminal.statusEnabled { status = { line in terminal.status(line) } }
        let monitor = PipelineMonitor(pipeline: pipeline, metrics: metrics, status: status)
        let interrupts = InterruptHandler {
            terminal.note("stopping: finishing the frames already decoded (Ctrl-C again to quit at once)")
            pipeline.stop()
        }
        pipeline.start()
        monitor.start()
        let summary = await pipeline.finished()
        monitor.stop()
        interrupts.cancel()
        video?.finish()
        server?.cancel()
        terminal.clearStatus()
        FileHandle.standardError.write(Data((summary.text + "\n").utf8))
        if let fatal = pipeline.fatalError { throw Console.fail(fatal) }
        if summary.streams.contains(where: { $0.error != nil }) { throw ExitCode.failure }
    }
}

/// Serialises JSON lines written from the results thread.
final class LockedLineWriter: @unchecked Sendable {
    private let writer: LineWriter
    private let lock = NSLock()
    init(_ writer: LineWriter) { self.writer = writer }
    func write(_ line: String) {
        lock.lock()
        writer.write(line)
        lock.unlock()
    }
}
