import Foundation

/// A real RTSP server (scripts/rtsp-test-server.pl over Debian's librtsp-server-perl) on free loopback ports, fed
/// by the ffmpeg CLI publishing a looped clip. Both can be killed and restarted; everything is killed on `close()`.
final class RTSPTestServer: @unchecked Sendable {
    let clientPort: Int
    let sourcePort: Int
    let rtpStart: Int
    let clip: String
    private var server: Process?
    private var publisher: Process?

    /// Whether perl with RTSP::Server and the ffmpeg CLI are installed (scripts/install-deps installs both).
    static var available: Bool {
        run(["perl", "-MRTSP::Server", "-MAnyEvent", "-e", "1"]) && run(["ffmpeg", "-hide_banner", "-version"])
    }

    /// CI sets LOOKOUT_REQUIRE_RTSP=1: there a missing server is a failure, not a skip.
    static var required: Bool { ProcessInfo.processInfo.environment["LOOKOUT_REQUIRE_RTSP"] == "1" }

    private static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    init(clip: String) throws {
        self.clip = clip
        clientPort = try LoopbackListener.freePort()
        sourcePort = try LoopbackListener.freePort()
        // RTP/RTCP port pairs are handed out upwards from here, two per session.
        rtpStart = (try LoopbackListener.freePort()) & ~1
    }

    var url: String { "rtsp://127.0.0.1:\(clientPort)/live" }

    func startServer() throws {
        let script = Fixtures.repository + "/scripts/rtsp-test-server.pl"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["perl", script, String(clientPort), String(sourcePort), String(rtpStart)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        server = process
        // The script prints "listening" once both sockets are bound (after RTSP::Server's own banner).
        var output = ""
        let deadline = Date(timeIntervalSinceNow: 15)
        while !output.contains("listening") && Date() < deadline && process.isRunning {
            output += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        guard output.contains("listening") else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "RTSP server did not start"])
        }
    }

    /// Publishes the clip, looped in real time, re-encoded with a keyframe every 5 frames (a reader joining
    /// mid-stream waits at most a third of a second for a picture).
    func startPublisher() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip, "-an",
            "-vf", "scale=320:192", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "5", "-bf",
            "0",
            "-f", "rtsp", "rtsp://127.0.0.1:\(sourcePort)/live",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        publisher = process
    }

    /// Kills server and publisher (SIGKILL: a crash, not a goodbye).
    func kill() {
        for process in [publisher, server].compactMap({ $0 }) where process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        publisher = nil
        server = nil
    }

    func close() { kill() }

    deinit { kill() }
}

/// ffmpeg as a one-client HTTP server (`-listen 1`) streaming the clip as MPEG-TS in real time: a live HTTP source.
final class HTTPTestServer: @unchecked Sendable {
    let port: Int
    let clip: String
    private var process: Process?

    init(clip: String) throws {
        self.clip = clip
        port = try LoopbackListener.freePort()
    }

    var url: String { "http://127.0.0.1:\(port)/live.ts" }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip, "-an",
            "-c", "copy", "-f", "mpegts", "-listen", "1", url,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    func kill() {
        if let process, process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process = nil
    }

    deinit { kill() }
}

/// The GStreamer RTSP server (scripts/rtsp-test-server-gst.py), which also serves RTP over TCP. Optional: not
/// installed by scripts/install-deps (a hundred packages); the TCP test runs where it is present.
final class GStreamerRTSPServer: @unchecked Sendable {
    let port: Int
    let clip: String
    private var process: Process?

    static var available: Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    init(clip: String) throws {
        self.clip = clip
        port = try LoopbackListener.freePort()
    }

    var url: String { "rtsp://127.0.0.1:\(port)/live" }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Fixtures.repository + "/scripts/rtsp-test-server-gst.py", String(port), clip]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var output = ""
        let deadline = Date(timeIntervalSinceNow: 15)
        while !output.contains("listening") && Date() < deadline && process.isRunning {
            output += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        guard output.contains("listening") else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "GStreamer RTSP server did not start"])
        }
    }

    func kill() {
        if let process, process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process = nil
    }

    deinit { kill() }
}
