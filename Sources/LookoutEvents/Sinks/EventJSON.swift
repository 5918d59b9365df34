import LookoutCore

/// The JSON of an event, as sinks send it and `lookout events --json` prints it.
public enum EventJSON {
    package static func object(_ e: Event) -> [(String, JSONValue)] {
        func opt<T>(_ v: T?, _ f: (T) -> JSONValue) -> JSONValue { v.map(f) ?? .null }
        return [
            ("id", .string(e.id)), ("rule", .string(e.rule)), ("trigger", .string(e.trigger)),
            ("stream", .int(e.stream)), ("source", .string(e.source)), ("track_id", opt(e.trackID) { .int($0) }),
            ("class", opt(e.className) { .string($0) }), ("zone", opt(e.zone) { .string($0) }),
            ("line", opt(e.line) { .string($0) }), ("direction", opt(e.direction) { .string($0) }),
            ("count", opt(e.count) { .int($0) }), ("state", .string(e.state.rawValue)),
            ("start", .string(WallClock.iso(e.startTime))), ("end", opt(e.endTime) { .string(WallClock.iso($0)) }),
            ("start_frame", .int(e.startFrame)), ("end_frame", opt(e.endFrame) { .int($0) }),
            ("start_pts", opt(e.startPTS) { JSONValue.rounded($0, digits: 3) }),
            ("end_pts", opt(e.endPTS) { JSONValue.rounded($0, digits: 3) }),
            ("peak_confidence", opt(e.peakConfidence) { JSONValue.rounded(Double($0), digits: 4) }),
            ("peak_frame", opt(e.peakFrame) { .int($0) }),
            ("box", opt(e.box) { .array($0.map { JSONValue.rounded(Double($0), digits: 1) }) }),
        ]
    }

    public static func line(_ e: Event) -> String { JSONValue.object(object(e)).render(pretty: false) }

    /// The webhook body: the event, and its snapshot as configured.
    static func payload(_ e: Event, snapshot: WebhookConfiguration.Snapshot, baseURL: String?, jpeg: [UInt8]?)
        -> [UInt8]
    {
        var fields = object(e)
        switch snapshot {
        case .inline:
            fields.append(("snapshot", jpeg.map { .object([("jpeg_base64", .string(Base64.encode($0)))]) } ?? .null))
        case .url:
            let base = (baseURL ?? "").hasSuffix("/") ? String((baseURL ?? "").dropLast()) : (baseURL ?? "")
            fields.append(("snapshot", jpeg == nil ? .null : .object([("url", .string("\(base)/\(e.id).jpg"))])))
        case .none:
            break
        }
        return Array(JSONValue.object(fields).render(pretty: false).utf8)
    }
}

enum Base64 {
    private static let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
