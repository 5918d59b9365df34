import LookoutCore

/// What Ultralytics records in an export's `metadata_props`, parsed as Ultralytics' own backend does
/// (`stride`, `batch` as integers; `imgsz`, `names`, `args` as Python literals).
public struct YOLOMetadata: Sendable {
    public var classNames: [String] = []
    public var stride = 32
    /// Export size (height, width).
    public var imageSize: (height: Int, width: Int) = (640, 640)
    public var task = "detect"
    public var batch = 1
    /// `args.dynamic`: exported with symbolic batch/height/width.
    public var dynamic = false
    /// `args.half` (8.3) or `args.quantize == 16` (8.4).
    public var half = false
    /// `end2end`: the export's head is the one-to-one (NMS-free) head of YOLOv10/YOLO26.
    public var end2end = false
    /// `args.nms`: Ultralytics put an NMS into the graph (`export(nms=True)`).
    public var nmsInGraph = false
    public var version = ""
    public var description = ""
    /// Whether the file carried Ultralytics metadata at all.
    public var isUltralytics = false

    public init() {}

    /// The model family and scale Ultralytics names in `description` ("Ultralytics YOLO11n model trained on …"):
    /// ("YOLO11", "n"); nil when the description does not name one.
    public var family: (name: String, scale: String)? {
        let words = description.split(separator: " ")
        guard words.count >= 2, words[0] == "Ultralytics" else { return nil }
        let word = String(words[1])
        guard word.hasPrefix("YOLO"), word.count > 4 else { return nil }
        if let last = word.last, "nsmlxt".contains(last), word.dropLast().last?.isNumber == true {
            return (String(word.dropLast()), String(last))
        }
        return (word, "")
    }

    package init(properties: [String: String]) throws(ModelError) {
        isUltralytics = properties["names"] != nil || properties["stride"] != nil
        func literal(_ key: String) throws(ModelError) -> PythonLiteral? {
            guard let text = properties[key] else { return nil }
            do { return try PythonLiteral.parse(text) } catch {
                throw ModelError(
                    .invalidGraph, "metadata '\(key)' cannot be read (\(error.description)): \(text.prefix(80))")
            }
        }
        if let text = properties["stride"] {
            guard let s = Int(text.trimmedWhitespace) ?? (try? PythonLiteral.parse(text))?.intValue,
                s > 0, s <= 1024
            else { throw ModelError(.invalidGraph, "metadata 'stride' is not a positive integer: \(text)") }
            stride = s
        }
        if let text = properties["batch"], let b = Int(text.trimmedWhitespace), b > 0 { batch = b }
        if let text = properties["task"] { task = text.trimmedWhitespace }
        if let text = properties["version"] { version = text }
        if let text = properties["description"] { description = text }
        if let text = properties["end2end"] { end2end = text.trimmedWhitespace == "True" }
        if let value = try literal("imgsz") {
            switch value {
            case .list(let items) where items.count == 2:
                guard let h = items[0].intValue, let w = items[1].intValue, h > 0, w > 0 else {
                    throw ModelError(.invalidGraph, "metadata 'imgsz' is not two positive integers")
                }
                imageSize = (h, w)
            case .int(let s) where s > 0: imageSize = (s, s)
            default: throw ModelError(.invalidGraph, "metadata 'imgsz' is not a size")
            }
        }
        if let value = try literal("names") {
            switch value {
            case .dict(let pairs):
                var byIndex: [Int: String] = [:]
                for (k, v) in pairs {
                    guard let index = k.intValue, index >= 0, index < 100_000, case .string(let name) = v else {
                        throw ModelError(.invalidGraph, "metadata 'names' must map class indices to strings")
                    }
                    byIndex[index] = name
                }
                let count = (byIndex.keys.max() ?? -1) + 1
                classNames = (0..<count).map { byIndex[$0] ?? "class\($0)" }
            case .list(let items):
                classNames = items.enumerated().map { i, item in
                    if case .string(let s) = item { return s }
                    return "class\(i)"
                }
            default: throw ModelError(.invalidGraph, "metadata 'names' is neither a dict nor a list")
            }
        }
        if let args = try literal("args") {
            dynamic = args["dynamic"]?.boolValue ?? false
            half = args["half"]?.boolValue ?? (args["quantize"]?.intValue == 16)
            nmsInGraph = args["nms"]?.boolValue == true
        }
    }
}
