/// One stream a service runs: a camera or a file, by name.
public struct ServedStream: Sendable, Equatable {
    /// Letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 64 characters.
    public var name: String
    /// What `StreamSource(parsing:)` reads: a file, an image folder, an RTSP/RTMP/HTTP URL.
    public var url: String
    /// Replay a file from the start when it ends.
    public var loop = false
    /// Pace a file at its frame rate, like a camera (a looping demo file should be).
    public var paced = false

    public init(name: String, url: String, loop: Bool = false, paced: Bool = false) {
        self.name = name
        self.url = url
        self.loop = loop
        self.paced = paced
    }

    /// Whether `name` is a valid stream (or zone) name.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 64 else { return false }
        func plain(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
        }
        return plain(first) && name.unicodeScalars.allSatisfy { plain($0) || $0 == "_" || $0 == "." || $0 == "-" }
    }
}

/// How a `LookoutService` listens and guards its API.
public struct ServeSettings: Sendable {
    /// The address to bind: loopback unless told otherwise (TLS belongs to a reverse proxy in front).
    public var host = "127.0.0.1"
    /// 0: any free port (the bound one goes to `onListening`).
    public var port = 8080
    /// The bearer token every endpoint but health and the page's static files asks for; nil: no auth.
    public var token: String?
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 64 * 1024
    /// A client must send a whole request within this many seconds of connecting (or of its previous response):
    /// slow clients (slow-loris) are cut off.
    public var requestSeconds = 10.0
    /// The live view's frame rate cap per stream (frames are copied for viewers at most this often).
    public var liveFramesPerSecond = 15.0
    /// Frames copied for `frame.jpg` and the grid when nobody watches a stream live: one every this many seconds.
    public var idleFrameSeconds = 1.0

    public init() {}
}

/// A request the service refuses: the HTTP status that fits and one line saying why.
public struct ServeError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}
