import ArgumentParser
import LookoutBench
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel

#if canImport(Glibc)
    import Glibc
#endif

struct BenchEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract:
            "Engine latency and throughput on a fixed input (no pre/postprocessing; with CUDA, also the GPU NMS).",
        discussion: "With --device cuda the batch sizes are swept (default 1, 8, 32, 64), the input stays on the GPU, "
            + "and --baseline runs a PyTorch script in the same run whose rows join the report.")

    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .cpu
    @Option(help: "Batch size; repeat for several (dynamic models; fixed models run their own).") var batch: [Int] = []
    @Option(help: "Input size (dynamic models).") var imgsz: Int?
    @Option(help: "Timed runs.") var iterations: Int = 50
    @Option(help: "Untimed warm-up runs.") var warmup: Int = 5
    @Option(help: "CUDA precision: fp16 or fp32.") var precision: String = "fp16"
    @Option(help: "A folder of images letterboxed into the CUDA batches (default: a random input).") var images: String?
    @Option(help: "A PyTorch baseline script (bench/baselines/engine_pytorch.py) run with the same batches.")
    var baseline: String?
    @Option(help: "Its model (.pt).") var baselineModel: String?
    @Option(help: "Python interpreter for the baseline.") var python = "python3"
    @Option(help: "Write the bench JSON here (- for stdout).") var json: String?
    @Flag(help: "CPU: print milliseconds per operator type and the slowest steps after the table.") var profile = false

    func run() throws {
        guard let gpuPrecision = GPUPrecision(rawValue: precision) else {
            throw ValidationError("--precision must be fp16 or fp32")
        }
        let detector: Detector
        do {
            detector = try Detector(
                model: try DetectionModel(path: try model ?? DefaultModel.modelPath()), device: device,
                options: .fromEnvironment(precision: gpuPrecision))
        } catch {
            throw Console.fail(error)
        }
        Console.note(detector.deviceLine)
        let report: BenchReport
        if detector.backendName == "lookout-cuda" {
            report = try runCUDA(detector)
        } else {
            var benchmark = EngineBenchmark(detector: detector)
            benchmark.batch = batch.first ?? 1
            benchmark.imageSize = imgsz
            benchmark.iterations = iterations
            benchmark.warmup = warmup
            do { report = try benchmark.run() } catch { throw Console.fail(error) }
            if profile {
                let found: (operators: [(String, Double)], steps: [(String, Double)])?
                do { found = try benchmark.cpuProfile() } catch { throw Console.fail(error) }
                if let found {
                    let total = found.operators.reduce(0) { $0 + $1.1 }
                    func ms(_ value: Double) -> String { TextFormat.right(TextFormat.fixed(value, digits: 3), 9) }
                    print("profile (ms per run, \(TextFormat.fixed(total, digits: 2)) in all):")
                    for (name, value) in found.operators { print("  " + TextFormat.left(name, 18) + ms(value)) }
                    print("slowest steps:")
                    for (name, value) in found.steps.prefix(15) { print("  " + ms(value) + "  " + name) }
                }
            }
        }
        print(EngineBenchmark.table(report))
        if let json {
            do { try report.write(to: json) } catch { throw Console.fail(error) }
            if json != "-" { print("wrote \(json)") }
        }
    }

    func runCUDA(_ detector: Detector) throws -> BenchReport {
        var benchmark = CUDAEngineBenchmark(detector: detector)
        let batches = batch.isEmpty ? [1, 8, 32, 64] : batch
        benchmark.batches = batches
        benchmark.imageSize = imgsz
        benchmark.iterations = iterations
        benchmark.warmup = warmup
        if let images {
            var decoder = ImageDecoder()
            let files = ImageSources.expand([images]).files.sorted()
            for file in files.prefix(64) {
                var image = BGRImage()
                do { try decoder.decode(file: file, into: &image) } catch { throw Console.fail(error) }
                benchmark.images.append(image)
            }
        }
        var rows: [[(String, JSONValue)]]
        do {
            rows = try benchmark.run { line in
                print(line)
                fflush(nil)
            }
        } catch {
            throw Console.fail(error)
        }
        if let baseline {
            rows += try runBaseline(script: baseline, batches: batches)
        }
        let model = detector.model
        let settings: [(String, JSONValue)] = [
            ("model", .string(model.path)), ("iterations", .int(iterations)), ("warmup", .int(warmup)),
            ("batches", .array(batches.map { .int($0) })), ("input", .string(images ?? "random")),
            ("latency", .string("wall time of one graph launch + stream synchronize, input already on the GPU")),
            ("throughput", .string("batches launched back to back, one synchronize at the end")),
            (
                "nms",
                .string(
                    "predict settings (conf 0.25, iou 0.7, max_det 300), CUDA events around the NMS kernel and the copy of the results to pinned memory"
                )
            ),
            ("baseline_model", .string(baselineModel ?? "-")),
        ]
        return BenchReport(
            benchmark: "engine", device: detector.engineDevice, driver: (try? CUDA.load().get())?.versionString ?? "-",
            settings: settings,
            rows: rows)
    }

    /// Runs the PyTorch baseline; it prints one JSON object per line, each a row.
    func runBaseline(script: String, batches: [Int]) throws(LookoutError) -> [[(String, JSONValue)]] {
        var arguments = [
            "--batches", batches.map(String.init).joined(separator: ","), "--iterations", String(iterations),
            "--warmup", String(warmup),
        ]
        if let baselineModel { arguments += ["--model", baselineModel] }
        if let imgsz { arguments += ["--imgsz", String(imgsz)] }
        return try BaselineScript.rows(
            python: python, script: script, arguments: arguments,
            order: ["backend", "precision", "batch", "throughput", "p50_ms", "p99_ms", "mean_ms", "gpu_ms"], echo: true)
    }
}
