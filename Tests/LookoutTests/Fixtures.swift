import Foundation
import Testing

/// Paths of the test fixtures and of the built `lookout` executable, found from this source file's location.
enum Fixtures {
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.path
    }()

    static let root = repository + "/Tests/Fixtures"

    static func path(_ relative: String) -> String { root + "/" + relative }

    static let staticModel = path("shapes/shapes-yolov8n.onnx")
    static let dynamicModel = path("shapes/shapes-yolov8n-dynamic.onnx")
    static let fp16Model = path("shapes/shapes-yolov8n-fp16.onnx")
    static let valFolder = path("shapes/val")
    static let valImages = path("shapes/val/images")

    static let generateHint =
        "run `bash scripts/test` once: it unpacks Tests/Fixtures/onnx-matrix.tar.xz and computes the onnxruntime references into Tests/Fixtures/generated/"

    /// A file under Tests/Fixtures/generated; the test fails (never skips) when it is missing.
    static func generated(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = root + "/generated/" + relative
        try #require(
            FileManager.default.fileExists(atPath: path), "missing \(path): \(generateHint)",
            sourceLocation: sourceLocation)
        return path
    }

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The 120 validation images, sorted.
    static func valImageNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: valImages).filter { $0.hasSuffix(".jpg") }.sorted()
    }

    /// A fresh empty directory under the system's temporary folder.
    static func temporaryDirectory(_ label: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
