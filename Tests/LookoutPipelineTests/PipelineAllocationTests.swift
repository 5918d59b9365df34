import CLookoutAllocCounter
import LookoutCUDA
import LookoutCore
import LookoutInference
import LookoutYOLO
import Synchronization
import Testing

@testable import LookoutPipeline

/// Heap allocations per frame of the pipeline's way from a decoded frame to the reader of `results`, on the CPU: the
/// figures behind `bench pipeline`'s `host_allocations_per_frame`, printed; what is asserted are counts, never
/// budgets (the numbers depend on the Swift runtime and the scheduling of threads).
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

    static func per(_ count: UInt64, _ frames: Int) -> String {
        TextFormat.format("%.2f", Double(count) / Double(max(frames, 1)))
    }
}
