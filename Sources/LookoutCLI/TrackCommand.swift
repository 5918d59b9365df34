import ArgumentParser
import LookoutCUDA
import LookoutCore
import LookoutEvents
import LookoutInference
import LookoutModel
import LookoutPipeline

struct TrackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "track",
        abstract:
            "Detect and track objects in videos and streams (ByteTrack, as `yolo track`); rules turn tracks into events.",
        discussion: """
            SOURCE is what `lookout stream` reads. Detections at --conf (0.1, as Ultralytics' model.track) go through \
            ByteTrack per stream; --json writes one line per frame whose detections carry an "id". With --rules, zones, \
            lines and rules (YAML, docs/events.md) make events: stored with --db (SQLite), and delivered to the rule \
            file's sinks (webhooks, JSON-lines files) through the store's outbox, at least once.
            """)

    @Argument(help: "Video files, URLs, image folders or synthetic:WxH[@FPS][:FRAMES].") var sources: [String]
    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .auto
    @Option(parsing: .unconditional, help: "Confidence threshold of the detector (ByteTrack uses the low ones too).")
    var conf = 0.1
    @Option(parsing: .unconditional, help: "NMS IoU threshold (0…1).") var iou = 0.7
    @Option(name: .customLong("max-det"), parsing: .unconditional, help: "Maximum detections per frame.")
    var maxDet = 300
    @Option(parsing: .unconditional, help: "Input size for dynamic models.") var imgsz: Int?
    @Option(help: "A batch closes at this many frames.") var batch = 8
    @Option(help: "Write one JSON line per frame (tracked boxes with ids) to PATH, or - for standard output.")
    var json: String?
    @Option(name: .customLong("save-video"), help: "Write each stream with ids and trails as DIR/stream-N-NAME.mp4.")
    var saveVideo: String?
    @Flag(help: "Replay files from the start when they end.") var loop = false
    @Flag(help: "Pace files at their frame rate, like a camera.") var paced = false
    @Option(name: .customLong("max-frames"), help: "Stop each stream after N frames.") var maxFrames: Int?
    @OptionGroup var tracking: TrackingFlags

    func run() async throws {
        var parsed: [StreamSource] = []
        for text in sources {
            do {
                var source = try StreamSource(parsing: text)
                source.loop = loop
                source.paced = paced
                source.maxFrames = maxFrames
                parsed.append(source)
            } catch { throw Console.fail(error) }
        }
        var options = PipelineOptions()
        options.detect.confidence = conf
        options.detect.iou = iou
        options.detect.maxDetections = maxDet
        options.detect.imageSize = imgsz
        options.maxBatch = batch
        do { try options.detect.validate() } catch { throw Console.fail(error) }
        let detector: Detector
        do {
            detector = try Detector(
                model: try DetectionModel(path: try model ?? DefaultModel.modelPath()), device: device,
                options: .fromEnvironment())
        } catch { throw Console.fail(error) }
        if device == .auto { Console.note(detector.deviceLine) }
        try await TrackRun(
            sources: parsed, options: options, detector: detector, tracking: tracking, json: json, saveVideo: saveVideo
        ).run()
    }
}
