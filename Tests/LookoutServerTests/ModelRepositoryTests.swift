import LookoutCUDA
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

@Suite struct ModelRepositoryTests {
    /// A folder holding a link to the committed model.
    static func folder() throws -> String {
        var template = Array("/tmp/lookout-repository.XXXXXX".utf8CString)
        let path = try #require(
            template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        #expect(symlink(Fixtures.staticModel, path + "/shapes-yolov8n.onnx") == 0)
        return path
    }

    static func repository() throws -> ModelRepository {
        try ModelRepository(folder: try folder()) { path in
            try Detector(model: try DetectionModel(path: path), device: .cpu)
        }
    }

    @Test func eachFileServesTheRawNetworkAndDetect() throws {
        let repository = try Self.repository()
        #expect(repository.loadAll().isEmpty)
        #expect(repository.index().map(\.name) == ["shapes-yolov8n", "shapes-yolov8n-detect"])
        #expect(repository.index().allSatisfy { $0.ready })
        #expect(throws: ServeError.self) { try repository.entry("nope") }
        try repository.unload("shapes-yolov8n")
        #expect(try repository.entry("shapes-yolov8n").ready == false)
        #expect(try repository.entry("shapes-yolov8n-detect").ready)
        try repository.load("shapes-yolov8n")
        #expect(try repository.entry("shapes-yolov8n").ready)
    }

    @Test func detectGivesTheDetectorsBoxesPaddedToMaxDet() throws {
        let repository = try Self.repository()
        _ = repository.loadAll()
        let (_, detector) = try repository.detector("shapes-yolov8n-detect")
        let image = try ImageDecoder.decode(file: Fixtures.repository + "/Models/sample.jpg")
        let expected = try detector.detect(image).detections
        let json =
            #"{"inputs":[{"name":"images","datatype":"UINT8","shape":[1,\#(image.height),\#(image.width),3],"#
            + #""parameters":{"binary_data_size":\#(image.byteCount)}}],"parameters":{"max_det":10}}"#
        let request = try InferRequest(body: Array(json.utf8) + image.pixels, headerLength: String(json.utf8.count))
        let (outputs, batch) = try ModelRunner.run(kind: .detect, detector: detector, request: request)
        #expect(batch == 1)
        #expect(outputs.map(\.name) == ["detections", "count"])
        #expect(outputs[0].shape == [1, 10, 6])
        guard case .fp32(let boxes) = outputs[0].values, case .int32(let count) = outputs[1].values else {
            Issue.record("wrong output types")
            return
        }
        #expect(count == [Int32(expected.count)])
        for (i, d) in expected.enumerated() {
            #expect(Array(boxes[(6 * i)..<(6 * i + 6)]) == [d.x1, d.y1, d.x2, d.y2, d.confidence, Float(d.classIndex)])
        }
        #expect(boxes[(6 * expected.count)...].allSatisfy { $0 == 0 })
    }
}
