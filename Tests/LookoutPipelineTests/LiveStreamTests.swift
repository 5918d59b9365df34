import Foundation
import LookoutPipeline
import Testing

@Suite(.serialized) struct LiveStreamTests {
    @Test(
        .enabled(
            if: RTSPTestServer.available || RTSPTestServer.required,
            "needs perl RTSP::Server and ffmpeg (scripts/install-deps)"))
    func aLiveStreamResumesWithin2SecondsOfTheServersReturnWithTheGapCounted() async throws {
        let rtsp = try RTSPTestServer(clip: Fixtures.video640)
        defer { rtsp.close() }
        try rtsp.startServer()
        try rtsp.startPublisher()

        var options = Fixtures.options(imageSize: 160, batch: 2)
        var source = StreamSource(kind: .live(rtsp.url))
        source.rtspTransport = .udp
        source.reconnect.initialDelay = 0.1
        source.reconnect.maxDelay = 0.4
        source.reconnect.stallTimeout = 1
        source.reconnect.openTimeout = 2
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        defer { recorder.stopNow() }

        // Reading: the reader may connect before the publisher's ANNOUNCE and retry; frames flow within seconds.
        #expect(await recorder.wait(seconds: 20) { recorder.results.count >= 10 }, "no frames from \(rtsp.url)")
        let before = recorder.results.count

        rtsp.kill()
        let lost = await recorder.wait(seconds: 6) {
            recorder.events.contains { entry in
                switch entry.event.kind {
                case .stalled, .disconnected: return true
                default: return false
                }
            }
        }
        #expect(lost, "the outage was not noticed")
        try await Task.sleep(nanoseconds: 1_000_000_000)

        try rtsp.startServer()
        try rtsp.startPublisher()
        let back = Date()
        let resumed = await recorder.wait(seconds: 10) {
            recorder.events.contains { if case .reconnected = $0.event.kind { return true } else { return false } }
        }
        #expect(resumed, "\(recorder.events.map(\.event.description))")
        let reconnectedAt = try #require(
            recorder.events.first { if case .reconnected = $0.event.kind { return true } else { return false } }?.at)
        #expect(
            reconnectedAt.timeIntervalSince(back) < 2,
            "resumed \(reconnectedAt.timeIntervalSince(back)) s after the server came back")
        #expect(await recorder.wait(seconds: 10) { recorder.results.count > before + 5 })

        let summary = try await recorder.cancel()
        let stream = summary.streams[0]
        #expect(stream.reconnects >= 1)
        #expect(stream.gaps >= 1)
        #expect(stream.gapSeconds >= 1)
        #expect(stream.error == nil)
        let frames = recorder.results.map(\.frame)
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0 < $1 })
        let pts = recorder.results.compactMap(\.pts)
        #expect(zip(pts, pts.dropFirst()).allSatisfy { $0 < $1 }, "time stamps continue across the gap")
    }

    @Test(
        .enabled(if: RTSPTestServer.available || RTSPTestServer.required, "needs the ffmpeg CLI (scripts/install-deps)")
    )
    func anHTTPStreamReconnectsAfterItsServerDies() async throws {
        let http = try HTTPTestServer(clip: Fixtures.video640)
        defer { http.kill() }
        try http.start()
        var options = Fixtures.options(imageSize: 160, batch: 2)
        var source = StreamSource(kind: .live(http.url))
        source.reconnect.initialDelay = 0.1
        source.reconnect.maxDelay = 0.4
        source.reconnect.stallTimeout = 1
        source.reconnect.openTimeout = 2
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        defer { recorder.stopNow() }
        #expect(await recorder.wait(seconds: 20) { recorder.results.count >= 5 }, "no frames from \(http.url)")
        http.kill()
        try await Task.sleep(nanoseconds: 800_000_000)
        try http.start()
        let back = Date()
        let resumed = await recorder.wait(seconds: 10) {
            recorder.events.contains { if case .reconnected = $0.event.kind { return true } else { return false } }
        }
        #expect(resumed, "\(recorder.events.map(\.event.description))")
        if let at = recorder.events.first(where: {
            if case .reconnected = $0.event.kind { return true } else { return false }
        })?.at {
            #expect(at.timeIntervalSince(back) < 2)
        }
        let summary = try await recorder.cancel()
        #expect(summary.streams[0].reconnects >= 1)
        #expect(summary.streams[0].error == nil)
    }

    @Test(
        .enabled(if: GStreamerRTSPServer.available, "needs the GStreamer RTSP server (scripts/rtsp-test-server-gst.py)")
    )
    func anRTSPStreamOverTCPResumesAfterTheServerRestarts() async throws {
        // 10 s of media, served from its start to each new session.
        let rtsp = try GStreamerRTSPServer(clip: Fixtures.video1080p)
        defer { rtsp.kill() }
        try rtsp.start()
        var options = Fixtures.options(imageSize: 160, batch: 2)
        var source = StreamSource(kind: .live(rtsp.url))
        source.rtspTransport = .tcp
        source.reconnect.initialDelay = 0.1
        source.reconnect.maxDelay = 0.4
        source.reconnect.stallTimeout = 1
        source.reconnect.openTimeout = 2
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        defer { recorder.stopNow() }
        #expect(await recorder.wait(seconds: 20) { recorder.results.count >= 5 }, "no frames from \(rtsp.url)")
        rtsp.kill()
        try await Task.sleep(nanoseconds: 800_000_000)
        try rtsp.start()
        let back = Date()
        let resumed = await recorder.wait(seconds: 10) {
            recorder.events.contains { entry in
                if case .reconnected = entry.event.kind { return entry.at > back }
                return false
            }
        }
        #expect(resumed, "\(recorder.events.map(\.event.description))")
        let reconnectedAt = recorder.events.first { entry in
            if case .reconnected = entry.event.kind { return entry.at > back }
            return false
        }?.at
        if let reconnectedAt { #expect(reconnectedAt.timeIntervalSince(back) < 2) }
        let summary = try await recorder.cancel()
        #expect(summary.streams[0].reconnects >= 1)
        #expect(summary.streams[0].error == nil)
    }
}
