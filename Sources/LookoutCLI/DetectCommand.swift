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
        abstract: "Detect objects in images and video files (Ultralytics predict semantics).",
        discussion: "SOURCE is an image, a video file, a directory of them or a glob; images run first, then videos, "
            + "as Ultralytics orders them. Without --model, the embedded default model (Models/shapes-yolov8n.onnx); "
            + "without SOURCE, the embedded sample image.")

    @Option(help: "ONNX model (Ultralytics YOLOv8 detection export).") var model: String?
    @OptionGroup var thresholds: ThresholdOptions
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .auto
    @Option(help: "Write one JSON line per image or video frame to PATH, or - for standard output.") var json: String?
    @Option(
        help: "Write annotated images (videos as DIR/NAME.mp4) into DIR; --save-txt and --save-crop write there too.")
    var save: String?
    @OptionGroup var predict: PredictOptions
    @Argument(help: "Images, video files, directories or globs.") var sources: [String] = []

    func run() throws {
        var sourceList = sources
        let detector: Detector
        do {
            let modelPath = try model ?? DefaultModel.modelPath()
            if sourceList.isEmpty { sourceList = [try DefaultModel.samplePath()] }
            detector = try Detector(
                model: try DetectionModel(path: modelPath), device: device, options: .fromEnvironment())
        } catch {
            throw Console.fail(error)
        }
        if device == .auto { Console.note(detector.deviceLine) }
        thresholds.noteImageSize(detector)
        let options = try predict.apply(to: thresholds.detectOptions(), detector: detector)

        let expansion = ImageSources.expand(sourceList)
        var failed = !expansion.errors.isEmpty
        for line in expansion.errors { Console.error(line) }
        var writer: LineWriter?
        if let json {
            do { writer = try LineWriter(path: json) } catch { throw Console.fail(error) }
        }
        let names = detector.model.classNames
        let saveOptions = predict.saveOptions(annotated: save != nil)
        var saver: PredictionSaver?
        if saveOptions.writesFiles {
            do {
                saver = try PredictionSaver(
                    directory: PredictOptions.runFolder(save), options: saveOptions, names: names)
            } catch { throw Console.fail(error) }
        }
        let total = expansion.files.count + expansion.videos.count
        var frameRate: [String: Double] = [:]
        func report(_ result: ImageDetections, source: String, frame: Int?, heading: String, image: BGRImage) {
            writer?.write(DetectionJSON.line(source: source, frame: frame, result: result, names: names))
            if json != "-" { print(DetectionJSON.summary(heading: heading, result: result, names: names)) }
            guard let saver else { return }
            do {
                try saver.save(
                    image, detections: result.detections, source: source, frame: frame,
                    frameRate: frameRate[source] ?? 30)
            } catch {
                Console.error(Console.message(error))
                failed = true
            }
        }
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
            report(
                result, source: path, frame: nil, heading: "image \(index + 1)/\(total) \(path)", image: image)
        }
        for (offset, path) in expansion.videos.enumerated() {
            let index = expansion.files.count + offset + 1
            var video: VideoFrames
            do { video = try VideoFrames(path: path, stride: predict.vidStride) } catch {
                Console.error(error.message)
                failed = true
                continue
            }
            frameRate[path] = video.frameRate
            let count = video.expectedCount.map(String.init) ?? "?"
            while true {
                let frame: Int
                do {
                    guard let next = try video.next(into: &image) else { break }
                    frame = next
                } catch {
                    Console.error(error.message)
                    failed = true
                    break
                }
                let result: ImageDetections
                do { result = try detector.detect(image, options: options) } catch {
                    Console.error("\(path) frame \(frame): \(Console.message(error))")
                    failed = true
                    break
                }
                report(
                    result, source: path, frame: frame,
                    heading: "video \(index)/\(total) (frame \(frame)/\(count)) \(path)", image: image)
            }
        }
        if let saver {
            do { try saver.finish() } catch {
                Console.error(Console.message(error))
                failed = true
            }
            Console.note("results saved to \(saver.directory)")
        }
        if failed { throw ExitCode.failure }
    }
}
