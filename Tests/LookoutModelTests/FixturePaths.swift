import Foundation
import Testing

/// Paths of the test fixtures (Tests/Fixtures), found from this source file's location.
enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("Tests/Fixtures")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        }
        return "Tests/Fixtures"
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    static let staticModel = path("shapes/shapes-yolov8n.onnx")
    static let dynamicModel = path("shapes/shapes-yolov8n-dynamic.onnx")
    static let fp16Model = path("shapes/shapes-yolov8n-fp16.onnx")
    static let allModels = [staticModel, dynamicModel, fp16Model]

    /// What to do when `scripts/test` has not generated the fixtures yet.
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
}

/// The export matrix's manifest.json (docs/onnx-exports.md), read once.
enum Matrix {
    static let folder = Fixtures.root + "/generated/onnx"

    nonisolated(unsafe) static let manifest: [String: Any]? = {
        guard let data = FileManager.default.contents(atPath: folder + "/manifest.json") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }()

    /// A sentinel argument for parameterized tests when the manifest is missing: the test then fails on it
    /// instead of running zero cases.
    static let missing = "<manifest.json missing>"

    static var models: [[String: Any]] { manifest?["models"] as? [[String: Any]] ?? [] }
    static var modelNames: [String] { manifest == nil ? [missing] : models.compactMap { $0["name"] as? String } }
    static var invalid: [[String: Any]] { manifest?["invalid"] as? [[String: Any]] ?? [] }
    static var invalidFiles: [String] { manifest == nil ? [missing] : invalid.compactMap { $0["file"] as? String } }

    static func model(_ name: String) throws -> [String: Any] {
        _ = try Fixtures.generated("onnx/manifest.json")
        return try #require(models.first { $0["name"] as? String == name }, "\(name) is not in the manifest")
    }
}
