import LookoutCore

/// The summary of one stream at the end of a run.
public struct StreamSummary: Sendable {
    public var stream: Int
    public var source: String
    public var decoded: Int
    public var delivered: Int
    public var dropped: Int
    public var reconnects: Int
    public var gaps: Int
    public var gapSeconds: Double
    public var decodeErrors: Int
    /// The error that stopped the stream, if one did.
    public var error: String?
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var fps: Double
}

/// The summary of a run: per stream and in total.
public struct PipelineSummary: Sendable {
    public var streams: [StreamSummary]
    public var seconds: Double
    public var frames: Int
    public var dropped: Int
    public var fps: Double
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    /// Mean frames per batch.
    public var batchFill: Double
    public var batches: Int
    /// Process CPU time over wall time (1.0 = one core busy).
    public var cpuUtilisation: Double

    /// Lines for a terminal: one per stream and a total.
    public var text: String {
        var lines: [String] = []
        for s in streams {
            var line =
                "stream \(s.stream) \(s.source): \(s.delivered) frames, \(Self.f(s.fps)) fps, latency p50 \(Self.f(s.p50Milliseconds)) ms p99 \(Self.f(s.p99Milliseconds)) ms"
            if s.dropped > 0 { line += ", \(s.dropped) dropped" }
            if s.reconnects > 0 { line += ", \(s.reconnects) reconnects (\(s.gaps) gaps, \(Self.f(s.gapSeconds)) s)" }
            if s.decodeErrors > 0 { line += ", \(s.decodeErrors) decode errors" }
            if let error = s.error { line += ", error: \(error)" }
            lines.append(line)
        }
        lines.append(
            "total: \(frames) frames in \(Self.f(seconds)) s, \(Self.f(fps)) fps, latency p50 \(Self.f(p50Milliseconds)) ms p99 \(Self.f(p99Milliseconds)) ms, \(dropped) dropped, batch fill \(Self.f(batchFill)) (\(batches) batches), CPU \(Int((cpuUtilisation * 100).rounded()))%"
        )
        return lines.joined(separator: "\n")
    }

    static func f(_ v: Double) -> String { TextFormat.fixed(v, digits: 1) }
}
