import ArgumentParser
import Foundation
import Lookout
import LookoutCore
import LookoutCUDA
import LookoutModel

struct BenchEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Engine latency and throughput on a fixed input (no pre/postprocessing).")

    @Option(help: "ONNX model; the embedded default when omitted.") var model: String?
    @Option(help: "auto, cpu, cuda or cuda:N.") var device: DeviceRequest = .cpu
    @Option(help: "Batch size (dynamic models; fixed models run their own).") var batch: Int = 1
    @Option(help: "Input size (dynamic models).") var imgsz: Int?
    @Option(help: "Timed runs.") var iterations: Int = 50
    @Option(help: "Untimed warm-up runs.") var warmup: Int = 5
    @Option(help: "Write the bench JSON here (- for stdout).") var json: String?

    func run() throws {
        let detector: Detector
        do {
            detector = try Detector(model: try DetectionModel(path: try model ?? DefaultModel.modelPath()), device: device)
        } catch {
            throw Console.fail("\(error)")
        }
        var benchmark = EngineBenchmark(detector: detector)
        benchmark.batch = batch
        benchmark.imageSize = imgsz
        benchmark.iterations = iterations
        benchmark.warmup = warmup
        let report: BenchReport
        do { report = try benchmark.run() } catch { throw Console.fail(error.description) }
        print(EngineBenchmark.table(report))
        if let json {
            do { try report.write(to: json) } catch { throw Console.fail("\(json): cannot write (\(error.localizedDescription))") }
        }
    }
}
