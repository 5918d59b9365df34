// The Swift examples of the DocC articles (Sources/Lookout/Lookout.docc), verbatim: DocumentationExamplesTests checks
// that every code block of the articles appears here, and runs them.
import Logging
import Lookout
import ServiceLifecycle

func detect(modelPath: String, imagePath: String) throws -> [Detection] {
    let detector = try Detector(model: DetectionModel(path: modelPath))
    let image = try ImageDecoder.decode(file: imagePath)
    let result = try detector.detect(image)
    for box in result.detections {
        print(detector.model.classNames[box.classIndex], box.confidence, box.x1, box.y1, box.x2, box.y2)
    }
    return result.detections
}

func watch(_ first: String, _ second: String, seconds: Double) async throws -> Int {
    let detector = try Detector(model: DetectionModel(path: DefaultModel.modelPath()))
    var options = PipelineOptions()
    options.detect.imageSize = 320
    let sources = [try StreamSource(parsing: first), try StreamSource(parsing: second)]
    let pipeline = try Pipeline(sources: sources, detector: detector, options: options)
    let watching = Task {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pipeline.run() }
            for await result in pipeline.results {
                print("stream \(result.stream) frame \(result.frame): \(result.detections.count) objects")
            }
        }
    }
    try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    watching.cancel()  // The sources stop; the frames already decoded finish; run() returns.
    try await watching.value
    return pipeline.summary().frames
}

func detectPushed(_ images: [BGRImage], detector: Detector) async throws -> [FrameResult] {
    let camera = PushedFrames(name: "camera", dropsWhenBehind: false)
    let pipeline = try Pipeline(sources: [camera], detector: detector)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await pipeline.run() }
        group.addTask {
            for image in images { try await camera.push(image) }
            camera.finish()
        }
        var results: [FrameResult] = []
        for await result in pipeline.results { results.append(result) }
        try await group.waitForAll()
        return results
    }
}

func runUntilSignalled(_ pipeline: Pipeline, logger: Logger) async throws {
    let group = ServiceGroup(services: [pipeline], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}

func gpuOptions() -> PipelineOptions {
    var options = PipelineOptions()
    options.transferMode = .pinnedRaw
    options.frameFormat = .nv12
    options.maxBatch = 32
    options.depth = 2
    return options
}
