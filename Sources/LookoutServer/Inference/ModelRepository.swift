import LookoutCore
import LookoutInference
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The served models of a folder of ONNX files: `NAME.onnx` gives `NAME` (the raw network) and `NAME-detect`
/// (images in, detections out), both on one `Detector`. Every model loads at start; the repository API unloads and
/// loads them (a load rescans the folder, so a file added later can be loaded). Each loaded model has a
/// `ModelBatcher` that merges concurrent requests (`settings`).
package final class ModelRepository: Sendable {
    package enum Kind: Sendable { case raw, detect }

    /// A model's place in the repository index.
    package struct Entry: Sendable {
        package var name: String
        package var kind: Kind
        package var stem: String
        package var ready: Bool
        package var reason: String
    }

    struct State {
        /// Stem → path of every ONNX file seen.
        var files: [String: String] = [:]
        /// Stem → the detector shared by `STEM` and `STEM-detect` while either is loaded.
        var detectors: [String: Detector] = [:]
        /// Model names loaded now.
        var loaded: Set<String> = []
        /// Why a model is not loaded (its last load's error, or "unloaded").
        var reasons: [String: String] = [:]
        /// Model name → its batcher while loaded.
        var batchers: [String: ModelBatcher] = [:]
    }

    package let folder: String
    package let settings: BatchingSettings
    let statisticsBook = ModelStatisticsBook()
    private let makeDetector: @Sendable (String) throws -> Detector
    private let state = Mutex(State())
    /// Loads run one at a time (a detector is built outside the state's lock).
    private let loading = Mutex(())

    /// `makeDetector` builds the detector of an ONNX file (the CLI picks the device and the engine's tuning).
    package init(
        folder: String, settings: BatchingSettings = BatchingSettings(),
        makeDetector: @escaping @Sendable (String) throws -> Detector
    ) throws(ServeError) {
        self.folder = folder
        self.settings = settings
        self.makeDetector = makeDetector
        let files = try Self.scan(folder)
        state.withLock { $0.files = files }
    }

    /// Loads every model of the folder; returns one line per model that failed.
    package func loadAll() -> [String] {
        var failures: [String] = []
        for stem in state.withLock({ $0.files.keys.sorted() }) {
            for name in [stem, stem + "-detect"] {
                do { try load(name) } catch { failures.append("\(name): \(error.message)") }
            }
        }
        return failures
    }

    /// Every model of the folder, by name.
    package func index() -> [Entry] {
        state.withLock { s in
            s.files.keys.sorted().flatMap { stem in
                [(stem, Kind.raw), (stem + "-detect", Kind.detect)].map { name, kind in
                    Entry(
                        name: name, kind: kind, stem: stem, ready: s.loaded.contains(name),
                        reason: s.loaded.contains(name) ? "" : (s.reasons[name] ?? "not loaded"))
                }
            }
        }
    }

    /// The model's entry; 404 for a name the folder does not hold.
    package func entry(_ name: String) throws(ServeError) -> Entry {
        guard let entry = index().first(where: { $0.name == name }) else {
            throw ServeError(404, "unknown model: '\(name)' is not in the model repository")
        }
        return entry
    }

    /// The detector of a loaded model; 404 for an unknown model, 400 for one not loaded (Triton's answers).
    package func detector(_ name: String) throws(ServeError) -> (Entry, Detector) {
        let entry = try entry(name)
        guard entry.ready, let detector = state.withLock({ $0.detectors[entry.stem] }) else {
            throw ServeError(400, "model '\(name)' is not ready: \(entry.reason)")
        }
        return (entry, detector)
    }

    /// The batcher of a loaded model; 404 for an unknown model, 400 for one not loaded.
    func batcher(_ name: String) throws(ServeError) -> ModelBatcher {
        let entry = try entry(name)
        guard entry.ready, let batcher = state.withLock({ $0.batchers[name] }) else {
            throw ServeError(400, "model '\(name)' is not ready: \(entry.reason)")
        }
        return batcher
    }

    /// Runs `request` on the loaded model `name` through its batcher: the outputs and the request's rows.
    func infer(_ name: String, request: InferRequest) async throws
        -> (outputs: [OutputTensor], rows: Int, timing: RequestTiming)
    {
        try await batcher(name).infer(request)
    }

    /// One infer request of `name` as both protocols run it, counted from `start`: `receive` its message, `parse` it
    /// and `respond` with its outputs on NIO's blocking pool (they block a thread for up to seconds, so the
    /// cooperative threads keep answering health checks and other requests), the model's batcher between them
    /// (merging it with concurrent ones). Counted as answered with where its time went (parsing adds to
    /// `compute_input`, responding is `compute_output`), or as refused when any step throws.
    func answer<Message: Sendable, Response: Sendable>(
        _ name: String, since start: UInt64, receive: () async throws -> Message,
        parse: @escaping @Sendable (Message) throws -> InferRequest,
        respond: @escaping @Sendable (InferRequest, [OutputTensor]) throws -> Response
    ) async throws -> Response {
        do {
            let message = try await receive()
            let (parsed, parsing) = try await NIOThreadPool.singleton.runIfActive {
                try Self.timed { try parse(message) }
            }
            let (outputs, batch, inferred) = try await infer(name, request: parsed)
            let (response, writing) = try await NIOThreadPool.singleton.runIfActive {
                try Self.timed { try respond(parsed, outputs) }
            }
            var timing = inferred
            timing.input &+= parsing
            timing.output = writing
            record(name, nanoseconds: MonotonicClock.nanoseconds() &- start, batch: batch, timing: timing)
            return response
        } catch {
            record(name, nanoseconds: MonotonicClock.nanoseconds() &- start, batch: 0, timing: nil)
            throw error
        }
    }

    /// `body`'s result and the nanoseconds it took.
    private static func timed<R>(_ body: () throws -> R) rethrows -> (R, UInt64) {
        let start = MonotonicClock.nanoseconds()
        let result = try body()
        return (result, MonotonicClock.nanoseconds() &- start)
    }

    /// Refuses new requests; the queued ones run at once, without waiting out the queue delay (graceful shutdown).
    package func close() {
        for batcher in state.withLock({ Array($0.batchers.values) }) { batcher.close() }
    }

    /// Refuses new requests and waits until every queued one is answered.
    package func drain() async {
        close()
        for batcher in state.withLock({ Array($0.batchers.values) }) { await batcher.drained() }
    }

    /// Loads (or reloads) `name`, rescanning the folder first.
    package func load(_ name: String) throws(ServeError) {
        let files = try Self.scan(folder)
        state.withLock { $0.files = files }
        let entry = try entry(name)
        try loading.withLock { _ throws(ServeError) in
            if state.withLock({ $0.detectors[entry.stem] }) == nil {
                let path = files[entry.stem]!
                do {
                    let detector = try makeDetector(path)
                    state.withLock { $0.detectors[entry.stem] = detector }
                } catch {
                    let message = "\(error)"
                    state.withLock { $0.reasons[name] = message }
                    throw ServeError(400, "failed to load '\(name)': \(message)")
                }
            }
            state.withLock { s in
                s.loaded.insert(name)
                s.reasons[name] = nil
                if s.batchers[name] == nil, let detector = s.detectors[entry.stem] {
                    s.batchers[name] = ModelBatcher(
                        name: name, kind: entry.kind, detector: detector, settings: settings,
                        statistics: statisticsBook)
                }
            }
        }
    }

    /// Unloads `name`; its file's detector goes once neither of its models is loaded. Requests already queued are
    /// still answered (as Triton lets in-flight requests finish).
    package func unload(_ name: String) throws(ServeError) {
        let entry = try entry(name)
        state.withLock { s in
            s.loaded.remove(name)
            s.reasons[name] = "unloaded"
            s.batchers.removeValue(forKey: name)?.close()
            if !s.loaded.contains(entry.stem) && !s.loaded.contains(entry.stem + "-detect") {
                s.detectors[entry.stem] = nil
            }
        }
    }

    /// Counts one request of `name`: answered (with its rows and where its time went) or refused (`timing` nil), and
    /// its time from arrival to answer (the batcher counts the executions).
    package func record(_ name: String, nanoseconds: UInt64, batch: Int, timing: RequestTiming?) {
        statisticsBook.recordRequest(name, nanoseconds: nanoseconds, rows: batch, timing: timing)
    }

    package func statistics(_ name: String) -> ModelStatistics {
        statisticsBook[name]
    }

    /// Triton's Prometheus metrics (`InferenceMetrics`) in the exposition format, with the requests queued now.
    package func metricsText() -> String {
        let pending = state.withLock { s in s.batchers.mapValues(\.queued) }
        return statisticsBook.metrics.text(pending: pending)
    }

    /// Stem → path of every `*.onnx` in `folder` (symbolic links followed).
    static func scan(_ folder: String) throws(ServeError) -> [String: String] {
        guard let dir = opendir(folder) else {
            throw ServeError(500, "\(folder): cannot read the model repository folder")
        }
        defer { closedir(dir) }
        var files: [String: String] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasSuffix(".onnx"), name.count > 5, !name.hasPrefix(".") else { continue }
            files[String(name.dropLast(5))] = folder + "/" + name
        }
        return files
    }
}
