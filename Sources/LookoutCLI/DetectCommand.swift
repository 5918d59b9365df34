import ArgumentParser
import LookoutCUDA
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutYOLO

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect objects in images (Ultralytics predict semantics).",
        discussion: "SOURCE is an image, a directory of images or a glob. Without --model, the embedded default model "
            + "(Models/shapes-yolov8n.onnx); without SOURCE, the embedded sample image.")

    @Option(help: "ONNX model (Ultralytics YOLOv8 detection export).") var model: String?
    @Option(parsing: .unconditional, help: "Confidence threshold (0…1).") var conf: Double = 0.25
    @Option(parsing: .unconditional, help: "NMS IoU threshold (0…1).") var iou: Double = 0.7
    @Option(name: .customLong("max-det"), parsing: .unconditional, help: "Maximum detections per image.")
    var maxDet: Int = 300
    @Option(parsing: .unconditional, help: "Input size for dynamic models (fixed models use their export size).")
    var imgsz: Int?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .auto
    @Option(help: "Write one JSON line per image to PATH, or - for standard output.") var json: String?
    @Option(help: "Write annotated images into DIR.") var save: String?
    @Argument(help: "Images, directories or globs.") var sources: [String] = []

    var detectOptions: DetectOptions {
        var options = DetectOptions()
        options.confidence = conf
        options.iou = iou
        options.maxDetections = maxDet
        options.imageSize = imgsz
        return options
    }

    func validate() throws {
        do { try detectOptions.validate() } catch { throw ValidationError(Console.message(error)) }
    }

    func run() throws {
        let modelPath: String
        var sourceList = sources
        let detector: Detector
        do {
            modelPath = try model ?? DefaultModel.modelPath()
            if sourceList.isEmpty { sourceList = [try DefaultModel.samplePath()] }
            detector = try Detector(
                model: try DetectionModel(path: modelPath), device: device, options: .fromEnvironment())
        } catch {
            throw Console.fail(error)
        }
        if device == .auto { Console.note(detector.deviceLine) }

        let expansion = ImageSources.expand(sourceList)
        var failed = !expansion.errors.isEmpty
        for line in expansion.errors { Console.error(line) }
        var writer: LineWriter?
        if let json {
            do { writer = try LineWriter(path: json) } catch { throw Console.fail(error) }
        }
        if let save {
            do { try Paths.createDirectories(save) } catch { throw Console.fail(error) }
        }
        let options = detectOptions
        let names = detector.model.classNames
        var decoder = ImageDecoder()
        var image = BGRImage()
        for (index, path) in expansion.files.enumerated() {
            do {
                try decoder.decode(file: path, into: &image)
            } catch {
                Console.error(error.description)
                failed = true
                continue
            }
            let result: ImageDetections
            do { result = try detector.detect(image, options: options) } catch {
                Console.error("\(path): \(Console.message(error))")
                failed = true
                continue
            }
            if let writer {
                writer.write(DetectionJSON.line(source: path, result: result, names: names))
            }
            if json != "-" {
                print(
                    DetectionJSON.summary(
                        index: index + 1, total: expansion.files.count, source: path, result: result, names: names))
            }
            if let save {
                var annotated = image
                Annotator().draw(result.detections, names: names, on: &annotated)
                let target = Paths.join(save, Paths.lastComponent(path))
                do { try ImageEncoder.write(annotated, to: target) } catch {
                    Console.error(error.description)
                    failed = true
                }
            }
        }
        if failed { throw ExitCode.failure }
    }
}
