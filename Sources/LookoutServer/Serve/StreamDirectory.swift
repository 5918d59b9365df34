import LookoutCore
import LookoutEvents
import LookoutPipeline
import Synchronization

/// A stream as the API shows it.
public struct StreamStatus: Sendable {
    public enum State: String, Sendable {
        case starting, running, reconnecting, paused, ended, failed
    }

    public var name: String
    public var url: String
    /// The pipeline's index of the stream while it runs.
    public var index: Int?
    public var state: State
    /// Frames delivered per second over the last few seconds.
    public var fps: Double
    /// End-to-end latency (decoded → detected) since the stream started.
    public var latencyP50Milliseconds: Double?
    public var latencyP99Milliseconds: Double?
    public var frames: Int
    public var dropped: Int
    public var reconnects: Int
    public var lastError: String?
    /// `cpu` or `nvdec`.
    public var decode: String
    public var width: Int?
    public var height: Int?

    var json: JSONValue {
        func opt<T>(_ v: T?, _ f: (T) -> JSONValue) -> JSONValue { v.map(f) ?? .null }
        return .object([
            ("name", .string(name)), ("url", .string(url)), ("index", opt(index) { .int($0) }),
            ("state", .string(state.rawValue)), ("fps", JSONValue.rounded(fps, digits: 2)),
            ("latency_p50_ms", opt(latencyP50Milliseconds) { JSONValue.rounded($0, digits: 2) }),
            ("latency_p99_ms", opt(latencyP99Milliseconds) { JSONValue.rounded($0, digits: 2) }),
            ("frames", .int(frames)), ("dropped", .int(dropped)), ("reconnects", .int(reconnects)),
            ("last_error", opt(lastError) { .string($0) }), ("decode", .string(decode)),
            ("width", opt(width) { .int($0) }), ("height", opt(height) { .int($0) }),
        ])
    }
}

/// The service's streams by name: added, removed, paused and resumed while the pipeline runs, their states from
/// the pipeline's stream events, their frame rates from a once-a-second sample.
final class StreamDirectory: Sendable {
    let pipeline: Pipeline
    let processor: EventProcessor?
    private let state = Mutex(Directory())

    struct Entry {
        var spec: ServedStream
        var status: StreamStatus
        /// Counts of earlier runs of this entry (before a pause), added to the running ones.
        var base = (frames: 0, dropped: 0, reconnects: 0)
        /// Delivered-frame readings of the last seconds, for the frame rate.
        var readings: [(time: Double, frames: Int)] = []
    }

    struct Directory {
        var entries: [String: Entry] = [:]
        /// Names in the order they were added.
        var order: [String] = []
        /// Pipeline index → name, until the stream's `ended` event (a removed stream's name may be reused before).
        var names: [Int: String] = [:]
        /// Indices of streams removed or paused whose end is still to come.
        var leaving: Set<Int> = []
    }

    init(pipeline: Pipeline, processor: EventProcessor?) {
        self.pipeline = pipeline
        self.processor = processor
    }

    var count: Int { state.withLock { $0.entries.count } }

    func list() -> [StreamStatus] {
        refresh()
        return state.withLock { d in d.order.compactMap { d.entries[$0]?.status } }
    }

    func status(_ name: String) throws(ServeError) -> StreamStatus {
        refresh()
        guard let status = state.withLock({ $0.entries[name]?.status }) else { throw Self.unknown(name) }
        return status
    }

    /// The pipeline index of a running stream.
    func index(of name: String) throws(ServeError) -> Int? {
        guard let entry = state.withLock({ $0.entries[name] }) else { throw Self.unknown(name) }
        return entry.status.index
    }

    /// The stream name of a pipeline index (while the stream is known).
    func name(ofIndex index: Int) -> String? { state.withLock { $0.names[index] } }

    static func unknown(_ name: String) -> ServeError { ServeError(404, "no stream named '\(name)'") }

    // MARK: Changes

    func add(_ spec: ServedStream) throws(ServeError) -> StreamStatus {
        guard ServedStream.isValidName(spec.name) else {
            throw ServeError(
                400,
                "stream name '\(spec.name)' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
            )
        }
        let reserved = state.withLock { d -> Bool in
            if d.entries[spec.name] != nil { return false }
            d.entries[spec.name] = Entry(
                spec: spec,
                status: StreamStatus(
                    name: spec.name, url: spec.url, index: nil, state: .starting, fps: 0, frames: 0, dropped: 0,
                    reconnects: 0, decode: pipeline.decodesOnNVDEC ? "nvdec" : "cpu"))
            d.order.append(spec.name)
            return true
        }
        guard reserved else { throw ServeError(409, "a stream named '\(spec.name)' already exists") }
        do {
            let index = try start(spec)
            return state.withLock { d in
                d.entries[spec.name]!.status.index = index
                d.names[index] = spec.name
                return d.entries[spec.name]!.status
            }
        } catch {
            forget(spec.name)
            throw error
        }
    }

    private func start(_ spec: ServedStream) throws(ServeError) -> Int {
        var source: StreamSource
        do { source = try StreamSource(parsing: spec.url) } catch {
            throw ServeError(400, "stream '\(spec.name)': \(error.message)")
        }
        source.name = spec.name
        source.loop = spec.loop
        source.paced = spec.paced
        do { return try pipeline.add(source) } catch {
            throw ServeError(error.code == .invalidArgument ? 400 : 503, "stream '\(spec.name)': \(error.message)")
        }
    }

    private func forget(_ name: String) {
        state.withLock { d in
            d.entries[name] = nil
            d.order.removeAll { $0 == name }
        }
    }

    /// Stops the stream and forgets it; its name is free at once.
    func remove(_ name: String) throws(ServeError) {
        let index = try state.withLock { d throws(ServeError) -> Int? in
            guard let entry = d.entries.removeValue(forKey: name) else { throw Self.unknown(name) }
            d.order.removeAll { $0 == name }
            if let index = entry.status.index { d.leaving.insert(index) }
            return entry.status.index
        }
        if let index { pipeline.remove(stream: index) }
    }

    func pause(_ name: String) throws(ServeError) -> StreamStatus {
        refresh()
        let (index, status) = try state.withLock { d throws(ServeError) -> (Int?, StreamStatus) in
            guard var entry = d.entries[name] else { throw Self.unknown(name) }
            let index = entry.status.index
            if let index {
                d.leaving.insert(index)
                entry.base = (entry.status.frames, entry.status.dropped, entry.status.reconnects)
            }
            entry.status.index = nil
            entry.status.state = .paused
            entry.status.fps = 0
            entry.readings = []
            d.entries[name] = entry
            return (index, entry.status)
        }
        if let index { pipeline.remove(stream: index) }
        return status
    }

    func resume(_ name: String) throws(ServeError) -> StreamStatus {
        let spec = try state.withLock { d throws(ServeError) -> ServedStream? in
            guard var entry = d.entries[name] else { throw Self.unknown(name) }
            guard entry.status.state == .paused || entry.status.state == .ended || entry.status.state == .failed
            else { return nil }
            entry.status.state = .starting
            entry.status.lastError = nil
            d.entries[name] = entry
            return entry.spec
        }
        guard let spec else { return try status(name) }
        let index = try start(spec)
        let started = state.withLock { d -> StreamStatus? in
            d.names[index] = name
            d.entries[name]?.status.index = index
            return d.entries[name]?.status
        }
        if let started { return started }
        return try status(name)
    }

    // MARK: What the pipeline says

    /// A stream event from the pipeline.
    func handle(_ event: StreamEvent) {
        let ended = state.withLock { d -> Bool in
            guard let name = d.names[event.stream] else { return false }
            let leaving = d.leaving.contains(event.stream)
            var isEnd = false
            if case .ended = event.kind { isEnd = true }
            if case .failed = event.kind { isEnd = true }
            if isEnd {
                d.names[event.stream] = nil
                d.leaving.remove(event.stream)
            }
            // A stream removed or paused: its own end is expected, its entry (if any) says so already.
            guard !leaving, var entry = d.entries[name], entry.status.index == event.stream else { return isEnd }
            switch event.kind {
            case .opened(let width, let height, _, _):
                entry.status.state = .running
                entry.status.width = width
                entry.status.height = height
            case .disconnected(let reason):
                entry.status.state = .reconnecting
                entry.status.lastError = reason
            case .reconnecting: entry.status.state = .reconnecting
            case .reconnected: entry.status.state = .running
            case .stalled(let seconds):
                entry.status.lastError = "no frame for \(TextFormat.fixed(seconds, digits: 1)) s"
            case .decodeErrors(_, let last): entry.status.lastError = last
            case .failed(let message):
                entry.status.state = .failed
                entry.status.lastError = message
            case .ended(let frames):
                entry.status.state = .ended
                // The last sample may be up to a second old: the stream's own count of its frames is final.
                entry.status.frames = max(entry.status.frames, entry.base.frames + frames - entry.status.dropped)
            case .decodingOnCPU: entry.status.decode = "cpu"
            }
            if isEnd {
                entry.base = (entry.status.frames, entry.status.dropped, entry.status.reconnects)
                entry.status.index = nil
                entry.status.fps = 0
            }
            d.entries[name] = entry
            return isEnd
        }
        if ended { processor?.streamEnded(event.stream) }
    }

    /// Reads the pipeline's per-stream figures into the entries (frames, drops, latency, fps).
    func refresh() {
        let summary = pipeline.summary()
        let now = MonotonicClock.seconds()
        let byIndex = Dictionary(summary.streams.map { ($0.stream, $0) }, uniquingKeysWith: { a, _ in a })
        state.withLock { d in
            for name in d.order {
                guard var entry = d.entries[name], let index = entry.status.index, let s = byIndex[index] else {
                    continue
                }
                entry.status.frames = entry.base.frames + s.delivered
                entry.status.dropped = entry.base.dropped + s.dropped
                entry.status.reconnects = entry.base.reconnects + s.reconnects
                entry.status.latencyP50Milliseconds = s.delivered > 0 ? s.p50Milliseconds : nil
                entry.status.latencyP99Milliseconds = s.delivered > 0 ? s.p99Milliseconds : nil
                if entry.status.state == .starting && s.delivered > 0 { entry.status.state = .running }
                // The frame rate over the readings of the last 3 s (one a refresh at most every 0.25 s).
                if entry.readings.last.map({ now - $0.time >= 0.25 }) ?? true {
                    entry.readings.append((now, s.delivered))
                }
                while entry.readings.count > 2, now - entry.readings[0].time > 3 { entry.readings.removeFirst() }
                if let first = entry.readings.first, let last = entry.readings.last, last.time > first.time {
                    entry.status.fps = Double(last.frames - first.frames) / (last.time - first.time)
                }
                d.entries[name] = entry
            }
        }
    }
}
