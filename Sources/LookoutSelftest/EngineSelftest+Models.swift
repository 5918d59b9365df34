import LookoutCPU
import LookoutCUDABackend
import LookoutCore
import LookoutModel

extension EngineSelftest {
    /// `selftest --gpu --engine-model M…`: for each model (YOLO11, YOLO26, …), every step of its plan against the CPU
    /// backend, then the tuned instance at batch 32 (the kernels the tuner chose, eager launches and graph replay)
    /// against the CPU backend on the same input. The second is where a fused launch whose output shares memory
    /// with an input it still reads shows: at batch 1 every block is resident at once and the race rarely bites.
    /// Landscape and portrait inputs both: `val` and `detect` letterbox a portrait image to a taller-than-wide
    /// tensor (e.g. 640 × 384), and a kernel that mixes up height and width only shows there.
    package func runModels(_ models: [String]) {
        for model in models {
            everyStep(model: model, precision: .fp16, shape: [2, 3, 256, 320], tolerance: 3e-2)
            everyStep(model: model, precision: .fp16, shape: [1, 3, 640, 384], tolerance: 3e-2)
            tunedInstance(model: model, shape: [32, 3, 384, 640])
            tunedInstance(model: model, shape: [1, 3, 640, 384])
        }
    }

    func tunedInstance(model: String, shape: [Int]) {
        let name = model.split(separator: "/").last.map(String.init) ?? model
        check("\(name): the tuned instance at \(shape) equals the CPU backend; graph replay equals eager launches") {
            let detector = try cudaDetector(model)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let plan = try detector.model.plan(forInputShape: shape)
            let input = Self.input(count: shape.reduce(1, *), seed: 13)
            let reference = try CPUExecutor(plan: plan).run(input: input)
            let instance = try cuda.engine.instance(shape: shape)
            let (eager, replayed) = try Self.eagerAndReplayed(instance, input: input)
            let error = Self.relativeError(eager, reference)
            let replayError = Self.relativeError(replayed, reference)
            log(TextFormat.format("  relative error %.2e eager, %.2e replayed", error, replayError))
            if eager != replayed { return "graph replay differs from eager launches (\(replayError))" }
            return error < 5e-3 ? nil : "too far from the CPU backend"
        }
    }
}
