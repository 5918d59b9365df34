/// The rules of one stream, evaluated frame by frame on its tracked objects: zone membership and line crossings per
/// track, the events they open, update and close, and the counts per zone and line. Not thread-safe: one per stream,
/// fed in frame order (the stream's worker owns it).
public final class RuleEngine {
    /// What one frame changed.
    public struct Output: Sendable {
        /// Events that start at this frame (closed already for instantaneous triggers).
        public var opened: [Event] = []
        /// Open events whose peak confidence rose at this frame (id, confidence, box).
        public var peaks: [(id: String, confidence: Float, box: [Float])] = []
        /// Events that ended at this frame (their final form).
        public var closed: [Event] = []
        /// Count changes: (kind `zone`/`line`, name, direction `entries`/`exits`/`left-to-right`/`right-to-left`, +n).
        public var counts: [CountChange] = []
        public var isEmpty: Bool { opened.isEmpty && peaks.isEmpty && closed.isEmpty && counts.isEmpty }
    }

    public struct CountChange: Sendable, Hashable {
        public var kind: String
        public var name: String
        public var direction: String
        public var delta: Int
    }

    /// One frame's input.
    public struct Frame: Sendable {
        public var frame: Int
        /// Stream seconds (pts, or frame / 30 when the source has none).
        public var seconds: Double
        /// Wall-clock milliseconds.
        public var wallTime: Int64
        public var width: Int
        public var height: Int
        public var objects: [TrackedObject]

        public init(frame: Int, seconds: Double, wallTime: Int64, width: Int, height: Int, objects: [TrackedObject]) {
            self.frame = frame
            self.seconds = seconds
            self.wallTime = wallTime
            self.width = width
            self.height = height
            self.objects = objects
        }
    }

    public let stream: Int
    public let source: String
    public let rules: [Rule]
    let classNames: [String]
    /// Frames a point must stay on the other side of a zone's edge or a line before the change counts.
    let inertia: Int
    /// Frames a track may go unseen before its state is dropped (and its open events closed).
    let forgetAfter: Int
    private let zoneSpecs: [Zone]
    private let lineSpecs: [CountingLine]
    private var placedFor: (Int, Int)?
    private var zones: [Polygon] = []
    private var lines: [(Point2, Point2)] = []
    private var tracks: [Int: TrackState] = [:]
    /// Open events by (rule index, track id); count rules use track id −1.
    private var open: [Key: Event] = [:]
    private var lastFired: [Key: Double] = [:]
    private var lastFrame: Frame?

    struct Key: Hashable {
        var rule: Int
        var track: Int
    }

    struct TrackState {
        var lastSeen: Int
        var zones: [ZoneMembership]
        var lines: [LineSide]
        var object: TrackedObject

        var inside: [Bool?] { zones.map(\.inside) }
    }

    /// The rules, zones and lines of `set` that apply to this stream.
    public init(set: RuleSet, stream: Int, source: String, classNames: [String], forgetAfter: Int = 30) {
        self.stream = stream
        self.source = source
        self.classNames = classNames
        self.forgetAfter = forgetAfter
        inertia = set.inertia
        rules = set.rules.filter { $0.streams.includes(stream: stream, source: source) }
        zoneSpecs = set.zones.filter { $0.streams.includes(stream: stream, source: source) }
        lineSpecs = set.lines.filter { $0.streams.includes(stream: stream, source: source) }
    }

    /// Zone and line names this stream counts.
    public var zoneNames: [String] { zoneSpecs.map(\.name) }
    public var lineNames: [String] { lineSpecs.map(\.name) }

    private func place(width: Int, height: Int) {
        guard placedFor.map({ $0 != (width, height) }) ?? true else { return }
        placedFor = (width, height)
        zones = zoneSpecs.map {
            $0.coordinates == .normalized ? $0.polygon.scaled(x: Double(width), y: Double(height)) : $0.polygon
        }
        lines = lineSpecs.map {
            $0.coordinates == .normalized
                ? (
                    Point2($0.from.x * Double(width), $0.from.y * Double(height)),
                    Point2($0.to.x * Double(width), $0.to.y * Double(height))
                ) : ($0.from, $0.to)
        }
    }

    /// Counting and rules use the bottom centre for the per-zone and per-line counts, and each rule its own point.
    public func process(_ frame: Frame) -> Output {
        place(width: frame.width, height: frame.height)
        lastFrame = frame
        var out = Output()
        var seen = Set<Int>()
        for object in frame.objects {
            seen.insert(object.id)
            let p = AnchorPoint.bottomCenter.point(x1: object.x1, y1: object.y1, x2: object.x2, y2: object.y2)
            var state =
                tracks[object.id]
                ?? TrackState(
                    lastSeen: frame.frame, zones: Array(repeating: ZoneMembership(), count: zones.count),
                    lines: Array(repeating: LineSide(), count: lines.count), object: object)
            state.lastSeen = frame.frame
            state.object = object
            var entered = [Bool](repeating: false, count: zones.count)
            var left = [Bool](repeating: false, count: zones.count)
            for (z, polygon) in zones.enumerated() {
                switch state.zones[z].update(
                    polygon.contains(p), seconds: frame.seconds, frame: frame.frame, inertia: inertia)
                {
                case .entered:
                    entered[z] = true
                    out.counts.append(
                        CountChange(kind: "zone", name: zoneSpecs[z].name, direction: "entries", delta: 1))
                case .left:
                    left[z] = true
                    out.counts.append(CountChange(kind: "zone", name: zoneSpecs[z].name, direction: "exits", delta: 1))
                case nil: break
                }
            }
            var crossed = [CrossingDirection?](repeating: nil, count: lines.count)
            for (l, segment) in lines.enumerated() {
                guard let direction = state.lines[l].update(p, segment.0, segment.1, inertia: inertia) else { continue }
                crossed[l] = direction
                out.counts.append(
                    CountChange(kind: "line", name: lineSpecs[l].name, direction: direction.rawValue, delta: 1))
            }
            tracks[object.id] = state
            evaluate(object, state: state, entered: entered, left: left, crossed: crossed, frame: frame, into: &out)
        }
        countRules(frame, into: &out)
        // Tracks unseen for too long: forget them and close what they held open.
        for (id, state) in tracks where !seen.contains(id) && frame.frame - state.lastSeen > forgetAfter {
            tracks[id] = nil
            for (key, event) in open where key.track == id {
                out.closed.append(close(event, frame: frame, lastSeen: state.lastSeen))
                open[key] = nil
            }
        }
        return out
    }

    /// Closes every open event (the stream ended).
    public func finish() -> [Event] {
        guard let frame = lastFrame else { return [] }
        let events = open.values.map { close($0, frame: frame, lastSeen: frame.frame) }
        open = [:]
        return events.sorted { $0.startFrame < $1.startFrame }
    }

    private func close(_ event: Event, frame: Frame, lastSeen: Int) -> Event {
        var e = event
        e.state = .closed
        e.endFrame = min(frame.frame, max(lastSeen, e.startFrame))
        e.endPTS = frame.seconds
        e.endTime = frame.wallTime
        return e
    }

    private func passes(_ rule: Rule, _ object: TrackedObject) -> Bool {
        if let classes = rule.classes, !classes.contains(object.classIndex) { return false }
        if object.confidence < rule.minConfidence { return false }
        if rule.minArea > 0 && Double(object.width) * Double(object.height) < rule.minArea { return false }
        return true
    }

    private func zoneIndex(_ name: String) -> Int? { zoneSpecs.firstIndex { $0.name == name } }

    private func makeEvent(_ rule: Rule, _ object: TrackedObject?, frame: Frame, startFrame: Int, startSeconds: Double)
        -> Event
    {
        let box = object.map { [$0.x1, $0.y1, $0.x2, $0.y2] }
        return Event(
            id: EventID.make(milliseconds: frame.wallTime), rule: rule.name, trigger: rule.trigger.name,
            stream: stream, source: source, trackID: object?.id, classIndex: object?.classIndex,
            className: object.map {
                classNames.indices.contains($0.classIndex) ? classNames[$0.classIndex] : "\($0.classIndex)"
            },
            zone: rule.trigger.zone, line: rule.trigger.line, startTime: frame.wallTime, startFrame: startFrame,
            startPTS: startSeconds, peakConfidence: object?.confidence, peakFrame: frame.frame, box: box, state: .open)
    }

    private func cooledDown(_ key: Key, _ rule: Rule, _ seconds: Double) -> Bool {
        guard rule.cooldown > 0, let last = lastFired[key] else { return true }
        return seconds - last >= rule.cooldown
    }

    private func evaluate(
        _ object: TrackedObject, state: TrackState, entered: [Bool], left: [Bool], crossed: [CrossingDirection?],
        frame: Frame, into out: inout Output
    ) {
        for (r, rule) in rules.enumerated() {
            let key = Key(rule: r, track: object.id)
            // The settled zone membership (and what changed at this frame) or line crossing at the rule's point: the
            // per-track state for the bottom centre, the rule's own for another point (updated every frame, whatever
            // the filters, so that it never goes stale).
            var zone: (index: Int, inside: Bool, change: ZoneMembership.Change?, since: (seconds: Double, frame: Int))?
            var crossing: CrossingDirection?
            if case .count = rule.trigger { continue }
            if let z = rule.trigger.zone.flatMap(zoneIndex) {
                if rule.anchor == .bottomCenter {
                    let change: ZoneMembership.Change? = entered[z] ? .entered : (left[z] ? .left : nil)
                    zone = (z, state.zones[z].inside ?? false, change, state.zones[z].since)
                } else {
                    let change = anchorChange(object, z, rule, key, frame: frame)
                    let membership = anchorZone[key] ?? ZoneMembership()
                    zone = (z, membership.inside ?? false, change, membership.since)
                }
            } else if let l = rule.trigger.line.flatMap({ name in lineSpecs.firstIndex { $0.name == name } }) {
                crossing = rule.anchor == .bottomCenter ? crossed[l] : crossedWithAnchor(object, l, rule, key)
            }
            // Open events of this track follow its peak and close when it leaves.
            if var event = open[key] {
                if let zone, !zone.inside {
                    out.closed.append(close(event, frame: frame, lastSeen: frame.frame))
                    open[key] = nil
                    continue
                }
                if passes(rule, object), object.confidence > event.peakConfidence ?? 0 {
                    event.peakConfidence = object.confidence
                    event.peakFrame = frame.frame
                    event.box = [object.x1, object.y1, object.x2, object.y2]
                    event.classIndex = object.classIndex
                    open[key] = event
                    out.peaks.append((event.id, object.confidence, event.box!))
                }
                continue
            }
            guard passes(rule, object), cooledDown(key, rule, frame.seconds) else { continue }
            var fired: Event?
            switch rule.trigger {
            case .enter:
                guard let zone, zone.change == .entered else { continue }
                let event = makeEvent(rule, object, frame: frame, startFrame: frame.frame, startSeconds: frame.seconds)
                open[key] = event
                fired = event
            case .leave:
                guard let zone, zone.change == .left else { continue }
                let event = makeEvent(rule, object, frame: frame, startFrame: frame.frame, startSeconds: frame.seconds)
                fired = close(event, frame: frame, lastSeen: frame.frame)
            case .dwell(_, let seconds):
                guard let zone, zone.inside, frame.seconds - zone.since.seconds >= seconds else { continue }
                let event = makeEvent(
                    rule, object, frame: frame, startFrame: zone.since.frame, startSeconds: zone.since.seconds)
                open[key] = event
                fired = event
            case .cross(_, let wanted):
                guard let crossing, wanted == .any || wanted == crossing else { continue }
                var event = makeEvent(rule, object, frame: frame, startFrame: frame.frame, startSeconds: frame.seconds)
                event.direction = crossing.rawValue
                fired = close(event, frame: frame, lastSeen: frame.frame)
            case .count:
                continue
            }
            if let fired {
                lastFired[key] = frame.seconds
                out.opened.append(fired)
            }
        }
    }

    // Rules with another point than the bottom centre keep their own membership per track.
    private var anchorZone: [Key: ZoneMembership] = [:]
    private var anchorLine: [Key: LineSide] = [:]

    private func anchorChange(_ object: TrackedObject, _ z: Int, _ rule: Rule, _ key: Key, frame: Frame)
        -> ZoneMembership.Change?
    {
        let raw = zones[z].contains(rule.anchor.point(x1: object.x1, y1: object.y1, x2: object.x2, y2: object.y2))
        return anchorZone[key, default: ZoneMembership()].update(
            raw, seconds: frame.seconds, frame: frame.frame, inertia: inertia)
    }

    private func crossedWithAnchor(_ object: TrackedObject, _ l: Int, _ rule: Rule, _ key: Key) -> CrossingDirection? {
        let p = rule.anchor.point(x1: object.x1, y1: object.y1, x2: object.x2, y2: object.y2)
        return anchorLine[key, default: LineSide()].update(p, lines[l].0, lines[l].1, inertia: inertia)
    }

    private func countRules(_ frame: Frame, into out: inout Output) {
        for (r, rule) in rules.enumerated() {
            guard case .count(let zone, let atLeast) = rule.trigger, let z = zoneIndex(zone) else { continue }
            let key = Key(rule: r, track: -1)
            let members = frame.objects.filter { object in
                passes(rule, object)
                    && zones[z].contains(rule.anchor.point(x1: object.x1, y1: object.y1, x2: object.x2, y2: object.y2))
            }
            if var event = open[key] {
                if members.count < atLeast {
                    out.closed.append(close(event, frame: frame, lastSeen: frame.frame))
                    open[key] = nil
                } else if members.count > event.count ?? 0 {
                    event.count = members.count
                    open[key] = event
                }
                continue
            }
            guard members.count >= atLeast, cooledDown(key, rule, frame.seconds) else { continue }
            let best = members.max { $0.confidence < $1.confidence }
            var event = makeEvent(rule, best, frame: frame, startFrame: frame.frame, startSeconds: frame.seconds)
            event.trackID = nil
            event.count = members.count
            open[key] = event
            lastFired[key] = frame.seconds
            out.opened.append(event)
        }
    }
}
