import LookoutCore

/// The embedded default: the shapes YOLOv8n and one of its val images, committed under `Models/` and found from
/// the executable's location (or `LOOKOUT_MODELS`), so `lookout detect` works with no arguments.
public enum DefaultModel {
    public static let modelFile = "shapes-yolov8n.onnx"
    public static let sampleFile = "sample.jpg"
    /// The sample video `lookout serve` shows when given no stream (a link to the 640×384 test clip).
    public static let sampleVideoFile = "sample.mp4"

    /// The folders searched for `Models/`, in order.
    public static var searchedFolders: [String] {
        var folders: [String] = []
        if let env = SystemInfo.environment("LOOKOUT_MODELS") { folders.append(env) }
        for start in [executableDirectory, Paths.absolute(".")].compactMap({ $0 }) {
            var folder = start
            while true {
                folders.append(Paths.join(folder, "Models"))
                let parent = Paths.directory(of: folder)
                if parent == folder || folder == "/" { break }
                folder = parent
            }
        }
        folders.append("/usr/local/share/lookout/Models")
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }

    public static func locate(_ file: String) throws(LookoutError) -> String {
        for folder in searchedFolders {
            let path = folder + "/" + file
            if Paths.isReadableFile(path) { return path }
        }
        throw LookoutError(
            .notFound,
            "no default \(file) found (looked in Models/ above the executable and the working directory, and in "
                + "LOOKOUT_MODELS); give a model path")
    }

    public static func modelPath() throws(LookoutError) -> String { try locate(modelFile) }
    public static func samplePath() throws(LookoutError) -> String { try locate(sampleFile) }

    static var executableDirectory: String? {
        guard let path = Paths.resolvedLink("/proc/self/exe") else {
            return CommandLine.arguments.first.map { Paths.directory(of: Paths.absolute($0)) }
        }
        return Paths.directory(of: path)
    }
}
