import ArgumentParser
import LookoutCUDA
import LookoutCore
import LookoutInference
import LookoutModel
import LookoutYOLO

struct ValCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "val",
        abstract: "Validate a model on a YOLO-format dataset with Ultralytics' protocol (mAP50, mAP50-95).")

    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "Dataset folder with images/ and labels/.") var data: String
    @OptionGroup var thresholds: ThresholdOptions
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .auto

    func run() throws {
        let detector: Detector
        do {
            let path = try model ?? DefaultModel.modelPath()
            detector = try Detector(model: try DetectionModel(path: path), device: device, options: .fromEnvironment())
        } catch {
            throw Console.fail(error)
        }
        if device == .auto { Console.note(detector.deviceLine) }
        thresholds.noteImageSize(detector)
        let options = thresholds.detectOptions(defaultConfidence: 0.001)
        var validator = Validator()
        validator.confidence = options.confidence
        validator.iou = options.iou
        validator.maxDetections = options.maxDetections
        validator.imageSize = options.imageSize
        let terminal = Console.stderrIsTerminal
        let result: Validator.Result
        do {
            result = try validator.run(detector: detector, folder: data) { progress in
                if terminal {
                    StandardStreams.error("\rval \(progress.done)/\(progress.total)")
                } else if progress.done == progress.total || progress.done % 20 == 0 {
                    Console.note("val \(progress.done)/\(progress.total)")
                }
            }
        } catch {
            if terminal { StandardStreams.error("\n") }
            throw Console.fail(error)
        }
        if terminal { StandardStreams.error("\n") }
        for failure in result.failures { Console.error(failure) }
        let summary = result.summary
        let names = detector.model.classNames
        func pad(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
        func row(_ name: String, _ images: Int, _ instances: Int, _ p: Double, _ r: Double, _ m50: Double, _ m: Double)
            -> String
        {
            pad(name, 12) + TextFormat.format(" %10d %10d %10.3f %10.3f %10.3f %10.3f", images, instances, p, r, m50, m)
        }
        print(
            ["Class", "Images", "Instances", "P", "R", "mAP50", "mAP50-95"].enumerated()
                .map { pad($0.element, $0.offset == 0 ? 12 : 10) }.joined(separator: " "))
        print(
            row(
                "all", summary.images, summary.instances, summary.precision, summary.recall, summary.map50,
                summary.map50to95))
        for c in summary.classes {
            let name = c.classIndex < names.count ? names[c.classIndex] : "class\(c.classIndex)"
            print(row(name, c.images, c.instances, c.precision, c.recall, c.ap50, c.ap50to95))
        }
        print(
            TextFormat.format(
                "%.1f s, %.1f ms per image", result.seconds, result.seconds * 1000 / Double(max(summary.images, 1))))
        print("{\"map50\":\(summary.map50),\"map50_95\":\(summary.map50to95),\"images\":\(summary.images)}")
        if !result.failures.isEmpty { throw ExitCode.failure }
    }
}
