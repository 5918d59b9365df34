import Foundation
import LookoutInference
import LookoutModel
import LookoutPipeline
@_exported import LookoutTestFixtures
import LookoutYOLO

/// The committed videos and shared helpers of the streaming tests, over the shared fixtures.
extension Fixtures {
    /// 10 s of 1920x1080 H.264 at 30 fps (300 frames), and its per-frame ground truth.
    static let video1080p = path("video/shapes-1080p.mp4")
    static let groundTruth1080p = path("video/shapes-1080p.gt.jsonl")
    /// 2 s of 640x384 H.264 at 15 fps (30 frames), rendered by make_video.py (seed 3), and its ground truth.
    static let video640 = path("video/shapes-640x384.mp4")
    static let groundTruth640 = path("video/shapes-640x384.gt.jsonl")

    /// The dynamic model on the CPU (loaded once).
    static let detector: Detector = {
        do { return try Detector(model: try DetectionModel(path: dynamicModel), device: .cpu) } catch {
            fatalError("cannot load \(dynamicModel): \(error)")
        }
    }()

    /// Small, fast settings: the tests run a debug build on two cores.
    static func options(imageSize: Int = 320, batch: Int = 4) -> PipelineOptions {
        var options = PipelineOptions()
        options.detect.imageSize = imageSize
        options.maxBatch = batch
        options.maxDelayMilliseconds = 20
        return options
    }

    /// A scratch folder removed by the caller.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "lookout-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Ground-truth boxes per frame: `[frame: [(x1, y1, x2, y2, class)]]`.
    static func groundTruth(_ path: String) throws -> [Int: [[Double]]] {
        var boxes: [Int: [[Double]]] = [:]
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in text.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let frame = object["frame"] as? Int, let list = object["boxes"] as? [[Double]]
            else { continue }
            boxes[frame] = list
        }
        return boxes
    }

    /// Recall at IoU ≥ `threshold`: each ground-truth box matched greedily to the unused detection of highest IoU.
    static func recall(_ results: [FrameResult], truth: [Int: [[Double]]], threshold: Double = 0.5) -> (
        found: Int, total: Int
    ) {
        var found = 0
        var total = 0
        for result in results {
            var used = Set<Int>()
            for box in truth[result.frame] ?? [] {
                total += 1
                var best = -1
                var bestIoU = 0.0
                for (j, d) in result.detections.enumerated() where !used.contains(j) {
                    let value = iou(box, d)
                    if value > bestIoU {
                        bestIoU = value
                        best = j
                    }
                }
                if bestIoU >= threshold {
                    found += 1
                    used.insert(best)
                }
            }
        }
        return (found, total)
    }

    static func iou(_ a: [Double], _ d: Detection) -> Double {
        let x1 = max(a[0], Double(d.x1))
        let y1 = max(a[1], Double(d.y1))
        let x2 = min(a[2], Double(d.x2))
        let y2 = min(a[3], Double(d.y2))
        let inter = max(0, x2 - x1) * max(0, y2 - y1)
        let union = (a[2] - a[0]) * (a[3] - a[1]) + Double(d.width * d.height) - inter
        return union > 0 ? inter / union : 0
    }
}

/// Runs a pipeline and reads everything it delivers: its results and events (the one reader of each).
final class Recorder: @unchecked Sendable {
    let pipeline: Pipeline
    private let lock = NSLock()
    private var _results: [FrameResult] = []
    private var _events: [(StreamEvent, Date)] = []
    private var run: Task<Void, any Error>?
    private var readers: [Task<Void, Never>] = []

    init(_ pipeline: Pipeline) {
        self.pipeline = pipeline
        readers = [
            Task { [self] in
                for await result in pipeline.results { record(result) }
            },
            Task { [self] in
                for await event in pipeline.events { record(event) }
            },
        ]
    }

    private func record(_ result: FrameResult) {
        lock.lock()
        _results.append(result)
        lock.unlock()
    }

    private func record(_ event: StreamEvent) {
        lock.lock()
        _events.append((event, Date()))
        lock.unlock()
    }

    /// Runs the pipeline (`Pipeline.run()`) in a task of its own.
    func start() {
        run = Task { try await pipeline.run() }
    }

    /// Waits until the run ends (files end by themselves) and everything has been read; the summary.
    @discardableResult
    func finished() async throws -> PipelineSummary {
        try await run?.value
        for reader in readers { await reader.value }
        return pipeline.summary()
    }

    /// Cancels the run (the pipeline stops its sources and drains) and waits for the end.
    @discardableResult
    func cancel() async throws -> PipelineSummary {
        run?.cancel()
        return try await finished()
    }

    /// Cancels the run without waiting (for `defer`).
    func stopNow() { run?.cancel() }

    var results: [FrameResult] {
        lock.lock()
        defer { lock.unlock() }
        return _results
    }

    var events: [(event: StreamEvent, at: Date)] {
        lock.lock()
        defer { lock.unlock() }
        return _events.map { (event: $0.0, at: $0.1) }
    }

    func results(stream: Int) -> [FrameResult] { results.filter { $0.stream == stream } }

    func failures(stream: Int) -> [String] {
        events.compactMap { entry in
            if entry.event.stream == stream, case .failed(let message) = entry.event.kind { return message }
            return nil
        }
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    func wait(seconds: Double, until condition: () -> Bool) async -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return condition()
    }
}
