import ArgumentParser
import Foundation
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

    func run() throws {

        guard gpu else {
            print(DeviceRequest.auto.resolve().description)
            print("nothing else to check without --gpu")
            return
        }
        // Flushed per line: a crash must not eat the lines already printed.
        let test = GPUSelftest(rawImages: rawImages) { line in
            print(line)
            fflush(nil)
        }
        try test.run()
        print("\(test.passed) passed, \(test.failed) failed")
        if test.failed > 0 { throw ExitCode.failure }
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
