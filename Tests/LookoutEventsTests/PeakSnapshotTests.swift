import Foundation
import LookoutCUDA
import LookoutCore
import LookoutMedia
import LookoutYOLO
import Testing

@testable import LookoutEvents
@testable import LookoutPipeline

/// An open event keeps the frame of its peak and is drawn there when it closes: events that peak in the same frame
/// share one copy of it, and each snapshot shows its own box on the frame's pixels.
@Suite struct PeakSnapshotTests {
    /// A gray `width` × `height` frame from a pool, as the pipeline delivers one with its result.
    func pixels(width: Int, height: Int, gray: UInt8) throws -> FramePixels {
        let pool = FramePool(
            count: 1, policy: .report, makeBuffer: { _ in HostBuffer.pageable(byteCount: width * height * 3) })
        guard let lease = try pool.acquire() else { throw LookoutError(.invalidInput, "no buffer") }
        var frame = Frame(info: FrameInfo(stream: 0), lease: lease)
        frame.reshape(width: width, height: height, format: .bgr)
        frame.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: gray) }
        return FramePixels(frame)
    }

    @Test func eventsPeakingInOneFrameCloseWithTheirOwnBoxesOnItsPixels() throws {
        let text = """
            zones:
              - {name: all, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
            rules:
              - {name: first, trigger: enter, zone: all}
              - {name: second, trigger: enter, zone: all}
            """
        let set = try RuleSet.parse(text, source: "peaks", classNames: ["a"])
        let state = StreamState(
            stream: 0, source: "s", tracker: ByteTracker(),
            engine: RuleEngine(set: set, stream: 0, source: "s", classNames: ["a"]))
        let work = StreamWork(classNames: ["a"], options: EventProcessorOptions(), sinkNames: [])
        var opened = 0
        // One object, still, its confidence rising: both events open once it has settled in the zone, then peak
        // together in every later frame.
        for i in 0..<12 {
            let detection = Detection(
                x1: 40, y1: 30, x2: 100, y2: 90, confidence: 0.6 + Float(i) * 0.03, classIndex: 0)
            let result = FrameResult(
                stream: 0, frame: i, pts: Double(i) / 30, width: 160, height: 120, detections: [detection],
                latencyMilliseconds: 1, batchSize: 1, pixels: try pixels(width: 160, height: 120, gray: 128))
            opened += work.process(result, state: state, now: Int64(i)).batch.opened.count
        }
        #expect(opened == 2)
        #expect(state.peakImages.count == 2)
        let frames = Set(state.peakImages.values.map(\.frame))
        #expect(frames == [11], "both events peak in the last frame")
        let batch = work.finish(state, now: 100)
        #expect(batch.snapshots.count == 2)
        for snapshot in batch.snapshots {
            let path = NSTemporaryDirectory() + "peak-\(snapshot.id).jpg"
            try Data(snapshot.jpeg).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let image = try ImageDecoder.decode(file: path)
            #expect(image.width == 160 && image.height == 120)
            // The box's left edge is drawn (not gray); the middle of the box and the corners are the frame's gray.
            let edge = image.pixels[(60 * 160 + 40) * 3..<(60 * 160 + 40) * 3 + 3]
            #expect(edge.contains { abs(Int($0) - 128) > 40 }, "the box is drawn: \(Array(edge))")
            for (x, y) in [(150, 110), (5, 5)] {
                let pixel = image.pixels[(y * 160 + x) * 3..<(y * 160 + x) * 3 + 3]
                #expect(pixel.allSatisfy { abs(Int($0) - 128) < 12 }, "\(x),\(y): \(Array(pixel))")
            }
        }
        #expect(state.peakImages.isEmpty)
    }
}
