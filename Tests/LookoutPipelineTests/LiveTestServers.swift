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
        TestProcess.succeeds(["perl", "-MRTSP::Server", "-MAnyEvent", "-e", "1"])
            && TestProcess.succeeds(["ffmpeg", "-hide_banner", "-version"])
    }

    /// CI sets LOOKOUT_REQUIRE_RTSP=1: there a missing server is a failure, not a skip.
    static var required: Bool { ProcessInfo.processInfo.environment["LOOKOUT_REQUIRE_RTSP"] == "1" }

    init(clip: String) throws {
        self.clip = clip
        clientPort = try LoopbackListener.freePort()
        sourcePort = try LoopbackListener.freePort()
        // RTP/RTCP port pairs are handed out upwards from here, two per session.
        rtpStart = (try LoopbackListener.freePort()) & ~1
    }

    var url: String { "rtsp://127.0.0.1:\(clientPort)/live" }

    func startServer() throws {
        // The script prints "listening" once both sockets are bound (after RTSP::Server's own banner).
        server = try TestProcess.startListening(
            [
                "perl", Fixtures.repository + "/scripts/rtsp-test-server.pl", String(clientPort), String(sourcePort),
                String(rtpStart),
            ],
            name: "RTSP server")
    }

    /// Publishes the clip, looped in real time, re-encoded with a keyframe every 5 frames (a reader joining
    /// mid-stream waits at most a third of a second for a picture). Returns once ffmpeg reports progress, i.e. once
    /// the server has taken its ANNOUNCE and RECORD and frames flow: ffmpeg's own start (x264 included) takes over a
    /// second on a busy 2-core machine, and is not part of the server's return that the reconnect test times.
    func startPublisher() throws {
        let pipe = Pipe()
        let process = try TestProcess.launch(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip,
                "-an", "-vf", "scale=320:192", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g",
                "5", "-bf", "0", "-progress", "pipe:1", "-stats_period", "0.1",
                "-f", "rtsp", "rtsp://127.0.0.1:\(sourcePort)/live",
            ], output: pipe)
        publisher = process
        var output = ""
        let deadline = Date(timeIntervalSinceNow: 15)
        while !output.contains("progress=") && Date() < deadline && process.isRunning {
            output += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        // Keep reading, so that ffmpeg never blocks on a full pipe.
        pipe.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
        guard output.contains("progress=") else {
            throw CocoaError(
                .fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "the RTSP publisher did not start"])
        }
    }

    /// Kills server and publisher (SIGKILL: a crash, not a goodbye).
    func kill() {
        TestProcess.kill(publisher)
        TestProcess.kill(server)
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
        process = try TestProcess.launch([
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip, "-an",
            "-c", "copy", "-f", "mpegts", "-listen", "1", url,
        ])
    }

    func kill() {
        TestProcess.kill(process)
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
        TestProcess.succeeds(
            ["-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"],
            executable: "/usr/bin/python3")
    }

    init(clip: String) throws {
        self.clip = clip
        port = try LoopbackListener.freePort()
    }

    var url: String { "rtsp://127.0.0.1:\(port)/live" }

    func start() throws {
        process = try TestProcess.startListening(
            [Fixtures.repository + "/scripts/rtsp-test-server-gst.py", String(port), clip],
            executable: "/usr/bin/python3",
            name: "GStreamer RTSP server")
    }

    func kill() {
        TestProcess.kill(process)
        process = nil
    }

    deinit { kill() }
}

/// The child processes of the test servers: quiet launches, waiting for a server's "listening", SIGKILL.
enum TestProcess {
    /// `arguments` through /usr/bin/env (or `executable`), output discarded.
    static func launch(_ arguments: [String], executable: String = "/usr/bin/env", output: Pipe? = nil) throws
        -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Whether the command runs and exits with status 0.
    static func succeeds(_ arguments: [String], executable: String = "/usr/bin/env") -> Bool {
        guard let process = try? launch(arguments, executable: executable) else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Starts a server script that prints "listening" once its sockets are bound; waits up to 15 s for it.
    static func startListening(_ arguments: [String], executable: String = "/usr/bin/env", name: String) throws
        -> Process
    {
        let pipe = Pipe()
        let process = try launch(arguments, executable: executable, output: pipe)
        var output = ""
        let deadline = Date(timeIntervalSinceNow: 15)
        while !output.contains("listening") && Date() < deadline && process.isRunning {
            output += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        guard output.contains("listening") else {
            kill(process)
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(name) did not start"])
        }
        return process
    }

    /// SIGKILL (a crash, not a goodbye), then reaps it.
    static func kill(_ process: Process?) {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
