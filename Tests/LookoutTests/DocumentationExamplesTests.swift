import Foundation
import Logging
import Lookout
import LookoutTestFixtures
import ServiceLifecycle
import Testing

/// The DocC articles' examples compile (DocumentationExamples.swift holds them verbatim) and do what they say.
@Suite struct DocumentationExamplesTests {
    static let catalog = Fixtures.repository + "/Sources/Lookout/Lookout.docc"

    /// The Swift code blocks of every article.
    static func codeBlocks() throws -> [(article: String, code: String)] {
        var blocks: [(String, String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: catalog).sorted() where name.hasSuffix(".md") {
            let text = try String(contentsOfFile: catalog + "/" + name, encoding: .utf8)
            var current: [Substring]? = nil
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "```swift" {
                    current = []
                } else if line == "```", let code = current {
                    blocks.append((name, code.joined(separator: "\n")))
                    current = nil
                } else {
                    current?.append(line)
                }
            }
        }
        return blocks
    }

    @Test func everyArticleExampleIsCompiledHere() throws {
        let source = try String(
            contentsOfFile: #filePath.replacingOccurrences(of: "Tests.swift", with: ".swift"), encoding: .utf8)
        let blocks = try Self.codeBlocks()
        #expect(blocks.count >= 5)
        for block in blocks {
            #expect(source.contains(block.code), "\(block.article): this example is not in DocumentationExamples.swift")
        }
    }

    @Test func theDetectExampleIsAtMostTenLinesAndFindsTheSamplesObjects() throws {
        let detectBlock = try #require(try Self.codeBlocks().first { $0.article == "Detect.md" })
        #expect(detectBlock.code.split(separator: "\n").count <= 10)
        let found = try detect(modelPath: Fixtures.staticModel, imagePath: Fixtures.repository + "/Models/sample.jpg")
        #expect(found.count == 4)
    }

    @Test func twoStreamsStopWhenTheirTaskIsCancelled() async throws {
        setenv("LOOKOUT_MODELS", Fixtures.repository + "/Models", 1)
        let started = Date()
        // Two live (paced, endless) streams: only the cancellation ends them.
        let frames = try await watch("synthetic:320x192@15", "synthetic:320x192@15", seconds: 2)
        #expect(frames > 0)
        #expect(Date().timeIntervalSince(started) < 30, "the pipeline stopped once its task was cancelled")
    }

    @Test func pushedFramesAreDetectedInOrder() async throws {
        let detector = try Detector(model: DetectionModel(path: Fixtures.staticModel), device: .cpu)
        let image = try ImageDecoder.decode(file: Fixtures.repository + "/Models/sample.jpg")
        let results = try await detectPushed(Array(repeating: image, count: 3), detector: detector)
        #expect(results.map(\.frame) == [0, 1, 2])
        #expect(results.allSatisfy { $0.detections.count == 4 })
    }

    @Test func aServiceGroupShutsThePipelineDownGracefully() async throws {
        let detector = try Detector(model: DetectionModel(path: Fixtures.staticModel), device: .cpu)
        var options = PipelineOptions()
        options.detect.imageSize = 160
        let pipeline = try Pipeline(
            sources: [try StreamSource(parsing: "synthetic:160x96@10")], detector: detector, options: options)
        let reader = Task { () -> Int in
            var count = 0
            for await _ in pipeline.results { count += 1 }
            return count
        }
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(services: [pipeline], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        await group.triggerGracefulShutdown()
        try await running.value
        let delivered = await reader.value
        let summary = pipeline.summary()
        #expect(delivered > 0 && delivered == summary.frames)
        #expect(summary.streams[0].delivered + summary.streams[0].dropped == summary.streams[0].decoded)
        _ = gpuOptions()
    }
}
