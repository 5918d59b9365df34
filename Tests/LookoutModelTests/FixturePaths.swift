import Foundation

/// Paths of the committed test fixtures (Tests/Fixtures), found from this source file's location.
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
}
