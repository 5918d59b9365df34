import Foundation
import LookoutPipeline
import Testing

@Suite struct FailureTests {
    @Test func brokenFilesAndUnreachableURLsFailAloneWhileOtherStreamsContinue() async throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.video640))
        let truncated = dir + "/truncated.mp4"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let garbage = dir + "/garbage.mp4"
        try Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }).write(
            to: URL(fileURLWithPath: garbage))
        // A damaged middle: the container is intact, a run of packets is noise.
        var damaged = bytes
        let start = bytes.count / 2
        for i in start..<(start + 60_000) { damaged[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 7) }
        let corrupt = dir + "/corrupt.mp4"
        try damaged.write(to: URL(fileURLWithPath: corrupt))
        let closedPort = try LoopbackListener.freePort()

        let options = Fixtures.options()
        var unreachable = StreamSource(kind: .live("rtsp://127.0.0.1:\(closedPort)/nothing"))
        unreachable.reconnect.maxAttempts = 2
        unreachable.reconnect.initialDelay = 0.05
        unreachable.reconnect.openTimeout = 2
        let sources = [
            StreamSource(kind: .file(Fixtures.video640)), StreamSource(kind: .file(truncated)),
            StreamSource(kind: .file(garbage)), unreachable, StreamSource(kind: .file(corrupt)),
        ]
        let pipeline = try Pipeline(sources: sources, detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        let summary = try await recorder.finished()

        #expect(recorder.results(stream: 0).map(\.frame) == Array(0..<30))
        #expect(summary.streams[0].error == nil)
        let truncatedError = try #require(recorder.failures(stream: 1).first)
        #expect(truncatedError.hasPrefix("cannot open (avformat_open_input: "))
        let garbageError = try #require(recorder.failures(stream: 2).first)
        #expect(garbageError.hasPrefix("cannot "))
        #expect(recorder.events.contains { $0.event.isError && $0.event.description.contains(garbage) })
        let urlError = try #require(recorder.failures(stream: 3).first)
        #expect(urlError.contains("Connection refused"))
        #expect(urlError.contains("gave up after 2 attempts"))
        // The damaged file is reported (corrupt packets, or fewer frames than its container declares), and every
        // frame the decoder could still produce is delivered.
        let damagedEvents = recorder.events.filter { $0.event.stream == 4 }.map(\.event.kind)
        #expect(
            damagedEvents.contains { kind in
                switch kind {
                case .decodeErrors, .failed: return true
                default: return false
                }
            }, "\(damagedEvents)")
        #expect(summary.streams[4].delivered == summary.streams[4].decoded)
        for s in summary.streams { #expect(s.delivered + s.dropped == s.decoded) }
    }
}
