import Foundation

/// The embedded default: the shapes YOLOv8n and one of its val images, committed under `Models/` and found from
/// the executable's location (or `LOOKOUT_MODELS`), so `lookout detect` works with no arguments.
public enum DefaultModel {
    public static let modelFile = "shapes-yolov8n.onnx"
    public static let sampleFile = "sample.jpg"

    /// The folders searched for `Models/`, in order.
    public static var searchedFolders: [String] {
        var folders: [String] = []
        if let env = ProcessInfo.processInfo.environment["LOOKOUT_MODELS"], !env.isEmpty { folders.append(env) }
        for start in [executableDirectory, FileManager.default.currentDirectoryPath].compactMap({ $0 }) {
            var url = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                folders.append(url.appendingPathComponent("Models").path)
                let parent = url.deletingLastPathComponent()
                if parent.path == url.path { break }
                url = parent
            }
        }
        folders.append("/usr/local/share/lookout/Models")
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }

    public static func locate(_ file: String) throws(LookoutError) -> String {
        for folder in searchedFolders {
            let path = folder + "/" + file
            if FileManager.default.isReadableFile(atPath: path) { return path }
        }
        throw LookoutError(
            "no default \(file) found (looked in Models/ above the executable and the working directory, and in "
                + "LOOKOUT_MODELS); pass --model PATH")
    }

    public static func modelPath() throws(LookoutError) -> String { try locate(modelFile) }
    public static func samplePath() throws(LookoutError) -> String { try locate(sampleFile) }

    static var executableDirectory: String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return CommandLine.arguments.first.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
