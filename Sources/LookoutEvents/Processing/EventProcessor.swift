import LookoutCore
import LookoutPipeline
import ServiceLifecycle
import Synchronization

/// Tracking, rules, events, the store and the sinks beside a pipeline: it reads the pipeline's results and hands out
/// tracked frames (`results`), never holding the pipeline's threads.
///
/// ```
/// pipeline.results ─► reader task (a permit per frame: at most `framesInFlight`) ─► worker threads (a stream stays on
///   one: ByteTrack, rules, snapshot JPEGs for new events) ─► writer thread (one SQLite transaction for everything
///   waiting: events + their outbox rows, counts, tracks) ─► `results` (a frame comes out after its events are
///   committed) ─► deliverers (one task per sink, from the outbox, with retries)
/// ```
///
/// A `Service`: `run()` returns when the pipeline's results have ended, every frame has been tracked and stored and
/// the sinks have delivered what is owed (or `drainSeconds` passed: the rest goes at the next start).
public final class EventProcessor: Service, @unchecked Sendable {
    public let options: EventProcessorOptions
    public let results: TrackedResults
    public let store: EventStore?
    let pipeline: Pipeline
    public let classNames: [String]
    let sources: [String]
    let deliverers: [Deliverer]
    let log: @Sendable (String) -> Void
    private let output = ResultQueue<TrackedFrame>(capacity: 256, blocksWhenFull: true)
    private let permits: Permits
    private let workerQueues: [BlockingQueue<WorkItem>]
    private let writerQueue = DrainQueue<WorkerOutput>()
    private let counters = Mutex(Counters())
    private let runID: Int64?

    enum WorkItem: Sendable {
        case frame(FrameResult)
        /// A stream left a serving pipeline: its open events close and its state goes.
        case streamEnded(Int)
        case end
    }

    /// The rules in force and their version (each worker remakes a stream's rule engine when it changes).
    private let rules: Mutex<(set: RuleSet?, version: Int)>
    /// Subscribers to the events committed to the store (`subscribe`), by id.
    private let subscribers = Mutex<(next: Int, all: [Int: @Sendable ([Event]) -> Void])>((0, [:]))

    struct Counters {
        var frames = 0
        var events = 0
        var storeFailures = 0
        var unstoredEvents = 0
    }

    /// Opens the store (creating it) and checks the rules against the pipeline's sources. Errors name the store file,
    /// the rule file's key, or the sink.
    public init(
        pipeline: Pipeline, classNames: [String], options: EventProcessorOptions = EventProcessorOptions(),
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(LookoutError) {
        try options.tracker.validate()
        guard options.framesInFlight >= 1 else {
            throw LookoutError.invalidArgument("framesInFlight", "must be at least 1")
        }
        self.pipeline = pipeline
        self.options = options
        rules = Mutex((options.rules, 0))
        self.classNames = classNames
        self.log = log
        sources = pipeline.sources.map(\.description)
        // A serving pipeline's streams come and go: rules naming a stream apply to it while it runs.
        if let rules = options.rules, !pipeline.options.servesStreams {
            try Self.checkStreams(rules, sources: sources)
        }
        if let path = options.storePath {
            let store = try EventStore(path: path)
            do {
                runID = try store.beginRun(sources: sources, now: WallClock.milliseconds())
                if !options.retention.isUnlimited {
                    try store.applyRetention(options.retention, now: WallClock.milliseconds())
                }
            } catch { throw EventStore.lookoutError(error) }
            self.store = store
        } else {
            if let rules = options.rules, !rules.sinks.isEmpty {
                throw LookoutError.invalidArgument(
                    "storePath", "is needed for the sinks of \(rules.source) (deliveries go through the store's outbox)"
                )
            }
            store = nil
            runID = nil
        }
        deliverers = (options.rules?.sinks ?? []).map { sink in
            Deliverer(sink: sink, storePath: options.storePath ?? "", log: log)
        }
        permits = Permits(options.framesInFlight)
        let streams = pipeline.options.servesStreams ? pipeline.options.plannedStreams : pipeline.sources.count
        let workers = options.workers ?? max(1, min(streams, SystemInfo.activeProcessorCount / 2, 8))
        workerQueues = (0..<max(1, workers)).map { _ in BlockingQueue<WorkItem>() }
        results = TrackedResults(queue: output)
    }

    /// Zones, lines and rules that name streams must name streams of the pipeline.
    static func checkStreams(_ rules: RuleSet, sources: [String]) throws(LookoutError) {
        var named: [(String, StreamSelection)] = rules.zones.map { ("zone '\($0.name)'", $0.streams) }
        named += rules.lines.map { ("line '\($0.name)'", $0.streams) }
        named += rules.rules.map { ("rule '\($0.name)'", $0.streams) }
        for (what, selection) in named {
            guard case .some(let indices, let names) = selection else { continue }
            for index in indices where !sources.indices.contains(index) {
                throw LookoutError(
                    .invalidArgument, "\(rules.source): \(what): no stream \(index) (streams 0…\(sources.count - 1))",
                    parameter: "rules")
            }
            for name in names where !sources.contains(name) {
                throw LookoutError(
                    .invalidArgument,
                    "\(rules.source): \(what): no stream named '\(name)' (streams: \(sources.joined(separator: ", ")))",
                    parameter: "rules")
            }
        }
    }

    /// The rules in force.
    public var currentRules: RuleSet? { rules.withLock { $0.set } }

    /// Puts `set` in force from each stream's next frame (events open under the old rules close then). Its sinks
    /// must be those of the rules the processor started with (deliverers are made once).
    public func replaceRules(_ set: RuleSet) throws(LookoutError) {
        let sinks = options.rules?.sinks.map(\.name) ?? []
        guard set.sinks.map(\.name) == sinks else {
            throw LookoutError.invalidArgument("rules", "must keep the sinks the processor started with")
        }
        rules.withLock {
            $0.set = set
            $0.version += 1
        }
    }

    /// A serving pipeline's stream has ended (it was removed): its open events close and its tracker goes.
    public func streamEnded(_ stream: Int) {
        workerQueues[stream % workerQueues.count].push(.streamEnded(stream))
    }

    /// Calls `handler` with the events each store transaction opened, after it committed (on the writer thread:
    /// keep it short). Returns the token for `unsubscribe`.
    public func subscribe(_ handler: @escaping @Sendable ([Event]) -> Void) -> Int {
        subscribers.withLock {
            $0.next += 1
            $0.all[$0.next] = handler
            return $0.next
        }
    }

    public func unsubscribe(_ token: Int) { subscribers.withLock { _ = $0.all.removeValue(forKey: token) } }

    /// Frames tracked, events opened, and events a failing store did not keep, so far.
    public var counts: (frames: Int, events: Int, unstoredEvents: Int) {
        counters.withLock { ($0.frames, $0.events, $0.unstoredEvents) }
    }

    public func run() async throws {
        let work = StreamWork(
            classNames: classNames, options: options, sinkNames: options.rules?.sinks.map(\.name) ?? [])
        let pipeline = self.pipeline
        let tracker = options.tracker
        let classNames = self.classNames
        for queue in workerQueues {
            PlatformThread.spawn(name: "lookout-track", stackSize: 1 << 20) { [self, writerQueue] in
                // This worker's streams, made at their first frame.
                var mine: [Int: StreamState] = [:]
                // Streams that ended: a late frame of one passes untracked rather than remaking its state.
                var ended = Set<Int>()
                func state(for stream: Int) -> StreamState {
                    if let state = mine[stream] { return state }
                    let source = pipeline.source(of: stream)?.description ?? "stream \(stream)"
                    let (set, version) = self.rules.withLock { ($0.set, $0.version) }
                    let state = StreamState(
                        stream: stream, source: source, tracker: ByteTracker(options: tracker),
                        engine: set.map {
                            RuleEngine(
                                set: $0, stream: stream, source: source, classNames: classNames,
                                forgetAfter: tracker.maxFramesLost)
                        }, rulesVersion: version)
                    mine[stream] = state
                    return state
                }
                while let item = queue.pop() {
                    switch item {
                    case .frame(let result):
                        if ended.contains(result.stream) {
                            writerQueue.push(WorkerOutput(batch: StoreBatch(), frame: work.untracked(result)))
                            continue
                        }
                        let state = state(for: result.stream)
                        let (set, version) = self.rules.withLock { ($0.set, $0.version) }
                        if state.rulesVersion != version {
                            let closed = work.replaceRules(
                                state, with: set, version: version, now: WallClock.milliseconds())
                            writerQueue.push(WorkerOutput(batch: closed, frame: nil, closesStream: false))
                        }
                        writerQueue.push(work.process(result, state: state, now: WallClock.milliseconds()))
                    case .streamEnded(let stream):
                        ended.insert(stream)
                        if let state = mine.removeValue(forKey: stream) {
                            let batch = work.finish(state, now: WallClock.milliseconds())
                            writerQueue.push(WorkerOutput(batch: batch, frame: nil, closesStream: false))
                        }
                    case .end:
                        var batch = StoreBatch()
                        for state in mine.values.sorted(by: { $0.stream < $1.stream }) {
                            batch.merge(work.finish(state, now: WallClock.milliseconds()))
                        }
                        batch.time = WallClock.milliseconds()
                        writerQueue.push(WorkerOutput(batch: batch, frame: nil, closesStream: true))
                    }
                }
            }
        }
        let writerDone = Permits(0)
        PlatformThread.spawn(name: "lookout-store", stackSize: 1 << 20) { [self] in
            writerLoop(workers: workerQueues.count)
            writerDone.release()
        }
        let delivering = deliverers.map { deliverer in
            Task {
                do { try await deliverer.run() } catch { log("\(deliverer.sink.name): \(error)") }
            }
        }
        // The reader: the pipeline's results in order, each stream to its worker.
        for await result in pipeline.results {
            await permits.acquire()
            workerQueues[result.stream % workerQueues.count].push(.frame(result))
        }
        for queue in workerQueues {
            queue.push(.end)
            queue.close()
        }
        await writerDone.acquire()
        let deadline = WallClock.milliseconds() + Int64(options.drainSeconds * 1000)
        for deliverer in deliverers { deliverer.finish(deadline: deadline) }
        for task in delivering { await task.value }
        if let store, let runID { try? store.endRun(runID, now: WallClock.milliseconds()) }
    }

    private func writerLoop(workers: Int) {
        var ended = 0
        var pending = StoreBatch()
        var lastRetention = MonotonicClock.seconds()
        while ended < workers || true {
            guard let items = writerQueue.popAll() else { break }
            var frames: [TrackedFrame] = []
            var batch = pending
            for item in items {
                batch.merge(item.batch)
                if let frame = item.frame { frames.append(frame) }
                if item.closesStream { ended += 1 }
            }
            let opened = batch.opened.count
            if let store, let runID {
                do {
                    try store.write(batch, run: runID)
                    pending = StoreBatch()
                    if opened > 0 {
                        for d in deliverers { d.ring() }
                        let events = batch.opened.map(\.event)
                        for handler in subscribers.withLock({ Array($0.all.values) }) { handler(events) }
                    }
                    if !options.retention.isUnlimited, MonotonicClock.seconds() - lastRetention > 60 {
                        lastRetention = MonotonicClock.seconds()
                        try store.applyRetention(options.retention, now: WallClock.milliseconds())
                    }
                } catch {
                    // The pipeline goes on; the batch is retried with the next one, up to a bound.
                    let first = counters.withLock { c -> Bool in
                        c.storeFailures += 1
                        return c.storeFailures == 1
                    }
                    if first { log("event store: \(EventStore.lookoutError(error).message); retrying") }
                    if batch.opened.count > 10_000 {
                        counters.withLock { $0.unstoredEvents += batch.opened.count }
                        log("event store: \(batch.opened.count) events could not be stored and are dropped")
                        pending = StoreBatch()
                    } else {
                        pending = batch
                    }
                }
            }
            counters.withLock {
                $0.frames += frames.count
                $0.events += opened
            }
            for frame in frames { output.push(frame) }
            permits.release(frames.count)
            if ended >= workers { break }
        }
        output.finish()
    }
}
