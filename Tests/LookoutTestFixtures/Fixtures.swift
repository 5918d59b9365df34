import Foundation
import Testing

/// Paths of the committed test fixtures (Tests/Fixtures) and of what `scripts/test` generates beside them, shared by
/// the test targets (each adds its own helpers in an extension).
public enum Fixtures {
    /// Tests/Fixtures, found upwards from this source file.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("Tests/Fixtures")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        }
        return "Tests/Fixtures"
    }()

    /// The repository: two levels above Tests/Fixtures.
    public static var repository: String {
        ((root as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
    }

    public static func path(_ relative: String) -> String { root + "/" + relative }

    public static let staticModel = path("shapes/shapes-yolov8n.onnx")
    /// Rebuilt from the static model and Tests/Fixtures/shapes/*.compact.{onnx,json} by
    /// scripts/fixtures/rebuild_models.py (`scripts/test` runs it).
    public static let dynamicModel = path("generated/shapes/shapes-yolov8n-dynamic.onnx")
    public static let fp16Model = path("generated/shapes/shapes-yolov8n-fp16.onnx")
    public static let allModels = [staticModel, dynamicModel, fp16Model]
    public static let valFolder = path("shapes/val")
    public static let valImages = path("shapes/val/images")

    /// What to do when `scripts/test` has not generated the fixtures yet.
    public static let generateHint =
        "run `bash scripts/test` once: it unpacks Tests/Fixtures/onnx-matrix.tar.xz and computes the onnxruntime references into Tests/Fixtures/generated/"

    /// A file under Tests/Fixtures/generated; the test fails (never skips) when it is missing.
    public static func generated(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String
    {
        let path = root + "/generated/" + relative
        try #require(
            FileManager.default.fileExists(atPath: path), "missing \(path): \(generateHint)",
            sourceLocation: sourceLocation)
        return path
    }

    public static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// The export matrix's manifest.json (docs/onnx-exports.md), read once.
public enum Matrix {
    public static let folder = Fixtures.root + "/generated/onnx"

    nonisolated(unsafe) public static let manifest: [String: Any]? = {
        guard let data = FileManager.default.contents(atPath: folder + "/manifest.json") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }()

    /// A sentinel argument for parameterized tests when the manifest is missing: the test then fails on it
    /// instead of running zero cases.
    public static let missing = "<manifest.json missing>"

    public static var models: [[String: Any]] { manifest?["models"] as? [[String: Any]] ?? [] }
    public static var modelNames: [String] { manifest == nil ? [missing] : models.compactMap { $0["name"] as? String } }
    public static var invalid: [[String: Any]] { manifest?["invalid"] as? [[String: Any]] ?? [] }
    public static var invalidFiles: [String] {
        manifest == nil ? [missing] : invalid.compactMap { $0["file"] as? String }
    }

    public static func model(_ name: String) throws -> [String: Any] {
        _ = try Fixtures.generated("onnx/manifest.json")
        return try #require(models.first { $0["name"] as? String == name }, "\(name) is not in the manifest")
    }
}

extension Fixtures {
    /// The 120 validation images, sorted.
    public static func valImageNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: valImages).filter { $0.hasSuffix(".jpg") }.sorted()
    }

    /// A fresh empty directory under the system's temporary folder.
    public static func temporaryDirectory(_ label: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
