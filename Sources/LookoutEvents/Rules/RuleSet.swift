/// Where a rule set's coordinates are measured.
public enum CoordinateSpace: String, Sendable, CaseIterable {
    /// Fractions of the frame's width and height (0…1): one file fits every resolution.
    case normalized
    /// The frame's pixels.
    case pixels
}

/// The point of a box that zones and lines test: the bottom centre (where an object stands; Frigate's and
/// DeepStream's default) or another one.
public enum AnchorPoint: String, Sendable, CaseIterable {
    case bottomCenter = "bottom-center"
    case center
    case topCenter = "top-center"

    func point(x1: Float, y1: Float, x2: Float, y2: Float) -> Point2 {
        let x = Double(x1 + x2) / 2
        switch self {
        case .bottomCenter: return Point2(x, Double(y2))
        case .center: return Point2(x, Double(y1 + y2) / 2)
        case .topCenter: return Point2(x, Double(y1))
        }
    }
}

/// Which streams a zone, line or rule applies to: all, or those named by index or by source.
public enum StreamSelection: Sendable, Hashable {
    case all
    case some(indices: Set<Int>, names: Set<String>)

    public func includes(stream: Int, source: String) -> Bool {
        switch self {
        case .all: true
        case .some(let indices, let names): indices.contains(stream) || names.contains(source)
        }
    }
}

/// A named polygon.
public struct Zone: Sendable, Hashable {
    public var name: String
    public var polygon: Polygon
    public var coordinates: CoordinateSpace
    public var streams: StreamSelection

    public init(name: String, polygon: Polygon, coordinates: CoordinateSpace, streams: StreamSelection = .all) {
        self.name = name
        self.polygon = polygon
        self.coordinates = coordinates
        self.streams = streams
    }
}

/// A named directed line segment `from → to`. A crossing is `leftToRight` when the point moves from the left of the
/// line to its right as seen on the screen looking from `from` towards `to` (for a line drawn left to right across
/// the frame: moving down the screen).
public struct CountingLine: Sendable, Hashable {
    public var name: String
    public var from: Point2
    public var to: Point2
    public var coordinates: CoordinateSpace
    public var streams: StreamSelection
}

public enum CrossingDirection: String, Sendable, CaseIterable {
    case leftToRight = "left-to-right"
    case rightToLeft = "right-to-left"
    case any
}

/// What makes a rule fire.
public enum Trigger: Sendable, Hashable {
    /// A track's point comes into the zone (or is first seen in it). The event stays open while it stays.
    case enter(zone: String)
    /// A track's point goes out of the zone (instantaneous).
    case leave(zone: String)
    /// A track's point has stayed in the zone for `seconds`; the event opens then and closes when it leaves.
    case dwell(zone: String, seconds: Double)
    /// A track's point crosses the line in `direction` (instantaneous).
    case cross(line: String, direction: CrossingDirection)
    /// At least `count` tracks are in the zone; the event closes when fewer are.
    case count(zone: String, atLeast: Int)

    public var name: String {
        switch self {
        case .enter: "enter"
        case .leave: "leave"
        case .dwell: "dwell"
        case .cross: "cross"
        case .count: "count"
        }
    }

    public var zone: String? {
        switch self {
        case .enter(let z), .leave(let z), .dwell(let z, _), .count(let z, _): z
        case .cross: nil
        }
    }

    public var line: String? {
        if case .cross(let l, _) = self { return l }
        return nil
    }
}

/// A rule: a trigger, the tracks it considers, how often it may fire, and where its events go.
public struct Rule: Sendable, Hashable {
    public var name: String
    public var trigger: Trigger
    /// Class indices the rule considers; nil: every class.
    public var classes: Set<Int>?
    public var minConfidence: Float = 0
    /// Box area in pixels².
    public var minArea: Double = 0
    public var anchor: AnchorPoint = .bottomCenter
    /// Seconds after an event during which the same rule does not fire again for the same track (for `count`: at
    /// all).
    public var cooldown: Double = 0
    /// Sink names; nil: every sink of the file.
    public var sinks: [String]?
    public var streams: StreamSelection = .all

    public init(name: String, trigger: Trigger, classes: Set<Int>? = nil, streams: StreamSelection = .all) {
        self.name = name
        self.trigger = trigger
        self.classes = classes
        self.streams = streams
    }
}

/// Where events go besides the store.
public enum SinkConfiguration: Sendable, Hashable {
    case webhook(WebhookConfiguration)
    case jsonLines(name: String, path: String)

    public var name: String {
        switch self {
        case .webhook(let w): w.name
        case .jsonLines(let name, _): name
        }
    }
}

/// An HTTP POST of each event's JSON.
public struct WebhookConfiguration: Sendable, Hashable {
    public enum Snapshot: String, Sendable, CaseIterable {
        /// The JPEG inline, base64 (`snapshot.jpeg_base64`).
        case inline
        /// A URL made of `snapshotBaseURL` and the event id (`snapshot.url`); the JPEG stays in the store.
        case url
        case none
    }
    public var name: String
    public var url: String
    public var snapshot: Snapshot = .none
    public var snapshotBaseURL: String?
    public var headers: [String: String] = [:]
    /// Seconds for connecting and for the whole request.
    public var timeout: Double = 5
    /// First retry delay; each failure doubles it up to `maxBackoff`.
    public var initialBackoff: Double = 1
    public var maxBackoff: Double = 300
}

/// The zones, lines, rules and sinks of a rule file.
public struct RuleSet: Sendable {
    public var zones: [Zone] = []
    public var lines: [CountingLine] = []
    public var rules: [Rule] = []
    public var sinks: [SinkConfiguration] = []
    /// Frames a track's point must stay on the other side of a zone's edge or a line before the change counts
    /// (Frigate's zone `inertia`; 1: every change at once).
    public var inertia = 3
    /// The file it came from (for messages).
    public var source: String = "rules"

    public init() {}
}
