import BasicContainers
import LookoutCUDA
import LookoutCore
import LookoutInference
import LookoutYOLO

/// The stage between the batcher and the results: takes a batch's pixels from the frame pool to the engine in the
/// pipeline's transfer mode, runs the model once for the batch and returns each frame's detections.
///
/// The CPU path (`CPUInferenceStage`) letterboxes each pooled frame straight into its slot of the CPU engine's
/// input; the GPU path (`GPUInferenceStage`) uploads through a `FrameUploader` and runs, suppresses and scales on
/// the GPU, asynchronously.
package protocol InferenceStage: AnyObject, Sendable {
    /// For reports: `cpu`, or the transfer mode.
    var modeName: String { get }
    /// The largest batch the engine takes (nil: any).
    var maximumBatch: Int? { get }
    /// The layout video decoders write into the frame pool.
    var frameFormat: FrameFormat { get }
    /// A frame pool in the memory this stage reads frames from.
    func makePool(count: Int, bufferBytes: Int, policy: PoolExhaustionPolicy) throws -> FramePool
    /// Frames with equal keys can share a batch.
    func batchKey(width: Int, height: Int) -> BatchKey
    /// Runs the batch, or queues it and returns at once; `completion` is called exactly once, on any thread, when
    /// its detections are ready (in submission order). The frames' leases end as soon as their pixels have been
    /// read, unless `holdFrames`: then they come back in the outcome, for delivery with the results.
    func submit(
        _ batch: consuming FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (consuming BatchOutcome) -> Void)
    /// Returns once every submitted batch has completed.
    func drain()
    /// Compiles (and tunes) what frames of `width` × `height` will need, before the pipeline starts.
    func prepare(width: Int, height: Int) throws
    /// Device memory and GPU busy time so far (nil on the CPU).
    func deviceStatistics() -> DeviceStatistics?
}

/// A batch once its detections are known (or the engine failed): what the results stage delivers.
package struct BatchOutcome: ~Copyable, Sendable {
    package var number: Int
    package var infos: [FrameInfo]
    package var closedAt: UInt64
    package var result: Result<BatchDetections, LookoutError>
    /// The frames themselves when the pipeline delivers pixels (`holdFrames`).
    package var frames: UniqueArray<Frame>

    package init(
        number: Int, infos: [FrameInfo], closedAt: UInt64, result: Result<BatchDetections, LookoutError>,
        frames: consuming UniqueArray<Frame>
    ) {
        self.number = number
        self.infos = infos
        self.closedAt = closedAt
        self.result = result
        self.frames = frames
    }
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

enum InferenceStages {
    /// The stage for the detector's device and the requested transfer mode, or an error saying why the combination
    /// cannot run.
    static func make(detector: Detector, options: PipelineOptions) throws(LookoutError) -> any InferenceStage {
        if let cuda = detector.cuda {
            return try GPUInferenceStage(
                detector: detector, cuda: cuda, mode: options.transferMode ?? .pinnedRaw, options: options)
        }
        if let mode = options.transferMode {
            throw LookoutError(
                .invalidArgument,
                "`transferMode` \(mode.rawValue) is a CPU-to-GPU transfer mode and needs a detector on a CUDA `device`; "
                    + "this detector runs on the CPU, which has one path (leave `transferMode` nil)",
                parameter: "transferMode")
        }
        return CPUInferenceStage(detector: BatchDetector(detector: detector, options: options.detect))
    }
}
