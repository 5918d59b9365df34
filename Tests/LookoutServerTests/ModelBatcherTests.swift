import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutTestFixtures
import Testing

@testable import LookoutServer

#if canImport(Glibc)
    import Glibc
#endif

/// The dynamic batcher: concurrent requests share engine calls and each gets what it gets alone.
@Suite struct ModelBatcherTests {
    /// A repository of one model file (a link to `model`), every model loaded.
    static func repository(_ model: String, settings: BatchingSettings) throws -> ModelRepository {
        var template = Array("/tmp/lookout-batcher.XXXXXX".utf8CString)
        let folder = try #require(
            template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        #expect(symlink(model, folder + "/m.onnx") == 0)
        let repository = try ModelRepository(folder: folder, settings: settings) { path in
            try Detector(model: try DetectionModel(path: path), device: .cpu)
        }
        #expect(repository.loadAll().isEmpty)
        return repository
    }

    struct Timeout: Error {}

    /// Polls `condition` every 5 ms; fails the test after `seconds` rather than hanging the suite. The condition is
    /// read before the deadline, so a poller that a loaded machine leaves unscheduled for long still sees a state that
    /// holds (the tests wait only for states that last until they act).
    static func waitUntil(seconds: Double = 300, _ condition: () -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        while !condition() {
            guard clock.now < deadline else {
                Issue.record("not within \(seconds) s")
                throw Timeout()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static func settings(delayMicroseconds: Int, maxBatchSize: Int = 64) -> BatchingSettings {
        var settings = BatchingSettings()
        settings.maxQueueDelayMicroseconds = delayMicroseconds
        settings.maxBatchSize = maxBatchSize
        return settings
    }

    /// A binary UINT8 request of `images` (all of one size) with `parameters` (JSON object members).
    static func request(_ images: [BGRImage], parameters: String = #""max_det":20"#) throws -> InferRequest {
        let (h, w) = (images[0].height, images[0].width)
        let bytes = images.flatMap(\.pixels)
        let json =
            #"{"inputs":[{"name":"images","datatype":"UINT8","shape":[\#(images.count),\#(h),\#(w),3],"#
            + #""parameters":{"binary_data_size":\#(bytes.count)}}],"parameters":{\#(parameters)}}"#
        return try InferRequest(body: Array(json.utf8) + bytes, headerLength: String(json.utf8.count))
    }

    static func sample() throws -> BGRImage {
        try ImageDecoder.decode(file: Fixtures.repository + "/Models/sample.jpg")
    }

    /// The sample's top-left `width`×`height`.
    static func crop(_ image: BGRImage, width: Int, height: Int) -> BGRImage {
        var pixels: [UInt8] = []
        for y in 0..<height { pixels += image.pixels[(y * image.width * 3)..<((y * image.width + width) * 3)] }
        return BGRImage(width: width, height: height, pixels: pixels)!
    }

    static func values(_ outputs: [OutputTensor]) -> [[Float]] {
        outputs.map { output in
            switch output.values {
            case .fp32(let v): v
            case .int32(let v): v.map(Float.init)
            }
        }
    }

    /// Runs `requests` concurrently on `name`; the outputs of each, in order (or its error).
    static func concurrently(_ repository: ModelRepository, _ name: String, _ requests: [InferRequest]) async
        -> [Result<[OutputTensor], ServeError>]
    {
        await withTaskGroup(of: (Int, Result<[OutputTensor], ServeError>).self) { group in
            for (i, request) in requests.enumerated() {
                group.addTask {
                    do { return (i, .success(try await repository.infer(name, request: request).outputs)) } catch {
                        return (i, .failure(error as? ServeError ?? ServeError(500, "\(error)")))
                    }
                }
            }
            var results = [Result<[OutputTensor], ServeError>?](repeating: nil, count: requests.count)
            for await (i, result) in group { results[i] = result }
            return results.map { $0! }
        }
    }

    @Test func concurrentDetectRequestsShareExecutionsAndEachGetsItsOwnRows() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        // A delay far longer than the test (10 min): however slowly a loaded machine prepares the requests, the three
        // of equal parameters run when their 4 rows wait, and the other one when the batcher closes.
        let repository = try Self.repository(
            dynamic, settings: Self.settings(delayMicroseconds: 600_000_000, maxBatchSize: 4))
        let batcher = try repository.batcher("m-detect")
        let (_, detector) = try repository.detector("m-detect")
        let image = try Self.sample()
        // Requests of 1, 2 and 1 images, two sizes that share one letterbox, one with other parameters.
        let other = Self.crop(image, width: image.width - 8, height: image.height)
        let requests = [
            try Self.request([image]), try Self.request([image, image]), try Self.request([other]),
            try Self.request([image], parameters: #""max_det":20,"conf":0.5"#),
        ]
        let alone = try requests.map { try ModelRunner.run(kind: .detect, detector: detector, request: $0).outputs }
        async let answered = Self.concurrently(repository, "m-detect", requests)
        try await Self.waitUntil { repository.statistics("m-detect").executionCount == 1 && batcher.queued == 1 }
        batcher.close()
        let results = await answered
        for (i, result) in results.enumerated() {
            let outputs = try result.get()
            #expect(outputs.map(\.shape) == alone[i].map(\.shape), "request \(i)")
            #expect(Self.values(outputs) == Self.values(alone[i]), "request \(i)")
        }
        let stats = repository.statistics("m-detect")
        // Three requests of equal parameters merge (4 rows), the conf 0.5 one runs apart: 2 executions.
        #expect(stats.executionCount == 2)
        #expect(stats.batches[4]?.count == 1 && stats.batches[1]?.count == 1)
    }

    @Test func aFullBatchRunsBeforeAnOlderRequestOfOtherParameters() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        let repository = try Self.repository(
            dynamic, settings: Self.settings(delayMicroseconds: 600_000_000, maxBatchSize: 2))
        let batcher = try repository.batcher("m-detect")
        let image = try Self.sample()
        let older = try Self.request([image], parameters: #""max_det":20,"conf":0.5"#)
        let first = Task { try await repository.infer("m-detect", request: older) }
        try await Self.waitUntil { batcher.queued == 1 }
        // Two of other parameters fill a batch of 2: they run although the older one's 10-min delay has not passed.
        let full = try Self.request([image, image])
        #expect(try await repository.infer("m-detect", request: full).rows == 2)
        #expect(batcher.queued == 1 && repository.statistics("m-detect").executionCount == 1)
        batcher.close()
        #expect(try await first.value.rows == 1)
        #expect(repository.statistics("m-detect").batches[1]?.count == 1)
    }

    @Test func aBadRequestIsAnsweredAloneBesideGoodOnes() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        // A 10-min delay: the two good requests run when both wait (a full batch), however slowly they are prepared.
        let repository = try Self.repository(
            dynamic, settings: Self.settings(delayMicroseconds: 600_000_000, maxBatchSize: 2))
        let (_, detector) = try repository.detector("m-detect")
        let image = try Self.sample()
        let good = try Self.request([image])
        let fp32 = #"{"inputs":[{"name":"images","datatype":"FP32","shape":[1,1,1,3],"data":[0,0,0]}]}"#
        let wrongType = try InferRequest(body: Array(fp32.utf8), headerLength: nil)
        let tooMany = try Self.request([image, image, image], parameters: #""max_det":20,"conf":0.3"#)
        let expected = try ModelRunner.run(kind: .detect, detector: detector, request: good).outputs
        let small = try Self.repository(dynamic, settings: Self.settings(delayMicroseconds: 200_000, maxBatchSize: 2))
        let results = await Self.concurrently(repository, "m-detect", [good, wrongType, good])
        #expect(try Self.values(results[0].get()) == Self.values(expected))
        #expect(try Self.values(results[2].get()) == Self.values(expected))
        guard case .failure(let error) = results[1] else {
            Issue.record("a FP32 image was accepted")
            return
        }
        #expect(error.status == 400 && error.message.contains("expected UINT8"))
        #expect(repository.statistics("m-detect").executionCount == 1)
        // A request over max_batch_size is refused before queueing, as Triton does.
        let refused = await Self.concurrently(small, "m-detect", [tooMany, good])
        guard case .failure(let tooLarge) = refused[0] else {
            Issue.record("a request of 3 images was accepted with max_batch_size 2")
            return
        }
        #expect(tooLarge.status == 400 && tooLarge.message.contains("max_batch_size"))
        #expect(try Self.values(refused[1].get()) == Self.values(expected))
    }

    @Test func rawRequestsOfOneSizeMergeAndOthersRunApart() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        // A 10-min delay: the two of one size run when their 3 rows wait, the other one when the batcher closes.
        let repository = try Self.repository(
            dynamic, settings: Self.settings(delayMicroseconds: 600_000_000, maxBatchSize: 3))
        let (_, detector) = try repository.detector("m")
        let batcher = try repository.batcher("m")
        func raw(_ n: Int, _ h: Int, _ w: Int, seed: Int) throws -> InferRequest {
            var state = UInt32(seed)
            let floats = (0..<(n * 3 * h * w)).map { _ -> Float in
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(state >> 8) / Float(1 << 24)
            }
            let bytes = TensorBytes.of(floats)
            let json =
                #"{"inputs":[{"name":"images","datatype":"FP32","shape":[\#(n),3,\#(h),\#(w)],"#
                + #""parameters":{"binary_data_size":\#(bytes.count)}}]}"#
            return try InferRequest(body: Array(json.utf8) + bytes, headerLength: String(json.utf8.count))
        }
        let requests = [try raw(1, 64, 96, seed: 1), try raw(2, 64, 96, seed: 2), try raw(1, 96, 64, seed: 3)]
        let alone = try requests.map { try ModelRunner.run(kind: .raw, detector: detector, request: $0).outputs }
        async let answered = Self.concurrently(repository, "m", requests)
        try await Self.waitUntil { repository.statistics("m").executionCount == 1 && batcher.queued == 1 }
        batcher.close()
        let results = await answered
        for (i, result) in results.enumerated() {
            let outputs = try result.get()
            #expect(outputs[0].shape == alone[i][0].shape, "request \(i)")
            let (a, b) = (Self.values(outputs)[0], Self.values(alone[i])[0])
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(a.count == b.count && worst <= 1e-3, "request \(i): max difference \(worst)")
        }
        let stats = repository.statistics("m")
        #expect(stats.executionCount == 2 && stats.batches[3]?.count == 1 && stats.batches[1]?.count == 1)
    }

    @Test func aStaticExportNeverMerges() async throws {
        let repository = try Self.repository(Fixtures.staticModel, settings: Self.settings(delayMicroseconds: 100_000))
        let image = try Self.sample()
        let requests = try (0..<3).map { _ in try Self.request([image]) }
        let results = await Self.concurrently(repository, "m-detect", requests)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(repository.statistics("m-detect").executionCount == 3)
        let config = ModelMetadata.config(
            try repository.entry("m"), model: try repository.detector("m").1.model, batcher: try repository.batcher("m")
        )
        #expect(config["max_batch_size"]?.intValue == 0 && config["dynamic_batching"] == nil)
    }

    @Test func theConfigShowsMaxBatchSizeAndDynamicBatching() throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        let repository = try Self.repository(dynamic, settings: Self.settings(delayMicroseconds: 250, maxBatchSize: 8))
        for name in ["m", "m-detect"] {
            let config = ModelMetadata.config(
                try repository.entry(name), model: try repository.detector(name).1.model,
                batcher: try repository.batcher(name))
            #expect(config["max_batch_size"]?.intValue == 8)
            #expect(config["dynamic_batching"]?["max_queue_delay_microseconds"]?.intValue == 250)
            let dims = config["input"]?.arrayValue?.first?["dims"]?.arrayValue?.compactMap(\.intValue)
            #expect(dims == (name == "m" ? [3, -1, -1] : [-1, -1, 3]))
        }
    }

    @Test func aCancelledRequestLeavesTheQueueAndTheOthersAreAnswered() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        // A delay far longer than the test (10 min): the three stay queued however slowly a loaded machine queues
        // them and however late the poller runs, and closing the batcher ends the delay once the cancelled one left.
        let repository = try Self.repository(dynamic, settings: Self.settings(delayMicroseconds: 600_000_000))
        let image = try Self.sample()
        let request = try Self.request([image])
        let first = Task { try await repository.infer("m-detect", request: request) }
        let cancelled = Task { try await repository.infer("m-detect", request: request) }
        let third = Task { try await repository.infer("m-detect", request: request) }
        let batcher = try repository.batcher("m-detect")
        try await Self.waitUntil { batcher.queued == 3 }
        cancelled.cancel()
        try await Self.waitUntil { batcher.queued == 2 }
        batcher.close()
        #expect(try await first.value.rows == 1)
        #expect(try await third.value.rows == 1)
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        let stats = repository.statistics("m-detect")
        #expect(stats.executionCount == 1 && stats.batches[2]?.count == 1)
    }

    @Test func drainAnswersTheQueuedAndRefusesNewRequests() async throws {
        let dynamic = try Fixtures.generated("shapes/shapes-yolov8n-dynamic.onnx")
        // A 10-min delay: the request stays queued until the drain, however late the poller runs.
        let repository = try Self.repository(dynamic, settings: Self.settings(delayMicroseconds: 600_000_000))
        let request = try Self.request([try Self.sample()])
        let queued = Task { try await repository.infer("m-detect", request: request) }
        let batcher = try repository.batcher("m-detect")
        try await Self.waitUntil { batcher.queued == 1 }
        await repository.drain()
        #expect(try await queued.value.rows == 1)
        await #expect(throws: ServeError.self) { try await repository.infer("m-detect", request: request) }
    }
}
