import ArgumentParser
import LookoutCore
import LookoutInference
import LookoutMedia

/// The rest of Ultralytics' `yolo predict` options, shared by `detect` and `stream`: class filter, agnostic NMS,
/// video stride, label files, crops and how boxes are drawn.
struct PredictOptions: ParsableArguments {
    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Keep only these classes: indices or names, comma-separated or repeated (--classes 0,2 or --classes star).",
            valueName: "classes"))
    var classes: [String] = []
    @Flag(name: .customLong("agnostic-nms"), help: "One NMS over all classes instead of one per class.")
    var agnosticNMS = false
    @Option(
        name: .customLong("vid-stride"), parsing: .unconditional,
        help: "Run every Nth frame of a video (the Nth, 2Nth…), as Ultralytics' vid_stride.")
    var vidStride = 1
    @Flag(name: .customLong("save-txt"), help: "Write Ultralytics label files: DIR/labels/NAME.txt (NAME_FRAME.txt).")
    var saveTxt = false
    @Flag(name: .customLong("save-conf"), help: "Add the confidence as a sixth column of --save-txt's files.")
    var saveConf = false
    @Flag(name: .customLong("save-crop"), help: "Write each detection's crop: DIR/crops/CLASS/NAME.jpg.")
    var saveCrop = false
    @Option(
        name: .customLong("line-width"), parsing: .unconditional,
        help: "Box line width in pixels (default: Ultralytics' max(round((H + W + 3) / 2 * 0.003), 2)).")
    var lineWidth: Int?
    @Flag(name: .customLong("hide-labels"), help: "Draw boxes without class names.") var hideLabels = false
    @Flag(name: .customLong("hide-conf"), help: "Draw labels without confidences.") var hideConf = false

    func validate() throws {
        guard vidStride >= 1 else { throw Console.fail("--vid-stride must be at least 1 (got \(vidStride))") }
        if let lineWidth, lineWidth < 1 {
            throw Console.fail("--line-width must be at least 1 (got \(lineWidth))")
        }
        var numeric = DetectOptions()
        numeric.classes = try classIndices(names: nil)
        do { try numeric.validate() } catch { throw Console.fail(error) }
    }

    /// `--classes` as indices; names are looked up in `names` (the model's), or skipped when `names` is nil.
    func classIndices(names: [String]?) throws -> [Int]? {
        guard !classes.isEmpty else { return nil }
        var indices: [Int] = []
        for item in classes.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let text = item.trimmingSpaces
            if let index = Int(text) {
                indices.append(index)
            } else if let names {
                guard let index = names.firstIndex(of: text) else {
                    throw Console.fail(
                        "--classes '\(text)' is not a class of this model; it has "
                            + names.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))
                }
                indices.append(index)
            } else if text.isEmpty {
                throw Console.fail("--classes has an empty item: use indices or names separated by commas")
            }
        }
        return indices
    }

    /// `options` with the class filter (names resolved against `detector`'s model) and agnostic NMS applied;
    /// checked against the model (a class it does not have is an error).
    func apply(to options: DetectOptions, detector: Detector) throws -> DetectOptions {
        var options = options
        options.classes = try classIndices(names: detector.model.classNames)
        options.agnostic = agnosticNMS
        do { try detector.validate(options) } catch { throw Console.fail(error) }
        return options
    }

    /// How boxes are drawn.
    var annotator: Annotator {
        Annotator(lineWidth: lineWidth, showsLabels: !hideLabels, showsConfidence: !hideConf)
    }

    /// What to save besides the command's own outputs: label files and crops (`annotated` for `detect --save`).
    func saveOptions(annotated: Bool) -> SaveOptions {
        var options = SaveOptions()
        options.annotated = annotated
        options.labels = saveTxt
        options.labelConfidence = saveConf
        options.crops = saveCrop
        options.annotator = annotator
        return options
    }

    /// The folder label files and crops go to: `folder` (the command's `--save`/`--save-video`) when given, else
    /// a new `runs/detect/predict`, `predict-2`, … as Ultralytics picks (`increment_path`).
    static func runFolder(_ folder: String?) -> String {
        if let folder { return folder }
        let base = "runs/detect/predict"
        var path = base
        var n = 2
        while Paths.exists(path) {
            path = "\(base)-\(n)"
            n += 1
        }
        return path
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
