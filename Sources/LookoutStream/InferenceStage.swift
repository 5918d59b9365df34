import Lookout
import LookoutCUDA
import LookoutPipeline

/// The stage between the batcher and the results: takes a batch's pixels from the frame pool to the engine in
/// the pipeline's transfer mode, runs the model once for the batch and returns each frame's detections.
///
/// This is the seam of the transfer modes (DESIGN.md): the CPU path letterboxes each pooled frame straight into
/// its slot of the CPU engine's input (no staging copy); the GPU stage (`GPUInferenceStage`) allocates the frame
/// buffers in the mode's host memory and uploads, letterboxes, runs and suppresses on the GPU, asynchronously.
protocol InferenceStage: AnyObject, Sendable {
    /// For reports: `cpu`, or the transfer mode.
    var modeName: String { get }
    /// The largest batch the engine takes (nil: any).
    var maximumBatch: Int? { get }
    /// The layout video decoders write into the frame pool.
    var frameFormat: FrameFormat { get }
    /// A frame-pool buffer in the memory this stage reads from.
    func makeFrameBuffer(byteCount: Int) throws -> HostBuffer
    /// Frames with equal keys can share a batch.
    func batchKey(width: Int, height: Int) -> BatchKey
    /// Runs the batch, or queues it and returns at once; `completion` is called exactly once, on any thread, when
    /// its detections are ready (batches may complete on another thread than the caller's, in submission order).
    /// Frames are released as soon as their pixels have been read, unless `holdFrames`.
    func submit(
        _ batch: FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (Result<BatchDetections, any Error>) -> Void)
    /// Returns once every submitted batch has completed.
    func drain()
    /// Compiles (and tunes) what frames of `width` × `height` will need, before the pipeline starts.
    func prepare(width: Int, height: Int) throws
    /// Device memory and GPU busy time so far (nil on the CPU).
    func deviceStatistics() -> DeviceStatistics?
}

/// The GPU side of a pipeline, for metrics and reports.
public struct DeviceStatistics: Sendable {
    /// Device memory in use on the whole device (`cuMemGetInfo`: total − free), bytes.
    public var deviceMemoryUsed: Int
    public var deviceMemoryTotal: Int
    /// Milliseconds the compute stream was busy (from the first letterbox or conversion of a batch to its results'
    /// copy to the host, by CUDA events), summed over batches.
    public var busyMilliseconds: Double
    /// Of which the engine (the CUDA graph's replay).
    public var engineMilliseconds: Double
    public var batches: Int
    /// Bytes of pixels or tensors copied host → device (0 for mapped memory, which is read in place).
    public var uploadedBytes: Int
}

/// The CPU path: pageable frame buffers, letterbox in the engine's input fill.
final class CPUInferenceStage: InferenceStage {
    let detector: BatchDetector

    init(detector: BatchDetector) {
        self.detector = detector
    }

    var modeName: String { "cpu" }
    var maximumBatch: Int? { detector.maximumBatch }
    var frameFormat: FrameFormat { .bgr }

    func makeFrameBuffer(byteCount: Int) throws -> HostBuffer {
        HostBuffer.pageable(byteCount: byteCount)
    }

    func batchKey(width: Int, height: Int) -> BatchKey {
        let size = detector.inputSize(width: width, height: height)
        return BatchKey(width: size.width, height: size.height)
    }

    func submit(
        _ batch: FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (Result<BatchDetections, any Error>) -> Void
    ) {
        let frames = batch.frames
        completion(
            Result {
                try detector.detect(
                    sizes: frames.map { ($0.width, $0.height) },
                    lend: { i, body in frames[i].withPixels(body) },
                    filled: {
                        if !holdFrames { for frame in frames { frame.release() } }
                    })
            })
    }

    func drain() {}
    func prepare(width: Int, height: Int) throws {}
    func deviceStatistics() -> DeviceStatistics? { nil }
}

enum InferenceStages {
    /// The stage for the detector's device and the requested transfer mode, or a one-line error saying why the
    /// combination cannot run.
    static func make(detector: Detector, options: PipelineOptions) throws(StreamError) -> any InferenceStage {
        if let cuda = detector.cuda {
            return try GPUInferenceStage(
                detector: detector, cuda: cuda, mode: options.mode ?? .pinnedRaw, options: options)
        }
        if let mode = options.mode {
            throw StreamError(
                "--mode \(mode.rawValue) is a CPU-to-GPU transfer mode and needs --device cuda (the CUDA inference "
                    + "backend); this detector runs on the CPU, which uses the CPU path (leave out --mode)")
        }
        if detector.backendName != "lookout-cpu" {
            throw StreamError("the \(detector.backendName) backend has no streaming stage; use --device cpu or cuda")
        }
        return CPUInferenceStage(detector: BatchDetector(detector: detector, options: options.detect))
    }
}
