import BasicContainers
import LookoutCUDA
import LookoutCore
import LookoutInference

/// The CPU path: pageable frame buffers, each frame letterboxed straight into its slot of the engine's input.
final class CPUInferenceStage: InferenceStage {
    let detector: BatchDetector

    init(detector: BatchDetector) {
        self.detector = detector
    }

    var modeName: String { "cpu" }
    var maximumBatch: Int? { detector.maximumBatch }
    var frameFormat: FrameFormat { .bgr }

    func makePool(count: Int, bufferBytes: Int, policy: PoolExhaustionPolicy) throws -> FramePool {
        FramePool(count: count, policy: policy, makeBuffer: { _ in HostBuffer.pageable(byteCount: bufferBytes) })
    }

    func batchKey(width: Int, height: Int) -> BatchKey {
        let size = detector.inputSize(width: width, height: height)
        return BatchKey(width: size.width, height: size.height)
    }

    func submit(
        _ batch: consuming FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (consuming BatchOutcome) -> Void
    ) {
        let infos = batch.infos
        var frames = batch.frames
        let result: Result<BatchDetections, LookoutError>
        do {
            result = .success(
                try detector.detect(
                    sizes: infos.map { ($0.width, $0.height) },
                    lend: { i, body in frames[i].withPixels(body) },
                    filled: { if !holdFrames { frames.removeAll(keepingCapacity: true) } }))
        } catch {
            result = .failure(error)
        }
        completion(
            BatchOutcome(number: batch.number, infos: infos, closedAt: batch.closedAt, result: result, frames: frames))
    }

    func drain() {}
    func prepare(width: Int, height: Int) throws {}
    func deviceStatistics() -> DeviceStatistics? { nil }
}
