import LookoutYOLO
import Testing

@testable import LookoutEvents

/// Lookout's ByteTrack against Ultralytics' BYTETracker fed the same detections (the whole clip).
@Suite struct ByteTrackerOracleTests {
    @Test func sameTracksAsUltralyticsOnTheSameDetections() throws {
        let frames = try TrackingFixtures.detections()
        let oracle = try TrackingFixtures.oracle()
        #expect(frames.count == 300 && oracle.count == 300)
        let tracker = ByteTracker()
        var boxes = 0
        var worst: Float = 0
        for (index, detections) in frames.enumerated() {
            let got = tracker.update(detections)
            let want = oracle[index]
            try #require(
                got.map(\.id) == want.map { Int($0[4]) },
                "frame \(index): ids \(got.map(\.id)) vs Ultralytics \(want.map { Int($0[4]) })")
            for (object, row) in zip(got, want) {
                #expect(object.classIndex == Int(row[6]) && object.detectionIndex == Int(row[7]), "frame \(index)")
                #expect(abs(Double(object.confidence) - row[5]) < 1e-5, "frame \(index)")
                for (a, b) in zip([object.x1, object.y1, object.x2, object.y2], row[0..<4]) {
                    worst = max(worst, abs(a - Float(b)))
                }
                boxes += 1
            }
        }
        #expect(boxes == 2678)
        // The oracle's boxes are rounded to 0.001 px.
        #expect(worst < 0.01, "largest box difference \(worst) px")
    }

    /// Against the real `model.track(video, tracker='bytetrack.yaml')` (Ultralytics 8.4.190 through onnxruntime, its own
    /// decoding and preprocessing): the same ids in every frame; boxes within a pixel (Ultralytics' detections and the
    /// committed ones, from the NumPy mirror of predict, differ by up to 0.64 px).
    @Test func sameIdentitiesAsUltralyticsModelTrack() throws {
        let frames = try TrackingFixtures.detections()
        let reference = try TrackingFixtures.lines(TrackingFixtures.modelTrackFile).map { $0["tracks"] as! [[Double]] }
        #expect(reference.count == frames.count)
        let tracker = ByteTracker()
        var boxes = 0
        var worst: Float = 0
        for (index, detections) in frames.enumerated() {
            let got = tracker.update(detections).sorted { $0.id < $1.id }
            let want = reference[index].sorted { $0[4] < $1[4] }
            try #require(got.map(\.id) == want.map { Int($0[4]) }, "frame \(index)")
            for (object, row) in zip(got, want) {
                for (a, b) in zip([object.x1, object.y1, object.x2, object.y2], row[0..<4]) {
                    worst = max(worst, abs(a - Float(b)))
                }
                boxes += 1
            }
        }
        #expect(boxes == 2678)
        #expect(worst < 1, "largest box difference \(worst) px")
    }

    @Test func tracksStartUnconfirmedAfterTheFirstFrame() {
        let tracker = ByteTracker()
        let box = Detection(x1: 10, y1: 10, x2: 50, y2: 90, confidence: 0.9, classIndex: 0)
        #expect(tracker.update([box]).map(\.id) == [1])  // frame 1: confirmed at once
        let other = Detection(x1: 300, y1: 300, x2: 340, y2: 380, confidence: 0.9, classIndex: 1)
        #expect(tracker.update([box, other]).map(\.id) == [1])  // the new track waits for a second sighting
        #expect(tracker.update([box, other]).map(\.id).sorted() == [1, 2])
    }

    @Test func lostTrackIsFoundAgainWithinTheBufferOnly() {
        var options = ByteTrackOptions()
        options.trackBuffer = 5
        let tracker = ByteTracker(options: options)
        let box = Detection(x1: 100, y1: 100, x2: 160, y2: 200, confidence: 0.9, classIndex: 0)
        _ = tracker.update([box])
        _ = tracker.update([box])
        for _ in 0..<4 { #expect(tracker.update([]).isEmpty) }
        #expect(tracker.update([box]).map(\.id) == [1])  // back after 4 frames away: same id
        for _ in 0..<8 { _ = tracker.update([]) }
        _ = tracker.update([box])
        #expect(tracker.update([box]).map(\.id) == [2])  // after 8 frames: a new track
    }

    @Test func lowScoreDetectionsKeepATrackButNeverStartOne() {
        let tracker = ByteTracker()
        let strong = Detection(x1: 100, y1: 100, x2: 160, y2: 200, confidence: 0.9, classIndex: 0)
        let weak = Detection(x1: 101, y1: 100, x2: 161, y2: 200, confidence: 0.15, classIndex: 0)
        _ = tracker.update([strong])
        #expect(tracker.update([weak]).map(\.id) == [1])
        let fresh = ByteTracker()
        #expect(fresh.update([weak]).isEmpty)
        #expect(fresh.update([weak]).isEmpty)
    }

    @Test func frameRateScalesTheBufferOnlyWhenAsked() {
        var options = ByteTrackOptions()
        #expect(options.maxFramesLost == 30)
        options.frameRate = 60
        #expect(options.maxFramesLost == 60)
    }
}
