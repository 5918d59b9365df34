import ArgumentParser
import LookoutCUDA
import LookoutInference
import LookoutPipeline
import LookoutSelftest

#if canImport(Glibc)
    import Glibc
#endif

struct SelftestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Checks this machine: with --gpu, copies, kernels, graphs, the GPU letterbox and error reporting.")

    @Flag(help: "Run the GPU checks (needs the CUDA driver and NVRTC).")
    var gpu = false

    @Option(help: "A folder of NAME.WxH.bgr raw frames to letterbox on GPU and CPU and compare.")
    var rawImages: String?

    @Option(
        help:
            "The shapes fixtures (the static model, val/ with images, labels and the Ultralytics references) for the engine checks."
    )
    var engineFixtures = "Tests/Fixtures/shapes"
    @Option(
        name: .customLong("engine-dynamic-model"),
        help: "The dynamic-shape export of the same model (scripts/fixtures/rebuild_models.py makes it).")
    var engineDynamicModel = "Tests/Fixtures/generated/shapes/shapes-yolov8n-dynamic.onnx"

    @Option(
        name: .customLong("engine-model"),
        help:
            "More models (YOLO11, YOLO26, …) whose every plan step, and tuned batch-32 instance, must equal the CPU backend."
    )
    var engineModels: [String] = []
    @Flag(
        name: .customLong("engine-models-only"),
        help: "Only the --engine-model checks (no memory-layer, engine-fixture or pipeline checks).")
    var engineModelsOnly = false
    @Flag(help: "Only the engine checks (skip the memory layer's).") var engineOnly = false
    @Flag(help: "Skip the engine checks.") var noEngine = false
    @Flag(help: "Run the streaming pipeline checks on the GPU in every transfer mode (with --gpu).") var pipeline =
        false
    @Flag(name: .customLong("pipeline-only"), help: "Only the pipeline checks.") var pipelineOnly = false
    @Option(name: .customLong("pipeline-video"), help: "The clip the pipeline checks stream.")
    var pipelineVideo = "Tests/Fixtures/video/shapes-1080p.mp4"
    @Option(name: .customLong("pipeline-model"), help: "The model of the pipeline checks (dynamic batch).")
    var pipelineModel = "Tests/Fixtures/generated/shapes/shapes-yolov8n-dynamic.onnx"
    @Option(name: .customLong("pipeline-modes"), help: "Transfer modes to check (comma-separated, or all).")
    var pipelineModes = "all"
    @Option(name: .customLong("pipeline-frames"), help: "Frames per stream.") var pipelineFrames = 24
    @Option(
        name: .customLong("nvdec-video"),
        help: "More clips whose every frame NVDEC must decode as FFmpeg does (the pipeline clip always is).")
    var nvdecVideos: [String] = []

    func run() async throws {

        guard gpu else {
            print(DeviceRequest.auto.resolve().description)
            print("nothing else to check without --gpu")
            return
        }
        // Flushed per line: a crash must not eat the lines already printed.
        let printer: (String) -> Void = { line in
            print(line)
            fflush(nil)
        }
        var passed = 0
        var failed = 0
        if !engineModels.isEmpty {
            let engine = EngineSelftest(fixtures: engineFixtures, dynamicModel: engineDynamicModel, log: printer)
            engine.runModels(engineModels)
            passed += engine.passed
            failed += engine.failed
        }
        if !engineOnly && !pipelineOnly && !engineModelsOnly {
            let test = GPUSelftest(rawImages: rawImages, log: printer)
            try test.run()
            passed += test.passed
            failed += test.failed
        }
        if !noEngine && !pipelineOnly && !engineModelsOnly {
            let engine = EngineSelftest(fixtures: engineFixtures, dynamicModel: engineDynamicModel, log: printer)
            try engine.run()
            passed += engine.passed
            failed += engine.failed
        }
        if (pipeline || pipelineOnly) && !engineModelsOnly {
            var test = PipelineSelftest(video: pipelineVideo, model: pipelineModel)
            test.frames = pipelineFrames
            do { test.modes = try TransferMode.parseList(pipelineModes) } catch { throw Console.fail(error) }
            test.log = { line in
                print(line)
                fflush(nil)
            }
            do {
                for outcome in try await test.run() {
                    if outcome.passed { passed += 1 } else { failed += 1 }
                }
            } catch {
                print("FAIL pipeline checks: \(error)")
                failed += 1
            }
            switch NVDEC.load() {
            case .success:
                var nvdec = NVDECSelftest(videos: [pipelineVideo] + nvdecVideos)
                nvdec.log = { line in
                    print(line)
                    fflush(nil)
                }
                for outcome in nvdec.run() {
                    for line in outcome.lines { printer(line) }
                    if outcome.passed { passed += 1 } else { failed += 1 }
                }
            case .failure(let unavailable):
                printer("NVDEC checks skipped: \(unavailable)")
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }
}

extension Result where Success == ResolvedDevice, Failure == CUDAUnavailable {
    var description: String {
        switch self {
        case .success(let device): return device.description
        case .failure(let error): return error.description
        }
    }
}
