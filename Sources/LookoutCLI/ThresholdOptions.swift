import ArgumentParser
import LookoutInference

/// `--conf`, `--iou`, `--max-det`, `--imgsz`: parsed and checked the same way by every command that detects
/// (`detect`, `stream`, `val`). Negative numbers parse as values, so that `--conf -1` is a range error.
struct ThresholdOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Confidence threshold, 0…1 (default 0.25; val 0.001).") var conf: Double?
    @Option(parsing: .unconditional, help: "NMS IoU threshold, 0…1.") var iou: Double = 0.7
    @Option(name: .customLong("max-det"), parsing: .unconditional, help: "Maximum detections per image.")
    var maxDet: Int = 300
    @Option(
        parsing: .unconditional,
        help: "Input size of dynamic models, rounded up to the model's stride (fixed-shape models use their own).")
    var imgsz: Int?

    /// The library's options for these flags (`conf` defaulting to `defaultConfidence`).
    func detectOptions(defaultConfidence: Double = 0.25) -> DetectOptions {
        var options = DetectOptions()
        options.confidence = conf ?? defaultConfidence
        options.iou = iou
        options.maxDetections = maxDet
        options.imageSize = imgsz
        return options
    }

    /// The one check of these flags: `DetectOptions.validate`, in the CLI's words.
    func validate() throws {
        do { try detectOptions().validate() } catch { throw Console.fail(error) }
    }

    /// Says on stderr what happens to `--imgsz` when the model does not take it as given (rounded up to the stride,
    /// or ignored by a fixed-shape model).
    func noteImageSize(_ detector: Detector) {
        guard let note = detector.imageSizeChoice(imgsz).note else { return }
        Console.note("warning: " + Flags.rewrite(note))
    }
}
