import ArgumentParser
import Foundation
import Lookout
import LookoutCUDA
import LookoutPipeline

struct SelftestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Checks this machine: with --gpu, copies, kernels, graphs, the GPU letterbox and error reporting.")

    @Flag(help: "Run the GPU checks (needs the CUDA driver and NVRTC).")
    var gpu = false

    @Option(help: "A folder of NAME.WxH.bgr raw frames to letterbox on GPU and CPU and compare.")
    var rawImages: String?

    @Option(help: "The shapes fixtures (models, val/ with images, labels and the Ultralytics references) for the engine checks.")
    var engineFixtures = "Tests/Fixtures/shapes"

    @Flag(help: "Only the engine checks (skip the memory layer's).") var engineOnly = false
    @Flag(help: "Skip the engine checks.") var noEngine = false

    func run() throws {

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
        if !engineOnly {
            let test = GPUSelftest(rawImages: rawImages, log: printer)
            try test.run()
            passed += test.passed
            failed += test.failed
        }
        if !noEngine {
            let engine = EngineSelftest(fixtures: engineFixtures, log: printer)
            try engine.run()
            passed += engine.passed
            failed += engine.failed
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
