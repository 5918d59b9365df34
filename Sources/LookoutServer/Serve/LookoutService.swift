import Hummingbird
import Logging
import LookoutCore
import LookoutEvents
import LookoutPipeline
import NIOCore
import ServiceLifecycle
import Synchronization

/// The long-running service of `lookout serve`: a pipeline that takes streams at run time, the events beside it
/// (tracking, rules, store, sinks) and an HTTP API with a web page over both. A `Service`: `run()` serves until a
/// graceful shutdown (SIGTERM/SIGINT in the CLI) or cancellation, then the streams stop, every frame already
/// decoded is detected, the store gets what is left, and it returns.
///
/// ```
/// pipeline ─► EventProcessor ─► reader: each tracked frame to LiveFrames (frame.jpg, MJPEG)
///     │             └─ committed events ─► EventFeed (Server-Sent Events)
///     └─ stream events ─► StreamDirectory (states, per-stream figures)
/// HTTP (Hummingbird): JSONErrors ─► BearerAuth ─► routes over the three
/// ```
public final class LookoutService: Service, Sendable {
    public let pipeline: Pipeline
    public let processor: EventProcessor
    public let settings: ServeSettings
    let streams: StreamDirectory
    let frames: LiveFrames
    let feed: EventFeed
    let metrics: PipelineMetrics?
    let initial: [ServedStream]
    let log: @Sendable (String) -> Void
    let onListening: @Sendable (String, Int) -> Void
    private let readiness = Atomic<Bool>(false)
    /// Set when the service shuts down: the live views end.
    private let stopping = Atomic<Bool>(false)
    /// The store, read by the API on a connection of its own (one query at a time).
    private let reader: StoreReader
    private let ruleChanges = Mutex(())

    /// `pipeline` must be made with `servesStreams` and `deliversFrames`; `processor` reads it. `streams` start
    /// with the service. `onListening` gets the bound host and port.
    public init(
        pipeline: Pipeline, processor: EventProcessor, metrics: PipelineMetrics?, streams initial: [ServedStream],
        settings: ServeSettings, log: @escaping @Sendable (String) -> Void = { _ in },
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws(LookoutError) {
        guard pipeline.options.servesStreams else {
            throw LookoutError.invalidArgument("pipeline", "must be made with servesStreams")
        }
        guard pipeline.options.deliversFrames else {
            throw LookoutError.invalidArgument("pipeline", "must be made with deliversFrames (the live view)")
        }
        var names = Set<String>()
        for spec in initial {
            guard ServedStream.isValidName(spec.name) else {
                throw LookoutError.invalidArgument("streams", "'\(spec.name)' is not a valid stream name")
            }
            guard names.insert(spec.name).inserted else {
                throw LookoutError.invalidArgument("streams", "two streams are named '\(spec.name)'")
            }
        }
        self.pipeline = pipeline
        self.processor = processor
        self.metrics = metrics
        self.settings = settings
        self.initial = initial
        self.log = log
        self.onListening = onListening
        streams = StreamDirectory(pipeline: pipeline, processor: processor)
        frames = LiveFrames(classNames: processor.classNames, settings: settings)
        feed = EventFeed()
        if let path = processor.store?.path {
            reader = StoreReader(try EventStore(path: path))
        } else {
            reader = StoreReader(nil)
        }
    }

    /// Whether the service is up: the pipeline runs and the API listens.
    public var isReady: Bool { readiness.load(ordering: .acquiring) }

    public func run() async throws {
        for spec in initial {
            do { _ = try streams.add(spec) } catch { log("stream '\(spec.name)': \(error.message)") }
        }
        let token = processor.subscribe { [feed] events in feed.publish(events) }
        defer { processor.unsubscribe(token) }
        let app = makeApplication()
        // A group shuts its services down in reverse order, each after the one before has returned: detection first
        // (the streams stop, decoded frames are detected, the store gets the last events), then the HTTP server,
        // then the metrics sampler. The pipeline and its event processor are one service: the processor ends when
        // the pipeline's results do, which a group would take for a service ending out of turn.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics { services.append(.init(service: PipelineMonitorService(pipeline: pipeline, metrics: metrics))) }
        services.append(
            .init(
                service: app, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup))
        services.append(
            .init(
                service: DetectionService(pipeline: pipeline, processor: processor),
                successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup))
        let quiet = Logger(label: "lookout.serve") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [], cancellationSignals: [], logger: quiet))
        let watcher = Task { [streams, frames, log] in
            for await event in pipeline.events {
                log(event.description)
                streams.handle(event)
                switch event.kind {
                case .ended, .failed: frames.forget(event.stream)
                default: break
                }
            }
        }
        let reader = Task { [frames] in
            for await frame in processor.results { frames.offer(frame) }
        }
        // The streams' figures (frames, fps, latency) once a second, so that a stream that ends keeps its last ones.
        let sampler = Task { [self] in
            while !stopping.load(ordering: .acquiring) {
                streams.refresh()
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        readiness.store(true, ordering: .releasing)
        defer { readiness.store(false, ordering: .releasing) }
        try await withGracefulShutdownHandler {
            try await group.run()
        } onGracefulShutdown: { [self] in
            // Live views and event streams never end by themselves: they end now, so that the server can stop.
            stopping.store(true, ordering: .releasing)
            feed.finishAll()
            Task { await group.triggerGracefulShutdown() }
        }
        await watcher.value
        await reader.value
        sampler.cancel()
    }

    private func makeApplication() -> some Service {
        let router = Router()
        router.add(middleware: JSONErrors(methods: Self.methods(of:)))
        if let token = settings.token {
            router.add(
                middleware: BearerAuth(
                    token: Array(token.utf8),
                    isPublic: { path in path == "/" || path.hasPrefix("/health/") || path.hasPrefix("/ui/") }))
        }
        addRoutes(to: router)
        var logger = Logger(label: "lookout.http")
        logger.logLevel = .critical
        let deadline = settings.requestSeconds
        let host = settings.host
        let onListening = self.onListening
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestDeadline(seconds: deadline)], idleTimeout: .seconds(60))),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port)),
            onServerRunning: { channel in
                // No address: the channel closed already (another service of the group failed); nothing listens.
                if let port = channel.localAddress?.port { onListening(host, port) }
            }, logger: logger)
    }

    // MARK: Routes

    private func addRoutes(to router: Router<BasicRequestContext>) {
        let maxBody = settings.maxBodyBytes
        router.get("/health/live") { _, _ in Self.json(.object([("status", .string("live"))])) }
        router.get("/health/ready") { [self] _, _ in
            isReady
                ? Self.json(.object([("status", .string("ready"))]))
                : Self.json(.object([("status", .string("starting"))]), status: .serviceUnavailable)
        }
        router.get("/metrics") { [self] _, _ in
            let text = MetricsHelp.annotate(metrics?.text() ?? "") + serviceMetrics()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/") { _, _ in try Self.asset("index.html") }
        router.get("/ui/:file") { _, context in try Self.asset(context.parameters.get("file") ?? "") }
        router.get("/openapi.yaml") { _, _ in try Self.asset("openapi.yaml") }

        let api = router.group("api/v1")
        api.get("streams") { [self] _, _ in
            Self.json(.object([("streams", .array(streams.list().map(\.json)))]))
        }
        api.post("streams") { [self] request, context in
            let body = try await Self.body(request, limit: maxBody)
            let spec = try Self.streamSpec(body)
            return Self.json(try streams.add(spec).json, status: .created)
        }
        api.get("streams/:name") { [self] _, context in
            Self.json(try streams.status(try Self.name(context)).json)
        }
        api.delete("streams/:name") { [self] _, context in
            try streams.remove(try Self.name(context))
            return Response(status: .noContent)
        }
        api.post("streams/:name/pause") { [self] _, context in
            Self.json(try streams.pause(try Self.name(context)).json)
        }
        api.post("streams/:name/resume") { [self] _, context in
            Self.json(try streams.resume(try Self.name(context)).json)
        }
        api.get("streams/:name/frame.jpg") { [self] _, context in
            let name = try Self.name(context)
            guard let index = try streams.index(of: name), let jpeg = frames.jpeg(index) else {
                throw ServeError(404, "stream '\(name)' has no frame yet")
            }
            return Self.jpeg(jpeg.bytes)
        }
        api.get("streams/:name/mjpeg") { [self] _, context in
            let name = try Self.name(context)
            _ = try streams.index(of: name)
            return mjpeg(name)
        }
        api.get("events") { [self] request, _ in
            var filter = try Self.eventFilter(request.uri.queryParameters)
            let limit = filter.limit ?? 50
            filter.limit = limit + 1
            var events = try query { store throws(StoreError) in try store.events(matching: filter) }
            let more = events.count > limit
            if more { events.removeLast() }
            return Self.json(
                .object([
                    ("events", .array(events.map(eventJSON))),
                    ("next", more ? .string(events.last!.id) : .null),
                ]))
        }
        api.get("events/live") { [self] _, _ in liveEvents() }
        api.get("events/:id") { [self] _, context in
            let id = context.parameters.get("id") ?? ""
            guard let event = try query({ store throws(StoreError) in try store.event(id: id) }) else {
                throw ServeError(404, "no event '\(id)'")
            }
            return Self.json(eventJSON(event))
        }
        api.get("events/:id/snapshot.jpg") { [self] _, context in
            let id = context.parameters.get("id") ?? ""
            guard let jpeg = try query({ store throws(StoreError) in try store.snapshot(eventID: id) }) else {
                throw ServeError(404, "no snapshot for event '\(id)'")
            }
            return Self.jpeg(jpeg)
        }
        api.get("counts") { [self] _, _ in
            let counts = try query { store throws(StoreError) in try store.counts() }
            // The latest run's counts.
            let run = counts.first?.run
            let rows = counts.filter { $0.run == run }.map { c in
                JSONValue.object([
                    ("stream", .string(streams.name(ofIndex: c.stream) ?? "\(c.stream)")), ("kind", .string(c.kind)),
                    ("name", .string(c.name)), ("direction", .string(c.direction)), ("value", .int(c.value)),
                ])
            }
            return Self.json(.object([("counts", .array(rows))]))
        }
        api.get("rules") { [self] _, _ in Self.json(RulesJSON.describe(processor.currentRules)) }
        api.post("zones") { [self] request, _ in
            let body = try await Self.body(request, limit: maxBody)
            return Self.json(try addZone(body), status: .created)
        }
    }

    /// Adds a zone and its rule (one change at a time: each starts from the rules in force).
    private func addZone(_ body: [(String, JSONValue)]) throws(ServeError) -> JSONValue {
        try ruleChanges.withLock { _ throws(ServeError) -> JSONValue in
            let (set, added) = try RulesJSON.adding(
                zone: body, to: processor.currentRules, classNames: processor.classNames)
            do { try processor.replaceRules(set) } catch let error as LookoutError {
                throw ServeError(400, error.message)
            } catch { throw ServeError(500, "\(error)") }
            return added
        }
    }

    /// Runs a store query on the API's connection.
    private func query<T>(_ body: (EventStore) throws(StoreError) -> T) throws(ServeError) -> T {
        try reader.lock.withLock { _ throws(ServeError) -> T in
            guard let store = reader.store else {
                throw ServeError(404, "no event store (start the service with a store)")
            }
            do throws(StoreError) { return try body(store) } catch {
                throw ServeError(503, EventStore.lookoutError(error).message)
            }
        }
    }

    func eventJSON(_ event: Event) -> JSONValue {
        var fields = EventJSON.object(event)
        fields.append(("stream_name", .string(event.source)))
        fields.append(("snapshot", .string("/api/v1/events/\(event.id)/snapshot.jpg")))
        return .object(fields)
    }

    // MARK: Live views

    /// `multipart/x-mixed-replace` of the stream's annotated frames: each part the newest frame when the viewer is
    /// ready for one (a slow viewer skips frames; nothing waits for it but its own connection).
    private func mjpeg(_ name: String) -> Response {
        let boundary = "lookout-frame"
        let streams = self.streams
        let frames = self.frames
        let interval = 1 / max(0.1, settings.liveFramesPerSecond)
        let body = ResponseBody { [self] writer in
            var shown = 0
            while !Task.isCancelled && !stopping.load(ordering: .acquiring) {
                // The stream may be paused, removed or resumed under another index: follow the name.
                let found: Int?
                do { found = try streams.index(of: name) } catch { break }
                if let index = found {
                    frames.watch(index)
                    if frames.version(index) != shown, let jpeg = frames.jpeg(index) {
                        shown = jpeg.version
                        var part = ByteBuffer(
                            string:
                                "--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.bytes.count)\r\n\r\n"
                        )
                        part.writeBytes(jpeg.bytes)
                        part.writeString("\r\n")
                        try await writer.write(part)
                        continue
                    }
                }
                try await Task.sleep(nanoseconds: UInt64(interval / 2 * 1e9))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "multipart/x-mixed-replace; boundary=\(boundary)", .cacheControl: "no-store"],
            body: body)
    }

    /// Server-Sent Events: each event as the store commits it, and a comment every 15 s to keep proxies open.
    private func liveEvents() -> Response {
        let updates = feed.subscribe()
        let body = ResponseBody { [self] writer in
            try await writer.write(ByteBuffer(string: ": lookout events\n\n"))
            for await item in updates {
                switch item {
                case .event(let event):
                    let data = eventJSON(event).render(pretty: false)
                    try await writer.write(ByteBuffer(string: "event: event\ndata: \(data)\n\n"))
                case .keepAlive:
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    /// The service's own figures, beside the pipeline's (Prometheus text format).
    private func serviceMetrics() -> String {
        let list = streams.list()
        var text =
            "# HELP lookout_serve_streams Streams the service knows, by state.\n# TYPE lookout_serve_streams gauge\n"
        for state in ["starting", "running", "reconnecting", "paused", "ended", "failed"] {
            text += "lookout_serve_streams{state=\"\(state)\"} \(list.filter { $0.state.rawValue == state }.count)\n"
        }
        text += "# HELP lookout_serve_event_subscribers Live event (SSE) connections.\n"
        text += "# TYPE lookout_serve_event_subscribers gauge\nlookout_serve_event_subscribers \(feed.count)\n"
        let (frames, events, unstored) = processor.counts
        text += "# HELP lookout_tracked_frames_total Frames tracked by the event processor.\n"
        text += "# TYPE lookout_tracked_frames_total counter\nlookout_tracked_frames_total \(frames)\n"
        text += "# HELP lookout_events_total Events the rules opened.\n"
        text += "# TYPE lookout_events_total counter\nlookout_events_total \(events)\n"
        text += "# HELP lookout_events_unstored_total Events a failing store did not keep.\n"
        text += "# TYPE lookout_events_unstored_total counter\nlookout_events_unstored_total \(unstored)\n"
        return text
    }

    // MARK: Request and response helpers

    /// Every route's path pattern (`:x` matches one segment) and its methods.
    static let routes: [(pattern: [Substring], methods: [HTTPRequest.Method])] = [
        ("/health/live", [.get]), ("/health/ready", [.get]), ("/metrics", [.get]), ("/", [.get]), ("/ui/:f", [.get]),
        ("/openapi.yaml", [.get]), ("/api/v1/streams", [.get, .post]), ("/api/v1/streams/:n", [.get, .delete]),
        ("/api/v1/streams/:n/pause", [.post]), ("/api/v1/streams/:n/resume", [.post]),
        ("/api/v1/streams/:n/frame.jpg", [.get]), ("/api/v1/streams/:n/mjpeg", [.get]), ("/api/v1/events", [.get]),
        ("/api/v1/events/live", [.get]), ("/api/v1/events/:id", [.get]), ("/api/v1/events/:id/snapshot.jpg", [.get]),
        ("/api/v1/counts", [.get]), ("/api/v1/rules", [.get]), ("/api/v1/zones", [.post]),
    ].map { ($0.0.split(separator: "/", omittingEmptySubsequences: false), $0.1) }

    /// The methods `path` answers to (empty: no such path).
    static func methods(of path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var out: [HTTPRequest.Method] = []
        for route in routes where route.pattern.count == segments.count {
            if zip(route.pattern, segments).allSatisfy({ $0.hasPrefix(":") ? !$1.isEmpty : $0 == $1 }) {
                out += route.methods.filter { !out.contains($0) }
            }
        }
        return out
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.render(pretty: false))))
    }

    static func jpeg(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func asset(_ file: String) throws -> Response {
        guard let asset = WebAssets.files[file] else { throw ServeError(404, "no such file: \(file)") }
        return Response(
            status: .ok, headers: [.contentType: asset.contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: asset.text)))
    }

    static func name(_ context: BasicRequestContext) throws(ServeError) -> String {
        guard let name = context.parameters.get("name") else { throw ServeError(404, "no stream named") }
        return name
    }

    /// The request's body as a JSON object; 413 over `limit`, 400 when it is not a JSON object.
    static func body(_ request: Request, limit: Int) async throws -> [(String, JSONValue)] {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        let text = String(buffer: buffer)
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch { throw ServeError(400, "request body: \(error)") }
        guard case .object(let fields) = value else { throw ServeError(400, "request body must be a JSON object") }
        return fields
    }

    static func streamSpec(_ fields: [(String, JSONValue)]) throws(ServeError) -> ServedStream {
        var name: String?
        var url: String?
        var loop = false
        var live: Bool?
        for (key, value) in fields {
            switch (key, value) {
            case ("name", .string(let s)): name = s
            case ("url", .string(let s)): url = s
            case ("loop", .bool(let b)): loop = b
            case ("live", .bool(let b)): live = b
            case ("name", _), ("url", _): throw ServeError(400, "'\(key)' must be a string")
            case ("loop", _), ("live", _): throw ServeError(400, "'\(key)' must be true or false")
            default: throw ServeError(400, "unknown field '\(key)' (a stream has name, url, loop, live)")
            }
        }
        guard let name else { throw ServeError(400, "a stream needs a 'name'") }
        guard let url, !url.isEmpty, url.utf8.count <= 2048 else {
            throw ServeError(400, "a stream needs a 'url' of 1 to 2048 characters")
        }
        guard ServedStream.isValidName(name) else {
            throw ServeError(
                400,
                "stream name '\(name)' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
        }
        // A file is read as fast as detection goes unless `live` paces it like a camera; a camera is live anyway.
        let isFile = !StreamSource.liveSchemes.contains(where: { url.lowercased().hasPrefix($0 + "://") })
        return ServedStream(name: name, url: url, loop: loop, paced: isFile && (live ?? false))
    }

    static func eventFilter(_ query: Parameters) throws(ServeError) -> EventFilter {
        var filter = EventFilter()
        filter.newestFirst = true
        for (key, value) in query {
            let text = String(value)
            switch key {
            case "stream": filter.stream = text
            case "rule": filter.rule = text
            case "trigger": filter.trigger = text
            case "state":
                guard ["open", "closed", "interrupted"].contains(text) else {
                    throw ServeError(400, "state must be open, closed or interrupted (got '\(text)')")
                }
                filter.state = text
            case "since": filter.since = try time(text, key: "since")
            case "until": filter.until = try time(text, key: "until")
            case "limit":
                guard let n = Int(text), (1...500).contains(n) else {
                    throw ServeError(400, "limit must be an integer from 1 to 500 (got '\(text)')")
                }
                filter.limit = n
            case "before":
                guard EventID.isValid(text) else { throw ServeError(400, "before must be an event id (got '\(text)')") }
                filter.beforeID = text
            case "access_token": break
            default: throw ServeError(400, "unknown query parameter '\(key)'")
            }
        }
        return filter
    }

    /// Unix seconds or ISO-8601, as wall-clock milliseconds.
    static func time(_ text: String, key: String) throws(ServeError) -> Int64 {
        if let seconds = Double(text), seconds.isFinite, abs(seconds) < 1e11 { return Int64(seconds * 1000) }
        if let ms = WallClock.parse(text, now: WallClock.milliseconds()) { return ms }
        throw ServeError(400, "\(key) must be unix seconds or an ISO-8601 time (got '\(text)')")
    }
}

/// The API's own connection to the event store: SQLite connections are used by one thread at a time, so queries
/// take turns under `lock`.
final class StoreReader: @unchecked Sendable {
    let store: EventStore?
    let lock = Mutex(())

    init(_ store: EventStore?) { self.store = store }
}

/// A pipeline and its event processor as one service: both run until the pipeline's graceful shutdown has drained
/// its frames and the processor has stored them.
struct DetectionService: Service {
    let pipeline: Pipeline
    let processor: EventProcessor

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pipeline.run() }
            group.addTask { try await processor.run() }
            try await group.waitForAll()
        }
    }
}
