import Dispatch
import Foundation
import Lookout
import LookoutCUDA
import LookoutCUDABackend
import LookoutPipeline
import LookoutYOLO
import Synchronization

/// The GPU path of the streaming pipeline, in one of the transfer modes (DESIGN.md):
///
/// | mode | frame pool | on the way to the engine's input |
/// | --- | --- | --- |
/// | `pageable` | ordinary memory, BGR | CPU letterbox to fp32 (all cores), synchronous copy, conversion kernel |
/// | `pinned` | ordinary memory, BGR | CPU letterbox into pinned fp32 staging, async copy on the copy stream |
/// | `pinned-raw` | pinned, NV12 (or BGR) | async copy of the raw frames on the copy stream, GPU letterbox |
/// | `mapped` | mapped pinned, NV12 (or BGR) | the GPU letterbox reads the pool buffer in place over PCIe |
/// | `managed` | unified memory, NV12 (or BGR) | prefetch to the device on the copy stream, GPU letterbox, pages sent back |
///
/// Then, on the compute stream: the engine (the CUDA graph of the batch's size bucket), GPU NMS with box scaling,
/// and only the kept boxes copied into pinned memory. `submit` queues all of it and returns; a completion thread
/// waits on the batch's events (blocking, not spinning), releases the frames once their pixels have been read
/// (before the model has run, for the raw modes), and hands the detections on. `depth` batches can be in flight,
/// each with its own staging and results memory (`GPUBatchSet`), so while batch N runs, batch N+1 uploads and
/// batch N−1's results are read.
///
/// Batches of any size run in a few compiled shapes: the smallest power of two (or the largest batch) that holds
/// them; the slots past the batch's frames are not letterboxed and their outputs never read.
final class GPUInferenceStage: InferenceStage, @unchecked Sendable {
    // `instances`, `nextSet` and the sets' staging are only touched by the inference thread (`submit`); the
    // completion thread only waits on events and reads results; `totals` is under its Mutex.
    let mode: TransferMode
    let detector: Detector
    let engine: CUDAEngine
    let context: CUDAContext
    let options: PipelineOptions
    let frameFormat: FrameFormat
    let maxBatch: Int
    let buckets: [Int]
    let copyStream: CUDAStream
    let computeStream: CUDAStream
    let letterbox: GPULetterbox
    private let sets: [GPUBatchSet]
    private var nextSet = 0
    private var instances: [[Int]: CUDAModelInstance] = [:]
    let cpuLetterbox: CPUBatchLetterbox?
    let prefetches: Bool
    private let pending = BlockingQueue<Job>()
    private let completionThread = Mutex<(started: Bool, done: DispatchSemaphore)>((false, DispatchSemaphore(value: 0)))
    private let totals = Mutex(Totals())

    struct Totals {
        var busy = 0.0
        var engine = 0.0
        var batches = 0
        var uploaded = 0
    }

    /// A queued batch, for the completion thread.
    struct Job: @unchecked Sendable {
        var batch: FrameBatch
        var set: GPUBatchSet
        var inputWidth: Int
        var inputHeight: Int
        var engineBatch: Int
        /// Release the frames once `consumed` completes (raw modes without `holdFrames`).
        var releaseWhenConsumed: Bool
        var cpuMilliseconds: Double
        var uploadedBytes: Int
        var completion: @Sendable (Result<BatchDetections, any Error>) -> Void
    }

    init(detector: Detector, cuda: CUDABackendAccess, mode: TransferMode, options: PipelineOptions) throws(StreamError)
    {
        self.mode = mode
        self.detector = detector
        self.engine = cuda.engine
        self.context = cuda.context
        self.options = options
        let model = detector.model
        let fixed = model.isDynamic ? nil : (model.fixedBatch ?? 1)
        maxBatch = min(max(1, options.maxBatch), fixed ?? Int.max)
        if let fixed {
            buckets = [fixed]
        } else {
            var sizes: [Int] = []
            var size = 1
            while size < maxBatch {
                sizes.append(size)
                size *= 2
            }
            buckets = sizes + [maxBatch]
        }
        if mode.preprocessesOnCPU || options.holdFramesUntilDelivered {
            // The CPU letterbox and `--save-video` read BGR.
            frameFormat = .bgr
        } else {
            frameFormat = options.frameFormat ?? .nv12
        }
        if mode.preprocessesOnCPU && options.frameFormat == .nv12 {
            throw StreamError(
                "--frame-format nv12 needs a mode that letterboxes on the GPU (pinned-raw, mapped, managed)")
        }
        let context = cuda.context
        let largest = maxBatch
        do {
            copyStream = try CUDAStream(context: context)
            computeStream = try CUDAStream(context: context)
            letterbox = try GPULetterbox(compiler: cuda.compiler)
            sets = try (0..<max(1, options.depth)).map {
                try GPUBatchSet(
                    index: $0, context: context, compiler: cuda.compiler, maxBatch: largest, classes: model.classCount,
                    maxDetections: options.detect.maxDetections)
            }
        } catch {
            throw StreamError("cannot set up the GPU stage (\(mode.rawValue)): \(error)")
        }
        cpuLetterbox = mode.preprocessesOnCPU ? CPUBatchLetterbox(maxBatch: maxBatch) : nil
        prefetches = mode == .managed && context.device.concurrentManagedAccess
    }

    var modeName: String { mode.rawValue }
    var maximumBatch: Int? { detector.model.isDynamic ? nil : (detector.model.fixedBatch ?? 1) }

    func makeFrameBuffer(byteCount: Int) throws -> HostBuffer {
        switch mode {
        case .pageable, .pinned: return HostBuffer.pageable(byteCount: byteCount)
        case .pinnedRaw: return try HostBuffer.pinned(byteCount: byteCount, context: context)
        case .mapped: return try HostBuffer.mapped(byteCount: byteCount, context: context)
        case .managed: return try HostBuffer.managed(byteCount: byteCount, context: context)
        }
    }

    func batchKey(width: Int, height: Int) -> BatchKey {
        let geometry = detector.geometry(width: width, height: height, imageSize: options.detect.imageSize)
        return BatchKey(width: geometry.outputWidth, height: geometry.outputHeight)
    }

    // MARK: Submitting

    func submit(
        _ batch: FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (Result<BatchDetections, any Error>) -> Void
    ) {
        startCompletionThread()
        let set = sets[nextSet]
        nextSet = (nextSet + 1) % sets.count
        set.free.wait()
        do {
            try context.bind()
            let job = try enqueue(batch, set: set, holdFrames: holdFrames, completion: completion)
            pending.push(job)
        } catch {
            // Nothing of this batch is read after this: the GPU work queued so far only touches the set, which
            // stays unused until the stream has passed it.
            try? computeStream.synchronize()
            try? copyStream.synchronize()
            set.free.signal()
            completion(.failure(error))
        }
    }

    func drain() {
        let (started, done) = completionThread.withLock { ($0.started, $0.done) }
        pending.close()
        if started { done.wait() }
    }

    func deviceStatistics() -> DeviceStatistics? {
        let memory = (try? context.memoryInfo()) ?? (free: 0, total: 0)
        let t = totals.withLock { $0 }
        return DeviceStatistics(
            deviceMemoryUsed: memory.total - memory.free, deviceMemoryTotal: memory.total, busyMilliseconds: t.busy,
            engineMilliseconds: t.engine, batches: t.batches, uploadedBytes: t.uploaded)
    }

    func prepare(width: Int, height: Int) throws {
        let key = batchKey(width: width, height: height)
        try context.bind()
        _ = try instance(frames: maxBatch, width: key.width, height: key.height)
    }

    /// The compiled instance for `batch` frames of `width` × `height`. The first batch of an input size compiles
    /// (and tunes) every bucket, so later batches of other sizes never stall the pipeline.
    private func instance(frames: Int, width: Int, height: Int) throws -> CUDAModelInstance {
        let bucket = buckets.first { $0 >= frames } ?? buckets.last!
        if let known = instances[[bucket, height, width]] { return known }
        for size in buckets where instances[[size, height, width]] == nil {
            instances[[size, height, width]] = try engine.instance(shape: [size, 3, height, width])
        }
        try context.bind()
        return instances[[bucket, height, width]]!
    }

    private func enqueue(
        _ batch: FrameBatch, set: GPUBatchSet, holdFrames: Bool,
        completion: @escaping @Sendable (Result<BatchDetections, any Error>) -> Void
    ) throws -> Job {
        let frames = batch.frames
        let geometries = frames.map {
            detector.geometry(width: $0.width, height: $0.height, imageSize: options.detect.imageSize)
        }
        let width = geometries[0].outputWidth
        let height = geometries[0].outputHeight
        let instance = try instance(frames: frames.count, width: width, height: height)
        guard instance.output.shape.count == 3, instance.output.shape[2] <= GPUPostprocessor.capacity else {
            throw StreamError(
                "a \(width)x\(height) input has \(instance.output.shape.last ?? 0) anchors, more than the GPU NMS holds "
                    + "(\(GPUPostprocessor.capacity)); use a smaller --imgsz")
        }
        let cpuStart = DispatchTime.now().uptimeNanoseconds
        var uploaded = 0
        var releaseWhenConsumed = false
        switch mode {
        case .pageable, .pinned:
            uploaded = try uploadLetterboxedOnCPU(frames, geometries: geometries, instance: instance, set: set)
            if !holdFrames { for frame in frames { frame.release() } }
        case .pinnedRaw, .mapped, .managed:
            uploaded = try letterboxOnGPU(frames, geometries: geometries, instance: instance, set: set)
            releaseWhenConsumed = !holdFrames
        }
        let cpuMilliseconds = Double(DispatchTime.now().uptimeNanoseconds &- cpuStart) / 1e6
        try set.engineStart.record(on: computeStream)
        try instance.enqueue(on: computeStream)
        try set.engineEnd.record(on: computeStream)
        let targets = frames.map { frame in
            BoxScalingTarget(
                ratioPad: BoxScaling.predictRatioPad(
                    inputWidth: width, inputHeight: height, originalWidth: frame.width, originalHeight: frame.height),
                originalWidth: frame.width, originalHeight: frame.height)
        }
        try set.post.enqueue(
            output: instance.output, batch: frames.count, options: options.detect.nms, targets: targets,
            on: computeStream)
        try set.end.record(on: computeStream)
        return Job(
            batch: batch, set: set, inputWidth: width, inputHeight: height, engineBatch: instance.batch,
            releaseWhenConsumed: releaseWhenConsumed, cpuMilliseconds: cpuMilliseconds, uploadedBytes: uploaded,
            completion: completion)
    }

    // MARK: Completing

    private func startCompletionThread() {
        let done: DispatchSemaphore? = completionThread.withLock { state in
            if state.started { return nil }
            state.started = true
            return state.done
        }
        guard let done else { return }
        let thread = Thread { [self] in
            completionLoop()
            done.signal()
        }
        thread.name = "lookout-gpu-completion"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func completionLoop() {
        try? context.bind()
        while let job = pending.pop() {
            let set = job.set
            do {
                if job.releaseWhenConsumed {
                    // The pool buffers are free once the copy (or the letterbox reading them in place) is done,
                    // long before the results: decoders get them back early.
                    try set.consumed.synchronize()
                    for frame in job.batch.frames { frame.release() }
                }
                try set.end.synchronize()
                let busy = try set.end.milliseconds(since: set.start)
                let engineTime = try set.engineEnd.milliseconds(since: set.engineStart)
                let preprocess = try set.engineStart.milliseconds(since: set.start)
                var detections: [[Detection]] = []
                detections.reserveCapacity(job.batch.frames.count)
                for i in job.batch.frames.indices {
                    var list: [Detection] = []
                    guard set.post.detections(image: i, into: &list) else {
                        throw StreamError("frame \(i) of a batch had more NMS candidates than the GPU scratch holds")
                    }
                    detections.append(list)
                }
                totals.withLock {
                    $0.busy += busy
                    $0.engine += engineTime
                    $0.batches += 1
                    $0.uploaded += job.uploadedBytes
                }
                set.free.signal()
                job.completion(
                    .success(
                        BatchDetections(
                            frames: detections, inputWidth: job.inputWidth, inputHeight: job.inputHeight,
                            engineBatch: job.engineBatch, preprocessMilliseconds: job.cpuMilliseconds + preprocess,
                            inferenceMilliseconds: engineTime,
                            postprocessMilliseconds: max(0, busy - preprocess - engineTime))))
            } catch {
                set.free.signal()
                job.completion(.failure(error))
            }
        }
    }
}
