import LookoutCore
import LookoutEvents
import LookoutMedia
import Synchronization

/// The latest frame of each stream with its tracks drawn, for `frame.jpg` and the MJPEG view. The reader of the
/// tracked results offers every frame; a copy is kept only as often as someone needs one (`liveFramesPerSecond`
/// while a viewer watches the stream, one every `idleFrameSeconds` otherwise), so that the pipeline's buffers go back
/// at once and watching costs the pipeline one copy per shown frame. JPEG encoding happens on the viewers' side,
/// once per frame however many watch (the first to ask encodes, the others wait for it).
final class LiveFrames: Sendable {
    let classNames: [String]
    let liveInterval: Double
    let idleInterval: Double
    private let slots = Mutex<[Int: Slot]>([:])
    /// Streams that have ended: frames they decoded before they ended still arrive, and must not make a slot again
    /// (a slot per removed stream would keep a frame each: 1,000 add/remove cycles grew the service by 700 MB).
    private let ended = Mutex(Set<Int>())

    struct Slot {
        var image: BGRImage?
        var boxes: [Annotator.Box] = []
        /// Grows with each kept frame.
        var version = 0
        var copiedAt = -Double.infinity
        /// A viewer asked for this stream's frames until then (monotonic seconds).
        var watchedUntil = -Double.infinity
        var jpeg: (version: Int, bytes: [UInt8])?
    }

    init(classNames: [String], settings: ServeSettings) {
        self.classNames = classNames
        liveInterval = 1 / max(0.1, settings.liveFramesPerSecond)
        idleInterval = max(0.05, settings.idleFrameSeconds)
    }

    /// A tracked frame from the pipeline: kept (copied) when one is due.
    func offer(_ frame: TrackedFrame) {
        guard let pixels = frame.pixels, !ended.withLock({ $0.contains(frame.stream) }) else { return }
        let now = MonotonicClock.seconds()
        let due = slots.withLock { all -> Bool in
            let slot = all[frame.stream] ?? Slot()
            let interval = slot.watchedUntil > now ? liveInterval : idleInterval
            return now - slot.copiedAt >= interval
        }
        guard due else { return }
        let image = pixels.image()
        let boxes = frame.objects.map { o in
            let name = classNames.indices.contains(o.classIndex) ? classNames[o.classIndex] : "\(o.classIndex)"
            return Annotator.Box(
                x1: o.x1, y1: o.y1, x2: o.x2, y2: o.y2, classIndex: o.classIndex,
                label: "\(name) #\(o.id) \(TextFormat.fixed(Double(o.confidence), digits: 2))")
        }
        slots.withLock { all in
            // Ended while the copy was made: keep nothing.
            guard !ended.withLock({ $0.contains(frame.stream) }) else { return }
            var slot = all[frame.stream] ?? Slot()
            slot.image = image
            slot.boxes = boxes
            slot.version += 1
            slot.copiedAt = now
            all[frame.stream] = slot
        }
    }

    /// Someone watches `stream` live for the next few seconds.
    func watch(_ stream: Int) {
        let until = MonotonicClock.seconds() + 3
        slots.withLock { all in
            guard !ended.withLock({ $0.contains(stream) }) else { return }
            all[stream, default: Slot()].watchedUntil = until
        }
    }

    /// The stream ended: its frame goes, and its late frames are not kept.
    func forget(_ stream: Int) {
        slots.withLock { all in
            ended.withLock { _ = $0.insert(stream) }
            all.removeValue(forKey: stream)
        }
    }

    /// The version of the latest kept frame of `stream` (0: none yet).
    func version(_ stream: Int) -> Int { slots.withLock { $0[stream]?.version ?? 0 } }

    /// The latest kept frame of `stream` as JPEG with its version, encoded once per frame; nil before the first.
    func jpeg(_ stream: Int) -> (version: Int, bytes: [UInt8])? {
        let (cached, image, boxes, version) = slots.withLock {
            all -> ((version: Int, bytes: [UInt8])?, BGRImage?, [Annotator.Box], Int) in
            guard let slot = all[stream] else { return (nil, nil, [], 0) }
            if let jpeg = slot.jpeg, jpeg.version == slot.version { return (jpeg, nil, [], slot.version) }
            return (nil, slot.image, slot.boxes, slot.version)
        }
        if let cached { return cached }
        guard var image else { return nil }
        Annotator(lineWidth: max(2, image.width / 640)).draw(boxes, on: &image)
        guard let bytes = try? ImageEncoder.encode(image, as: .jpeg, quality: 80) else { return nil }
        slots.withLock { all in
            if all[stream] != nil, (all[stream]!.jpeg?.version ?? -1) < version { all[stream]!.jpeg = (version, bytes) }
        }
        return (version, bytes)
    }
}

/// Events as the store commits them, to every live subscriber (Server-Sent Events); a slow subscriber loses the
/// oldest of what it has not read beyond `buffer` events, never holds the writer.
final class EventFeed: Sendable {
    enum Item: Sendable {
        case event(Event)
        case keepAlive
    }

    private let subscribers = Mutex<(next: Int, all: [Int: AsyncStream<Item>.Continuation])>((0, [:]))
    let buffer = 256

    /// Called by the event processor with each transaction's new events.
    func publish(_ events: [Event]) {
        let all = subscribers.withLock { Array($0.all.values) }
        for continuation in all { for e in events { continuation.yield(.event(e)) } }
    }

    /// A new subscriber's stream of events (and a keep-alive every `keepAliveSeconds`); it ends when the subscriber
    /// stops iterating.
    func subscribe(keepAliveSeconds: Double = 15) -> AsyncStream<Item> {
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        let id = subscribers.withLock {
            $0.next += 1
            $0.all[$0.next] = continuation
            return $0.next
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(keepAliveSeconds * 1e9))
                continuation.yield(.keepAlive)
            }
        }
        continuation.onTermination = { [weak self] _ in
            ticker.cancel()
            self?.subscribers.withLock { _ = $0.all.removeValue(forKey: id) }
        }
        return stream
    }

    var count: Int { subscribers.withLock { $0.all.count } }

    /// Ends every subscriber's stream (the service is stopping).
    func finishAll() {
        let all = subscribers.withLock { Array($0.all.values) }
        for continuation in all { continuation.finish() }
    }
}
