import ArgumentParser
import Logging
import LookoutCUDA
import LookoutCore
import LookoutEvents
import LookoutInference
import LookoutModel
import LookoutPipeline
import LookoutServer
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run Lookout as a service: streams added and removed at run time, an HTTP API and a web page.",
        discussion: """
            STREAM is NAME=URL or a URL (named after its file). Settings come from --config (YAML, docs/serve.md) and \
            the flags, the flags winning. With no stream and no config it serves a demo stream of the embedded sample \
            video with a zone in the middle of the picture. Open the page at http://HOST:PORT/ (with a token: \
            http://HOST:PORT/#token=TOKEN). SIGTERM or Ctrl-C: the streams stop, the frames already decoded are \
            detected, the store is flushed, and it exits 0.
            """)

    @Argument(help: "Streams to start with: NAME=URL or URL.") var streams: [String] = []
    @Option(help: "The service's YAML configuration.") var config: String?
    @Option(help: "Address to bind (default 127.0.0.1).") var host: String?
    @Option(help: "Port (default 8080; 0: any free one).") var port: Int?
    @Option(help: "Bearer token that guards the API.") var token: String?
    @Option(name: .customLong("token-file"), help: "File holding the bearer token.") var tokenFile: String?
    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: String?
    @Option(help: "Where video is decoded: cpu, nvdec or auto.") var decode: String?
    @Option(help: "A batch closes at this many frames.") var batch: Int?
    @Option(help: "SQLite event store (default lookout.db).") var db: String?
    @Option(help: "Zones, lines, rules and sinks (YAML; docs/events.md).") var rules: String?
    @Option(name: .customLong("live-fps"), help: "Frame rate cap of the live views (default 15).") var liveFPS: Double?
    @Option(
        name: .customLong("planned-streams"), help: "Streams to size buffers and decoder threads for (default 8).")
    var plannedStreams = 8
    @Flag(
        name: .customLong("inference-only"),
        help: "Serve only the inference protocol (KServe v2 over HTTP and gRPC, docs/inference-server.md): no pipeline."
    )
    var inferenceOnly = false
    @Option(
        name: .customLong("model-repository"),
        help: "With --inference-only: a folder of ONNX models (NAME.onnx serves NAME and NAME-detect).")
    var modelRepository: String?
    @Option(
        name: .customLong("http-port"), help: "With --inference-only: the HTTP port (default 8000; 0: any free one).")
    var httpPort: Int?
    @Option(
        name: .customLong("allow-client-shm"),
        help: "With --inference-only: true lets clients register system and CUDA shared memory (default false).")
    var allowClientShm = false
    @Option(
        name: .customLong("max-batch-size"),
        help: "With --inference-only: rows (images) a request, and a merged batch, may have (default 64).")
    var maxBatchSize: Int?
    @Option(
        name: .customLong("max-queue-delay-us"),
        help: "With --inference-only: how long a queued request waits for others to batch with (default 0 µs).")
    var maxQueueDelayMicroseconds: Int?
    @Flag(
        name: .customLong("dynamic-batching"), inversion: .prefixedNo,
        help: "With --inference-only: merge concurrent requests into one engine call (default on).")
    var dynamicBatching = true
    @Option(
        name: .customLong("grpc-port"), parsing: .unconditional,
        help: "With --inference-only: the gRPC port (default 8001; 0: any free one; -1: no gRPC server).")
    var grpcPort: Int?
    @Option(
        name: .customLong("metrics-port"), parsing: .unconditional,
        help:
            "With --inference-only: the port of Triton's Prometheus metrics, GET /metrics (default 8002; 0: any free one; -1: none)."
    )
    var metricsPort: Int?

    func run() async throws {
        if inferenceOnly {
            try await runInferenceServer()
            return
        }
        if modelRepository != nil || httpPort != nil || grpcPort != nil || metricsPort != nil || maxBatchSize != nil
            || maxQueueDelayMicroseconds != nil || !dynamicBatching
        {
            throw Console.fail(
                "--model-repository, --http-port, --grpc-port, --metrics-port, --max-batch-size, --max-queue-delay-us and --no-dynamic-batching need --inference-only"
            )
        }
        if allowClientShm { throw Console.fail("--allow-client-shm needs --inference-only") }
        var file = ServeConfiguration()
        if let config {
            do { file = try ServeConfiguration.load(path: config) } catch { throw Console.fail(error) }
        }
        var settings = ServeSettings()
        settings.host = host ?? file.host ?? settings.host
        settings.port = port ?? file.port ?? settings.port
        settings.liveFramesPerSecond = liveFPS ?? file.liveFramesPerSecond ?? settings.liveFramesPerSecond
        guard (0...65535).contains(settings.port) else { throw Console.fail("--port must be from 0 to 65535") }
        if let path = tokenFile ?? (token == nil ? file.tokenFile : nil) {
            guard let text = FileBytes.readText(path) else { throw Console.fail("\(path): cannot read the token file") }
            settings.token = String(text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " }).first ?? "")
        } else {
            settings.token = token ?? file.token
        }
        if let token = settings.token, token.isEmpty { throw Console.fail("the bearer token is empty") }

        // The streams: the flags', else the file's, else the demo.
        var served: [ServedStream] = []
        for (i, text) in streams.enumerated() {
            served.append(try Self.stream(text, number: i + 1))
        }
        if served.isEmpty { served = file.streams }
        var demo = false
        if served.isEmpty && config == nil {
            do {
                served = [
                    ServedStream(
                        name: "demo", url: try DefaultModel.locate(DefaultModel.sampleVideoFile), loop: true,
                        paced: true)
                ]
            } catch { throw Console.fail(error) }
            demo = true
        }

        let deviceRequest: DeviceRequest
        do { deviceRequest = try DeviceRequest(parsing: device ?? file.device ?? "auto") } catch {
            throw Console.fail("--device: \(error)")
        }
        var options = PipelineOptions()
        options.servesStreams = true
        options.plannedStreams = max(1, plannedStreams)
        options.deliversFrames = true
        options.maxBatch = batch ?? file.batch ?? 8
        options.detect.confidence = 0.1
        do { options.decode = try VideoDecode(parsing: decode ?? file.decode ?? "cpu") } catch {
            throw Console.fail(error)
        }
        let detector: Detector
        do {
            detector = try Detector(
                model: try DetectionModel(path: try model ?? file.model ?? DefaultModel.modelPath()),
                device: deviceRequest, options: .fromEnvironment())
        } catch { throw Console.fail(error) }
        Console.note(detector.deviceLine)
        let names = detector.model.classNames
        var events = EventProcessorOptions()
        events.storePath = db ?? file.store ?? "lookout.db"
        if let path = rules ?? file.rules {
            do { events.rules = try RuleSet.load(path: path, classNames: names) } catch { throw Console.fail(error) }
        } else if demo {
            events.rules = Self.demoRules()
        }
        let metrics = PipelineMetrics()
        let pipeline: Pipeline
        let processor: EventProcessor
        let service: LookoutService
        do {
            pipeline = try Pipeline(sources: [], detector: detector, options: options, metrics: metrics)
            processor = try EventProcessor(
                pipeline: pipeline, classNames: names, options: events, log: { Console.note($0) })
            service = try LookoutService(
                pipeline: pipeline, processor: processor, metrics: metrics, streams: served, settings: settings,
                log: { Console.note($0) },
                onListening: { [count = served.count, store = events.storePath ?? ""] host, port in
                    let shown = host == "0.0.0.0" ? "127.0.0.1" : host
                    Console.note("serving on http://\(shown):\(port)/ (\(count) streams, store \(store))")
                })
        } catch { throw Console.fail(TrackingFlags.message(error)) }
        if let note = pipeline.decodeNote { Console.note(note) }
        let quiet = Logger(label: "lookout") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [], logger: quiet))
        do { try await group.run() } catch { throw Console.fail(TrackingFlags.message(error)) }
        if let fatal = pipeline.fatalError { throw Console.fail(fatal) }
        Console.note("stopped: \(processor.counts.frames) frames tracked, \(processor.counts.events) events")
    }

    /// `NAME=URL`, or a URL named after its last path component.
    static func stream(_ text: String, number: Int) throws -> ServedStream {
        var name: String
        var url = text
        if let eq = text.firstIndex(of: "="), !text[..<eq].contains("/"), !text[..<eq].contains(":") {
            name = String(text[..<eq])
            url = String(text[text.index(after: eq)...])
        } else {
            let base = text.split(separator: "/").last.map(String.init) ?? ""
            let stem = base.split(separator: ".").first.map(String.init) ?? ""
            name = String(
                stem.unicodeScalars.filter {
                    $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
                }.map(Character.init))
            if !ServedStream.isValidName(name) { name = "stream\(number)" }
        }
        guard ServedStream.isValidName(name) else {
            throw Console.fail("stream '\(text)': the name must be 1-64 letters, digits, '_', '.' or '-'")
        }
        // As the API adds one: a file is read once, as fast as detection goes.
        return ServedStream(name: name, url: url)
    }

    /// The demo's rule: a zone over the middle of the picture; an event when a shape enters it.
    static func demoRules() -> RuleSet {
        var set = RuleSet()
        set.source = "the demo rules"
        let middle = Polygon([Point2(0.25, 0.2), Point2(0.75, 0.2), Point2(0.75, 0.8), Point2(0.25, 0.8)])
        set.zones = [Zone(name: "middle", polygon: middle, coordinates: .normalized)]
        set.rules = [Rule(name: "enter-middle", trigger: .enter(zone: "middle"))]
        return set
    }
}
