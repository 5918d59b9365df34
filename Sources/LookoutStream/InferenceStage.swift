import Lookout
import LookoutCUDA
import LookoutPipeline

/// The stage between the batcher and the results: takes a batch's pixels from the frame pool to the engine in
/// the pipeline's transfer mode, runs the model once for the batch and returns each frame's detections.
///
/// This is the seam of the transfer modes (DESIGN.md): the CPU path letterboxes each pooled frame straight into
/// its slot of the CPU engine's input (no staging copy). The GPU modes (`pageable`, `pinned`, `pinned-raw`, `mapped`,
/// `managed`) allocate their frame buffers in the matching host memory and upload/letterbox on the GPU; they plug in
/// here once the CUDA inference backend exists.
protocol InferenceStage: AnyObject, Sendable {
    /// For reports: `cpu`, or the transfer mode.
    var modeName: String { get }
    /// The largest batch the engine takes (nil: any).
    var maximumBatch: Int? { get }
    /// A frame-pool buffer in the memory this stage reads from.
    func makeFrameBuffer(byteCount: Int) throws -> HostBuffer
    /// Frames with equal keys can share a batch.
    func batchKey(width: Int, height: Int) -> BatchKey
    /// Runs the batch. Frames are released as soon as their pixels have been read, unless `holdFrames`.
    func run(_ batch: FrameBatch, holdFrames: Bool) throws -> BatchDetections
}

/// The CPU path: pageable frame buffers, letterbox in the engine's input fill.
final class CPUInferenceStage: InferenceStage {
    let detector: BatchDetector

    init(detector: BatchDetector) {
        self.detector = detector
    }

    var modeName: String { "cpu" }
    var maximumBatch: Int? { detector.maximumBatch }

    func makeFrameBuffer(byteCount: Int) throws -> HostBuffer {
        HostBuffer.pageable(byteCount: byteCount)
    }

    func batchKey(width: Int, height: Int) -> BatchKey {
        let size = detector.inputSize(width: width, height: height)
        return BatchKey(width: size.width, height: size.height)
    }

    func run(_ batch: FrameBatch, holdFrames: Bool) throws -> BatchDetections {
        let frames = batch.frames
        return try detector.detect(
            sizes: frames.map { ($0.width, $0.height) },
            lend: { i, body in frames[i].withPixels(body) },
            filled: {
                if !holdFrames { for frame in frames { frame.release() } }
            })
    }
}

enum InferenceStages {
    /// The stage for the detector's device and the requested transfer mode, or a one-line error saying why the
    /// combination cannot run.
    static func make(detector: Detector, options: PipelineOptions) throws(StreamError) -> any InferenceStage {
        let batch = BatchDetector(detector: detector, options: options.detect)
        if detector.backendName == "lookout-cpu" {
            if let mode = options.mode {
                throw StreamError(
                    "--mode \(mode.rawValue) is a CPU-to-GPU transfer mode and needs --device cuda with the CUDA inference "
                        + "backend, which this build does not have yet; CPU runs use the CPU path (leave out --mode)")
            }
            return CPUInferenceStage(detector: batch)
        }
        throw StreamError(
            "the \(detector.backendName) backend has no streaming stage yet (transfer mode \(options.mode?.rawValue ?? "pinned-raw")); use --device cpu"
        )
    }
}
