import BasicContainers
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutYOLO
import Synchronization

/// The GPU path of the pipeline: each batch's frames reach the engine's input through the `FrameUploader` of the
/// pipeline's transfer mode; then, on the compute stream, the engine (the CUDA graph of the batch's size bucket),
/// GPU NMS with box scaling, and only the kept boxes copied into pinned memory. `submit` queues all of it and
/// returns; a completion thread of the stage's own waits on the batch's last event (sleeping, not spinning) and
/// hands the detections on. The frames went back to their pools as soon as the GPU had read them (their fences).
/// `depth` batches can be in flight, each with its own set of staging and results memory (`GPUBatchSet`), so while
/// batch N runs, batch N+1 uploads and batch N−1's results are read.
///
/// Batches of any size run in a few compiled shapes: the smallest power of two (or the largest batch) that holds
/// them; the slots past the batch's frames are not letterboxed and their outputs never read.
final class GPUInferenceStage: InferenceStage, @unchecked Sendable {
    // `instances`, `nextSet` and the sets' upload slots are only touched by the inference thread (`submit`); the
    // completion thread only waits on events and reads results; `totals` is under its Mutex.
    let detector: Detector
    let engine: CUDAEngine
    let context: CUDAContext
    let options: PipelineOptions
    let frameFormat: FrameFormat
    let maxBatch: Int
    let buckets: [Int]
    let uploader: FrameUploader
    private let sets: [GPUBatchSet]
    private var nextSet = 0
    private var instances: [InstanceKey: CUDAModelInstance] = [:]
    /// Per-batch scratch of the inference thread (`submit`), reused so that a batch allocates nothing.
    private var geometries: [LetterboxGeometry] = []
    private var targets: [BoxScalingTarget] = []
    /// The completion thread's: each frame's detection list and each batch's list of them, recycled once read.
    private var detectionLists: RecycledArrays<Detection>
    private var batchLists: RecycledArrays<[Detection]>

    /// A compiled instance: its batch bucket and input size.
    struct InstanceKey: Hashable {
        var batch: Int
        var height: Int
        var width: Int
    }
    private let pending = BlockingQueue<Job>()
    private let completionThread = Mutex<(started: Bool, done: ConditionLock, finished: Bool)>(
        (false, ConditionLock(), false))
    private let totals = Mutex(Totals())

    struct Totals {
        var busy = 0.0
        var engine = 0.0
        var batches = 0
        var uploaded = 0
    }

    /// A queued batch, for the completion thread.
    struct Job: ~Copyable, Sendable {
        var number: Int
        var infos: [FrameInfo]
        var closedAt: UInt64
        var frames: UniqueArray<Frame>
        var set: GPUBatchSet
        var inputWidth: Int
        var inputHeight: Int
        var engineBatch: Int
        var cpuMilliseconds: Double
        var uploadedBytes: Int
        var completion: @Sendable (consuming BatchOutcome) -> Void

        /// Hands the batch on with its result.
        consuming func complete(_ result: Result<BatchDetections, LookoutError>) {
            completion(BatchOutcome(number: number, infos: infos, closedAt: closedAt, result: result, frames: frames))
        }
    }

    init(detector: Detector, cuda: CUDABackendAccess, mode: TransferMode, options: PipelineOptions) throws(LookoutError)
    {
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
        if mode.preprocessesOnCPU && options.frameFormat == .nv12 {
            throw LookoutError(
                .invalidArgument,
                "`frameFormat` nv12 needs a transfer mode that letterboxes on the GPU (pinned-raw, mapped, managed); "
                    + "\(mode.rawValue) letterboxes BGR frames on the CPU",
                parameter: "frameFormat")
        }
        if mode.preprocessesOnCPU || options.deliversFrames {
            // The CPU letterbox, and the pixels delivered with the results, are BGR.
            frameFormat = .bgr
        } else {
            frameFormat = options.frameFormat ?? .nv12
        }
        // A frame's list is read by the results thread and its reader until the result is dropped: more lists than
        // results can be in flight (the results buffer, the batches in flight and one being read); a batch's list of
        // lists only until it is delivered. The batch lists go round faster, so a frame list is no longer in any of
        // them when its turn comes.
        let depth = max(1, options.depth)
        detectionLists = RecycledArrays(count: 2 * (options.resultBufferSize + (depth + 3) * maxBatch))
        batchLists = RecycledArrays(count: depth + 2)
        let context = cuda.context
        let largest = maxBatch
        do {
            let copyStream = try CUDAStream(context: context)
            let computeStream = try CUDAStream(context: context)
            let letterbox = try GPULetterbox(compiler: cuda.compiler)
            let uploader = try FrameUploader(
                mode: mode, options: options.upload, context: context, copyStream: copyStream,
                computeStream: computeStream, letterbox: letterbox, maxBatch: largest)
            self.uploader = uploader
            sets = try (0..<max(1, options.depth)).map {
                try GPUBatchSet(
                    upload: try uploader.makeSlot(index: $0), context: context, compiler: cuda.compiler,
                    maxBatch: largest, classes: model.classCount, maxDetections: options.detect.maxDetections,
                    endToEnd: model.head != .anchors)
            }
        } catch {
            throw LookoutError(
                .deviceFailure, "cannot set up the GPU stage (\(mode.rawValue)): \(error)",
                cause: error)
        }
    }

    var modeName: String { uploader.mode.rawValue }
    var maximumBatch: Int? { detector.model.isDynamic ? nil : (detector.model.fixedBatch ?? 1) }
    var computeStream: CUDAStream { uploader.computeStream }

    func makePool(count: Int, bufferBytes: Int, policy: PoolExhaustionPolicy) throws -> FramePool {
        try context.bind()
        return try uploader.makePool(count: count, bufferBytes: bufferBytes, policy: policy)
    }

    func batchKey(width: Int, height: Int) -> BatchKey {
        let geometry = detector.geometry(width: width, height: height, imageSize: options.detect.imageSize)
        return BatchKey(width: geometry.outputWidth, height: geometry.outputHeight)
    }

    // MARK: Submitting

    func submit(
        _ batch: consuming FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (consuming BatchOutcome) -> Void
    ) {
        startCompletionThread()
        let set = sets[nextSet]
        nextSet = (nextSet + 1) % sets.count
        set.take()
        let number = batch.number
        let infos = batch.infos
        let closedAt = batch.closedAt
        var frames = batch.frames
        do {
            try context.bind()
            let job = try enqueue(
                &frames, number: number, infos: infos, closedAt: closedAt, set: set, holdFrames: holdFrames,
                completion: completion)
            pending.push(job)
        } catch {
            // Nothing of this batch is read after this: the GPU work queued so far only touches the set, which
            // stays unused until the streams have passed it.
            try? computeStream.synchronize()
            try? uploader.copyStream.synchronize()
            set.give()
            completion(
                BatchOutcome(
                    number: number, infos: infos, closedAt: closedAt, result: .failure(Self.lookoutError(error)),
                    frames: frames))
        }
    }

    static func lookoutError(_ error: any Error) -> LookoutError {
        if let error = error as? LookoutError { return error }
        return LookoutError(.deviceFailure, "\(error)", cause: error)
    }

    func drain() {
        let (started, done) = completionThread.withLock { ($0.started, $0.done) }
        pending.close()
        guard started else { return }
        done.withLock {
            while !completionThread.withLock({ $0.finished }) { done.wait() }
        }
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
        if let known = instances[InstanceKey(batch: bucket, height: height, width: width)] { return known }
        for size in buckets where instances[InstanceKey(batch: size, height: height, width: width)] == nil {
            instances[InstanceKey(batch: size, height: height, width: width)] = try engine.instance(
                shape: [size, 3, height, width])
        }
        try context.bind()
        return instances[InstanceKey(batch: bucket, height: height, width: width)]!
    }

    private func enqueue(
        _ frames: inout UniqueArray<Frame>, number: Int, infos: [FrameInfo], closedAt: UInt64, set: GPUBatchSet,
        holdFrames: Bool, completion: @escaping @Sendable (consuming BatchOutcome) -> Void
    ) throws -> Job {
        geometries.removeAll(keepingCapacity: true)
        for info in infos {
            geometries.append(
                detector.geometry(width: info.width, height: info.height, imageSize: options.detect.imageSize))
        }
        let width = geometries[0].outputWidth
        let height = geometries[0].outputHeight
        let instance = try instance(frames: infos.count, width: width, height: height)
        guard instance.output.shape.count == 3, instance.output.shape[2] <= GPUPostprocessor.capacity else {
            throw LookoutError(
                .invalidArgument,
                "a \(width)x\(height) input has \(instance.output.shape.last ?? 0) anchors, more than the GPU NMS holds "
                    + "(\(GPUPostprocessor.capacity)); use a smaller `imageSize`",
                parameter: "imageSize")
        }
        let cpuStart = MonotonicClock.nanoseconds()
        let input = instance.input
        let target = UploadTarget(
            tensor: DevicePointer(address: input.address), element: input.element == .f16 ? .float16 : .float32,
            layout: input.channelsLast ? .nhwc : .nchw, width: width, height: height,
            conversion: uploader.mode.preprocessesOnCPU ? instance : nil)
        let uploaded = try uploader.upload(
            &frames, geometries: geometries, into: target, slot: set.upload, keepFrames: holdFrames)
        let cpuMilliseconds = Double(MonotonicClock.nanoseconds() &- cpuStart) / 1e6
        try set.engineStart.record(on: computeStream)
        try instance.enqueue(on: computeStream)
        try set.engineEnd.record(on: computeStream)
        targets.removeAll(keepingCapacity: true)
        for info in infos {
            targets.append(
                BoxScalingTarget(
                    ratioPad: BoxScaling.predictRatioPad(
                        inputWidth: width, inputHeight: height, originalWidth: info.width, originalHeight: info.height),
                    originalWidth: info.width, originalHeight: info.height))
        }
        try set.post.enqueue(
            output: instance.output, batch: infos.count, options: options.detect.nms, targets: targets,
            on: computeStream)
        try set.end.record(on: computeStream)
        let kept = frames
        frames = UniqueArray()
        return Job(
            number: number, infos: infos, closedAt: closedAt, frames: kept, set: set, inputWidth: width,
            inputHeight: height, engineBatch: instance.batch, cpuMilliseconds: cpuMilliseconds,
            uploadedBytes: uploaded, completion: completion)
    }

    // MARK: Completing

    private func startCompletionThread() {
        let start = completionThread.withLock { state -> Bool in
            if state.started { return false }
            state.started = true
            return true
        }
        guard start else { return }
        PlatformThread.spawn(name: "lookout-gpu-done") { [self] in
            completionLoop()
            let done = completionThread.withLock { state -> ConditionLock in
                state.finished = true
                return state.done
            }
            done.withLock { done.broadcast() }
        }
    }

    private func completionLoop() {
        try? context.bind()
        while let job = pending.pop() {
            let set = job.set
            let result: Result<BatchDetections, LookoutError>
            do {
                try set.end.synchronize()
                let busy = try set.end.milliseconds(since: set.upload.computeStart)
                let engineTime = try set.engineEnd.milliseconds(since: set.engineStart)
                let preprocess = try set.engineStart.milliseconds(since: set.upload.computeStart)
                var detections = batchLists.take()
                defer { batchLists.keep(detections) }
                detections.reserveCapacity(job.infos.count)
                for i in job.infos.indices {
                    var list = detectionLists.take()
                    let complete = set.post.detections(image: i, into: &list)
                    detectionLists.keep(list)
                    guard complete else {
                        throw LookoutError(
                            .inferenceFailure,
                            "frame \(i) of a batch had more NMS candidates than the GPU scratch holds")
                    }
                    detections.append(list)
                }
                totals.withLock {
                    $0.busy += busy
                    $0.engine += engineTime
                    $0.batches += 1
                    $0.uploaded += job.uploadedBytes
                }
                result = .success(
                    BatchDetections(
                        frames: detections, inputWidth: job.inputWidth, inputHeight: job.inputHeight,
                        engineBatch: job.engineBatch, preprocessMilliseconds: job.cpuMilliseconds + preprocess,
                        inferenceMilliseconds: engineTime,
                        postprocessMilliseconds: max(0, busy - preprocess - engineTime)))
            } catch {
                result = .failure(Self.lookoutError(error))
            }
            set.give()
            job.complete(result)
        }
    }
}
