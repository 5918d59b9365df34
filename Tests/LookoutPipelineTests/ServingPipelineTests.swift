import Foundation
import LookoutCore
import LookoutPipeline
import Synchronization
import Testing

/// A pipeline made with `servesStreams`: streams added and removed while it runs, the others going on.
@Suite(.serialized) struct ServingPipelineTests {
    static func synthetic(_ frames: Int? = nil, fps: Double? = 30) -> StreamSource {
        var source = StreamSource(kind: .synthetic(width: 320, height: 192, fps: fps, frames: frames))
        // Paced like a camera (frames dropped when behind); without a rate, a file-like source that loses nothing.
        source.paced = fps != nil
        return source
    }

    /// Counts the results per stream and remembers the events, until the results end.
    final class Collector: Sendable {
        let frames = Mutex<[Int: Int]>([:])
        let events = Mutex<[StreamEvent]>([])

        func count(_ stream: Int) -> Int { frames.withLock { $0[stream, default: 0] } }
        func ended(_ stream: Int) -> Bool {
            events.withLock {
                $0.contains { e in
                    if case .ended = e.kind { return e.stream == stream }
                    return false
                }
            }
        }
    }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            if condition() { return true }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return condition()
    }

    @Test(.timeLimit(.minutes(3))) func streamsComeAndGoWhileOthersRun() async throws {
        var options = Fixtures.options()
        options.servesStreams = true
        options.plannedStreams = 4
        let pipeline = try Pipeline(sources: [], detector: Fixtures.detector, options: options)
        let collector = Collector()
        let running = Task { try await pipeline.run() }
        let reader = Task {
            for await result in pipeline.results { collector.frames.withLock { $0[result.stream, default: 0] += 1 } }
        }
        let watcher = Task { for await event in pipeline.events { collector.events.withLock { $0.append(event) } } }

        // No stream yet: the pipeline waits instead of ending.
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(pipeline.sinks.isEmpty)
        let first = try pipeline.add(Self.synthetic())
        #expect(first == 0)
        #expect(try await Self.waitUntil(60) { collector.count(first) >= 5 }, "the first stream delivers")

        // Streams added and removed beside it, each with an index of its own; the first keeps delivering.
        var seen = Set([first])
        for cycle in 0..<5 {
            let other = try pipeline.add(Self.synthetic())
            #expect(seen.insert(other).inserted, "index \(other) reused")
            #expect(
                try await Self.waitUntil(60) { collector.count(other) >= 1 },
                "cycle \(cycle): the added stream delivers")
            let before = collector.count(first)
            #expect(pipeline.remove(stream: other))
            #expect(try await Self.waitUntil(30) { collector.ended(other) }, "cycle \(cycle): the removed stream ends")
            // Once ended, it leaves the pipeline (nothing of it kept).
            #expect(try await Self.waitUntil(10) { pipeline.source(of: other) == nil })
            #expect(!pipeline.remove(stream: other) || pipeline.source(of: other) == nil)
            #expect(try await Self.waitUntil(60) { collector.count(first) > before }, "the first stream goes on")
        }
        #expect(pipeline.sinks.map(\.stream) == [first])

        // A stream that ends by itself leaves too; the pipeline still runs.
        let short = try pipeline.add(Self.synthetic(6, fps: nil))
        #expect(try await Self.waitUntil(60) { collector.ended(short) })
        #expect(
            try await Self.waitUntil(60) { collector.count(short) == 6 }, "every frame of an ended stream delivered")

        // Stopping ends run() with the streams' frames delivered; adding after that fails.
        running.cancel()
        try await running.value
        await reader.value
        await watcher.value
        #expect(throws: LookoutError.self) { try pipeline.add(Self.synthetic()) }
    }

    @Test func aFixedPipelineRefusesNewStreams() throws {
        let pipeline = try Pipeline(
            sources: [Self.synthetic(2)], detector: Fixtures.detector, options: Fixtures.options())
        #expect(throws: LookoutError.self) { try pipeline.add(Self.synthetic()) }
        #expect(throws: LookoutError.self) {
            try Pipeline(sources: [], detector: Fixtures.detector, options: Fixtures.options())
        }
    }
}
