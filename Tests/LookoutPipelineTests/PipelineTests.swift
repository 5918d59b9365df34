import Foundation
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutPipeline
import LookoutYOLO
import Synchronization
import Testing

@Suite struct PipelineTests {
    @Test func detectionsOnThe1080pFixtureReachRecall90() async throws {
        var options = Fixtures.options(imageSize: 640, batch: 4)
        options.maxDelayMilliseconds = 50
        let source = StreamSource(kind: .file(Fixtures.video1080p), maxFrames: 12)
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        let summary = try await recorder.finished()
        let results = recorder.results
        #expect(results.count == 12)
        #expect(summary.frames == 12)
        let (found, total) = Fixtures.recall(results, truth: try Fixtures.groundTruth(Fixtures.groundTruth1080p))
        #expect(total > 50)
        #expect(Double(found) / Double(total) >= 0.9, "recall \(found)/\(total)")
    }

    @Test func fourFileStreamsLoseNoFrameAndKeepOrder() async throws {
        let sources = (0..<4).map { _ in StreamSource(kind: .file(Fixtures.video640)) }
        let pipeline = try Pipeline(
            sources: sources, detector: Fixtures.detector, options: Fixtures.options(batch: 4))
        let recorder = Recorder(pipeline)
        recorder.start()
        let summary = try await recorder.finished()
        for stream in 0..<4 {
            #expect(recorder.results(stream: stream).map(\.frame) == Array(0..<30), "stream \(stream)")
            #expect(summary.streams[stream].dropped == 0)
            #expect(summary.streams[stream].decoded == 30)
        }
        #expect(summary.frames == 120)
        #expect(summary.batchFill > 1.5, "batches should gather frames from several streams")
        // The same clip in every stream: the same boxes for the same frame, whatever batch it ran in.
        let first = recorder.results(stream: 0)
        for stream in 1..<4 {
            for (a, b) in zip(first, recorder.results(stream: stream)) {
                #expect(a.detections.count == b.detections.count)
                for (x, y) in zip(a.detections, b.detections) {
                    #expect(x.classIndex == y.classIndex)
                    #expect(abs(x.x1 - y.x1) < 0.05 && abs(x.y2 - y.y2) < 0.05)
                }
            }
        }
    }

    @Test func resultsMatchDetectOnTheSameDecodedFrames() async throws {
        let source = StreamSource(kind: .file(Fixtures.video640), maxFrames: 3)
        var options = Fixtures.options(batch: 3)
        options.maxDelayMilliseconds = 200
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        try await recorder.finished()
        let decoder = try VideoDecoder(url: Fixtures.video640)
        var detectOptions = DetectOptions()
        detectOptions.imageSize = 320
        for result in recorder.results {
            let frame = try #require(try decoder.next())
            #expect(frame.index == result.frame)
            var image = BGRImage(width: frame.width, height: frame.height)
            try image.withUnsafeMutableBytes { try decoder.convert(into: $0.baseAddress!, rowBytes: frame.width * 3) }
            let expected = try Fixtures.detector.detect(image, options: detectOptions)
            #expect(expected.detections.count == result.detections.count)
            for (x, y) in zip(expected.detections, result.detections) {
                #expect(x.classIndex == y.classIndex)
                #expect(abs(x.x1 - y.x1) < 0.01 && abs(x.y1 - y.y1) < 0.01 && abs(x.confidence - y.confidence) < 1e-4)
            }
        }
        #expect(recorder.results.count == 3)
    }

    @Test func aLiveSourceDropsItsOldestFramesWhenBehindAndCountsThem() async throws {
        // 160 frames at 400 fps into a CPU detector: far more than it keeps up with.
        let source = StreamSource(kind: .synthetic(width: 320, height: 192, fps: 400, frames: 160))
        var options = Fixtures.options(imageSize: 320, batch: 2)
        // More buffers than the batches in flight (and one being released) can hold: a new frame then always finds
        // a free buffer or a waiting frame to replace, however slow the detector is (with 4, every buffer could be
        // in a batch when the last frames arrive, and they were dropped under load).
        options.framesPerStream = options.maxBatch * (options.depth + 1) + 1
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        let summary = try await recorder.finished()
        let stream = summary.streams[0]
        #expect(stream.decoded == 160)
        #expect(stream.dropped > 0)
        #expect(stream.delivered + stream.dropped == stream.decoded)
        let frames = recorder.results.map(\.frame)
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0 < $1 })
        // The newest frame always survives: dropping takes the oldest.
        #expect(frames.last == 159)
    }

    @Test func anUnpacedSourceWaitsInsteadOfDropping() async throws {
        let source = StreamSource(kind: .synthetic(width: 96, height: 64, fps: nil, frames: 40))
        var options = Fixtures.options(imageSize: 96, batch: 4)
        options.framesPerStream = 3
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: options)
        let recorder = Recorder(pipeline)
        recorder.start()
        let summary = try await recorder.finished()
        #expect(summary.streams[0].dropped == 0)
        #expect(summary.streams[0].delivered == 40)
    }

    @Test func stopDrainsTheFramesAlreadyDecoded() async throws {
        let source = StreamSource(kind: .synthetic(width: 96, height: 64, fps: 60, frames: nil))
        let pipeline = try Pipeline(
            sources: [source, source], detector: Fixtures.detector, options: Fixtures.options(imageSize: 96))
        let recorder = Recorder(pipeline)
        recorder.start()
        _ = await recorder.wait(seconds: 20) { recorder.results.count >= 10 }
        let summary = try await recorder.cancel()
        for s in summary.streams {
            #expect(s.delivered + s.dropped == s.decoded, "stream \(s.stream): no decoded frame vanishes at shutdown")
            #expect(s.error == nil)
        }
        #expect(recorder.events.contains { if case .ended = $0.event.kind { return true } else { return false } })
    }

    @Test func imageFoldersAreStreamsToo() async throws {
        let folder = Fixtures.path("shapes/val/images")
        let source = StreamSource(kind: .images(folder), maxFrames: 3)
        let pipeline = try Pipeline(sources: [source], detector: Fixtures.detector, options: Fixtures.options())
        let recorder = Recorder(pipeline)
        recorder.start()
        try await recorder.finished()
        #expect(recorder.results.map(\.frame) == [0, 1, 2])
        #expect(recorder.results.allSatisfy { $0.width > 0 && !$0.detections.isEmpty })
    }

    @Test func aGPUModeWithoutTheCUDAEngineFailsWithOneLine() throws {
        var options = PipelineOptions()
        options.transferMode = .pinnedRaw
        let error = #expect(throws: LookoutError.self) {
            _ = try Pipeline(
                sources: [StreamSource(kind: .file(Fixtures.video640))], detector: Fixtures.detector, options: options)
        }
        #expect(error?.code == .invalidArgument && error?.parameter == "transferMode")
        #expect(error?.description.contains("`transferMode` pinned-raw") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func jsonLinesCarryTheDetectObjects() {
        let result = FrameResult(
            stream: 2, frame: 7, pts: 0.466667, width: 640, height: 384,
            detections: [Detection(x1: 1, y1: 2, x2: 30.5, y2: 40, confidence: 0.875, classIndex: 3)],
            latencyMilliseconds: 5,
            batchSize: 1)
        #expect(
            result.jsonLine(names: ["circle", "square", "triangle", "star"])
                == #"{"stream":2,"frame":7,"pts":0.466667,"width":640,"height":384,"detections":[{"box":[1.0,2.0,30.5,40.0],"confidence":0.875,"class":3,"name":"star"}]}"#
        )
    }

    @Test func sourcesParseFromTheCommandLine() throws {
        #expect(try StreamSource(parsing: "rtsp://cam/1").isLive)
        #expect(
            try StreamSource(parsing: "synthetic:640x360@25:100").kind
                == .synthetic(width: 640, height: 360, fps: 25, frames: 100))
        #expect(try StreamSource(parsing: Fixtures.video640).kind == .file(Fixtures.video640))
        #expect(throws: LookoutError.self) { try StreamSource(parsing: "gopher://x") }
        #expect(throws: LookoutError.self) { try StreamSource(parsing: "/nonexistent.mp4") }
    }
}
