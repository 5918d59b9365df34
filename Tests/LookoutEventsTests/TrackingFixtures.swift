import Foundation
import LookoutEvents
import LookoutTestFixtures
import LookoutYOLO

/// The tracking fixtures (Tests/Fixtures/tracking, made by scripts/oracle/ultralytics_bytetrack.py).
enum TrackingFixtures {
    static let folder = Fixtures.path("tracking")
    /// Ultralytics' detections (conf 0.1, the NumPy mirror of predict through onnxruntime) on shapes-1080p.mp4.
    static let detectionsFile = folder + "/shapes-1080p.detections.jsonl"
    /// Ultralytics' BYTETracker (8.4.190, bytetrack.yaml) fed those detections.
    static let oracleFile = folder + "/shapes-1080p.bytetrack-ultralytics.jsonl"
    /// Ultralytics' `model.track` on the video itself (scripts/ultralytics_track_reference.py, same ONNX model).
    static let modelTrackFile = folder + "/shapes-1080p.model-track-ultralytics.jsonl"
    static let video = Fixtures.path("video/shapes-1080p.mp4")
    static let groundTruthFile = Fixtures.path("video/shapes-1080p.gt.jsonl")

    static func lines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func detections() throws -> [[Detection]] {
        try lines(detectionsFile).map { entry in
            (entry["detections"] as! [[Double]]).map {
                Detection(
                    x1: Float($0[0]), y1: Float($0[1]), x2: Float($0[2]), y2: Float($0[3]), confidence: Float($0[4]),
                    classIndex: Int($0[5]))
            }
        }
    }

    /// Per frame: [x1, y1, x2, y2, id, score, cls, idx].
    static func oracle() throws -> [[[Double]]] {
        try lines(oracleFile).map { $0["tracks"] as! [[Double]] }
    }

    /// Per frame: (box, class, id) of the ground truth.
    static func groundTruth() throws -> [[GroundTruthObject]] {
        try lines(groundTruthFile).map { entry in
            (entry["boxes"] as! [[Double]]).map {
                GroundTruthObject(
                    id: Int($0[5]), x1: Float($0[0]), y1: Float($0[1]), x2: Float($0[2]), y2: Float($0[3]),
                    classIndex: Int($0[4]))
            }
        }
    }
}
