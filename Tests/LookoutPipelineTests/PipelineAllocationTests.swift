import CLookoutAllocCounter
import Foundation
import LookoutCUDA
import LookoutCore
import LookoutInference
import LookoutYOLO
import Synchronization
import Testing

@testable import LookoutPipeline

/// Heap allocations per frame of the pipeline's way from a decoded frame to the reader of `results`, on the CPU: the
/// figures behind `bench pipeline`'s `host_allocations_per_frame`, printed. Most tests assert counts, not budgets (the
/// numbers depend on the Swift runtime and the scheduling of threads); the one that asserts a budget, the pipeline's
/// own path after its warm-up, is named `steadyState…`, so that `scripts/test` runs it alone (the count is
/// process-wide).
@Suite(.serialized)
struct PipelineAllocationTests {
    /// The detections of one frame as `GPUPostprocessor.detections(image:into:)` fills its list: appended one by one.
    static func appended(_ count: Int, reserving: Bool) -> [Detection] {
        var list: [Detection] = []
        if reserving { list.reserveCapacity(count) }
        for k in 0..<count {
            list.append(
                Detection(x1: Float(k), y1: 0, x2: Float(k) + 10, y2: 10, confidence: 0.9, classIndex: k % 4))
        }
        return list
    }

    @Test func aFramesDetectionListAllocatesOnceWhenReserved() throws {
        try #require(lookout_alloc_counter_active() != 0)
        var growing: [UInt64] = []
        var reserved: [UInt64] = []
        for n in [1, 2, 5, 9, 20] {
            var start = lookout_thread_alloc_count()
            var list = Self.appended(n, reserving: false)
            growing.append(lookout_thread_alloc_count() - start)
            #expect(list.count == n)
            start = lookout_thread_alloc_count()
            list = Self.appended(n, reserving: true)
            reserved.append(lookout_thread_alloc_count() - start)
            #expect(list.count == n)
        }
        print("[Detection] of 1, 2, 5, 9, 20 boxes: appended \(growing), reserved first \(reserved) allocations")
        #expect(reserved.allSatisfy { $0 == 1 })
    }

    /// A recycled list is emptied in place once its reader has let go (the same buffer, its capacity kept), and left
    /// alone while a reader still holds it (the next one is a new buffer). Buffers are compared, not allocations
    /// counted: this target is not optimised, and unspecialised generic code allocates where the pipeline's does not
    /// (`steadyStatePipelineOwnPathAllocatesNothingPerFrame` counts those).
    @Test func recycledListsAreReusedOnlyOnceTheirReaderHasLetGo() {
        func address(_ list: [Detection]) -> UnsafeRawPointer? {
            list.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        var ring = RecycledArrays<Detection>(count: 2)
        var held: [[Detection]] = []
        // Round one: both slots filled and handed to a reader.
        for n in [5, 7] {
            var list = ring.take()
            list.append(contentsOf: Self.appended(n, reserving: true))
            ring.keep(list)
            held.append(list)
        }
        let seven = address(held[1])
        // Round two while the reader still holds both: a new list, the reader's untouched.
        var list = ring.take()
        #expect(list.isEmpty)
        list.append(contentsOf: Self.appended(3, reserving: true))
        ring.keep(list)
        #expect(held[0].count == 5 && held[1].count == 7)
        #expect(address(list) != address(held[0]))
        // The reader lets go of everything: the next slot's list (round one's list of 7) is reused in place.
        held.removeAll()
        list = []
        var reused = ring.take()
        #expect(reused.isEmpty && reused.capacity >= 7)
        reused.append(contentsOf: Self.appended(6, reserving: false))
        #expect(address(reused) == seven)
        ring.keep(reused)
    }

    /// Every frame's writer asks its pool how many buffers are free (whether it may block).
    @Test func countingAPoolsFreeBuffersAllocatesNothing() throws {
        try #require(lookout_alloc_counter_active() != 0)
        let pool = FramePool(count: 6, policy: .wait, makeBuffer: { _ in HostBuffer.pageable(byteCount: 64) })
        let held = try pool.acquire()
        var free = 0
        let before = lookout_thread_alloc_count()
        for _ in 0..<1000 { free += pool.freeCount }
        let allocations = lookout_thread_alloc_count() - before
        _ = consume held
        #expect(free == 5000)
        #expect(allocations == 0)
    }

    /// The results queue between the results thread and the reader of `pipeline.results`: a producer thread pushes
    /// batches of 32 results (each with the same, shared detection list: no allocation of its own) while a task
    /// iterates them, as `bench pipeline`'s reader does.
    @Test func resultQueueAllocationsPerFrame() async throws {
        try #require(lookout_alloc_counter_active() != 0)
        let queue = ResultQueue<FrameResult>(capacity: 256, blocksWhenFull: true)
        let results = PipelineResults(queue: queue)
        let detections = Self.appended(9, reserving: true)
        let batches = 400
        let warmupBatches = 50
        let producer = Mutex<(start: UInt64, pushes: UInt64, processStart: UInt64)>((0, 0, 0))
        PlatformThread.spawn(name: "test-results") {
            var pushes: UInt64 = 0
            for batch in 0..<batches {
                if batch == warmupBatches {
                    let now = lookout_alloc_count()
                    producer.withLock { $0.processStart = now }
                }
                for slot in 0..<32 {
                    let result = FrameResult(
                        stream: slot, frame: batch, pts: nil, width: 1920, height: 1080, detections: detections,
                        latencyMilliseconds: 1, batchSize: 32)
                    let before = lookout_thread_alloc_count()
                    queue.push(result)
                    if batch >= warmupBatches { pushes += lookout_thread_alloc_count() - before }
                }
            }
            producer.withLock { $0.pushes = pushes }
            queue.finish()
        }
        var read = 0
        var processEnd: UInt64 = 0
        var last = [Int](repeating: -1, count: 32)
        for await result in results {
            last[result.stream] = result.frame
            read += 1
            if read == batches * 32 { processEnd = lookout_alloc_count() }
        }
        let measuredFrames = (batches - warmupBatches) * 32
        let (_, pushes, processStart) = producer.withLock { $0 }
        let total = processEnd &- processStart
        print(
            "ResultQueue, \(measuredFrames) frames: push \(Self.per(pushes, measuredFrames)) per frame on the results "
                + "thread; whole process \(Self.per(total, measuredFrames)) per frame (the reader's next(), resumes "
                + "and whatever the runtime does)")
        #expect(read == batches * 32)
        #expect(last.allSatisfy { $0 == batches - 1 })
    }

    /// A whole pipeline on the CPU backend: synthetic sources (no decoder), the dynamic shapes model at 64×64, a
    /// reader task. The window is opened and closed by the reader, between two of its results.
    @Test func cpuPipelineAllocationsPerFrame() async throws {
        try #require(lookout_alloc_counter_active() != 0)
        let streams = 8
        let source = StreamSource(kind: .synthetic(width: 64, height: 64, fps: nil, frames: nil))
        var options = Fixtures.options(imageSize: 64, batch: 8)
        options.maxDelayMilliseconds = 50
        let pipeline = try Pipeline(
            sources: Array(repeating: source, count: streams), detector: Fixtures.detector, options: options)
        let running = Task { try await pipeline.run() }
        let warmup = 400
        let measured = 2000
        var read = 0
        var start: UInt64 = 0
        var end: UInt64 = 0
        var detections = 0
        for await result in pipeline.results {
            read += 1
            if read > warmup && read <= warmup + measured { detections += result.detections.count }
            if read == warmup {
                // lookout_driver_alloc_count() is read only here: a debugger can break on it to open the window.
                _ = lookout_driver_alloc_count()
                start = lookout_alloc_count()
            }
            if read == warmup + measured {
                end = lookout_alloc_count()
                _ = lookout_driver_alloc_count()
                pipeline.stop()
            }
        }
        try await running.value
        let summary = pipeline.summary()
        print(
            "CPU pipeline, \(streams) synthetic 64x64 streams, batch \(options.maxBatch), imgsz 64: "
                + "\(Self.per(end &- start, measured)) allocations per frame over \(measured) frames "
                + "(\(Self.per(UInt64(detections), measured)) detections per frame, batch fill "
                + TextFormat.format("%.2f", summary.batchFill) + ")")
        #expect(read >= warmup + measured)
        #expect(end > start)
    }

    /// The pipeline without an engine: synthetic sources, the batcher, a stage that answers each batch at once with
    /// three detections per frame in recycled lists (as the GPU stage's completion thread does), the results thread
    /// and a reader. What the GPU path adds to this (upload, NVDEC) is measured on the GPU by `bench pipeline`; this
    /// is the part every path shares, and after the warm-up it allocates nothing per frame.
    @Test func steadyStatePipelineOwnPathAllocatesNothingPerFrame() async throws {
        try #require(lookout_alloc_counter_active() != 0)
        let streams = 8
        let source = StreamSource(kind: .synthetic(width: 64, height: 64, fps: nil, frames: nil))
        var options = Fixtures.options(imageSize: 64, batch: 8)
        options.maxDelayMilliseconds = 5
        let stage = AnsweringStage(options: options)
        let pipeline = try Pipeline(
            sources: Array(repeating: source, count: streams), detector: Fixtures.detector, options: options,
            metrics: nil, stage: stage)
        let running = Task { try await pipeline.run() }
        let warmup = 2000
        let measured = 8000
        // The reader on a thread of its own (`ReaderExecutor`), as `bench pipeline`'s: on the default executor each
        // wake-up of the reader costs two allocations in libdispatch.
        let executor = ReaderExecutor(name: "test-reader")
        let sites = ProcessInfo.processInfo.environment["LOOKOUT_ALLOC_SITES"]
        let reading = Task(executorPreference: executor) {
            () -> (read: Int, boxes: Int, outOfOrder: Int, start: UInt64, end: UInt64) in
            var read = 0
            var start: UInt64 = 0
            var end: UInt64 = 0
            var boxes = 0
            var last = [Int](repeating: -1, count: streams)
            var outOfOrder = 0
            for await result in pipeline.results {
                read += 1
                if result.frame <= last[result.stream] { outOfOrder += 1 }
                last[result.stream] = result.frame
                if read > warmup && read <= warmup + measured { boxes += result.detections.count }
                if read == warmup {
                    start = lookout_alloc_count()
                    // LOOKOUT_ALLOC_SITES=FILE: where the window's allocations come from (scripts/alloc-sites.py).
                    if sites != nil { lookout_alloc_sites_record(1) }
                }
                if read == warmup + measured {
                    end = lookout_alloc_count()
                    if let sites { _ = lookout_alloc_sites_write(sites) }
                    pipeline.stop()
                }
            }
            return (read, boxes, outOfOrder, start, end)
        }
        let (read, boxes, outOfOrder, start, end) = await reading.value
        executor.shutdown()
        try await running.value
        print(
            "the pipeline's own path, \(streams) synthetic 64x64 streams, batch \(options.maxBatch), answering stage: "
                + "\(Self.per(end &- start, measured)) allocations per frame over \(measured) frames "
                + "(\(end &- start) in all)")
        #expect(read >= warmup + measured)
        #expect(outOfOrder == 0)
        #expect(boxes == 3 * measured)
        // A few stragglers (a pool or queue growing once more, the runtime's own bookkeeping) are tolerated; one per
        // frame or per batch is not.
        #expect(Double(end &- start) / Double(measured) < 0.02)
    }

    static func per(_ count: UInt64, _ frames: Int) -> String {
        TextFormat.format("%.2f", Double(count) / Double(max(frames, 1)))
    }
}

/// An inference stage without an engine: host frame buffers, and each batch answered at once with three boxes per
/// frame, filled into recycled lists the way `GPUInferenceStage`'s completion thread fills them.
final class AnsweringStage: InferenceStage, @unchecked Sendable {
    // The lists are only touched by the inference thread (`submit`).
    let options: PipelineOptions
    private var lists: RecycledArrays<Detection>
    private var batches = RecycledArrays<[Detection]>(count: 4)

    init(options: PipelineOptions) {
        self.options = options
        lists = RecycledArrays(count: 2 * (options.resultBufferSize + (options.depth + 3) * options.maxBatch))
    }

    var modeName: String { "answering" }
    var maximumBatch: Int? { nil }
    var frameFormat: FrameFormat { .bgr }

    func makePool(count: Int, bufferBytes: Int, policy: PoolExhaustionPolicy) throws -> FramePool {
        FramePool(count: count, policy: policy, makeBuffer: { _ in HostBuffer.pageable(byteCount: bufferBytes) })
    }

    func batchKey(width: Int, height: Int) -> BatchKey { BatchKey(width: 64, height: 64) }

    func submit(
        _ batch: consuming FrameBatch, holdFrames: Bool,
        completion: @escaping @Sendable (consuming BatchOutcome) -> Void
    ) {
        let infos = batch.infos
        let number = batch.number
        let closedAt = batch.closedAt
        var frames = batch.takeFrames()
        if !holdFrames { frames.removeAll(keepingCapacity: true) }
        var detections = batches.take()
        // An index loop: this test target is not optimised, and its `for … in` over an array allocates a frame for
        // the unspecialised iterator's coroutine on every step.
        for i in 0..<infos.count {
            let info = infos[i]
            var list = lists.take()
            list.reserveCapacity(3)
            for k in 0..<3 {
                list.append(
                    Detection(
                        x1: Float(k), y1: 0, x2: Float(k + info.index % 7), y2: 8, confidence: 0.5, classIndex: k))
            }
            lists.keep(list)
            detections.append(list)
        }
        batches.keep(detections)
        let result = BatchDetections(
            frames: detections, inputWidth: 64, inputHeight: 64, engineBatch: infos.count, preprocessMilliseconds: 0,
            inferenceMilliseconds: 0, postprocessMilliseconds: 0)
        completion(
            BatchOutcome(
                number: number, infos: infos, closedAt: closedAt, result: .success(result), frames: frames))
    }

    func drain() {}
    func prepare(width: Int, height: Int) throws {}
    func deviceStatistics() -> DeviceStatistics? { nil }
}
