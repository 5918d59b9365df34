import LookoutBench
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutModel
import LookoutPipeline
import LookoutTestSupport

extension EngineSelftest {
    /// Layers of the shapes model at batch 32 that the kernel trials run: the first convolution matching each.
    static let trialLayers: [(String, @Sendable (ConvLayer) -> Bool)] = [
        ("3→16 3×3 s2 at 640² (the first layer)", { $0.inC == 3 && $0.kernel == 3 && $0.stride == 2 }),
        ("16→16 3×3 at 160²", { $0.inC == 16 && $0.outC == 16 && $0.kernel == 3 && $0.stride == 1 && $0.inH == 160 }),
        ("32→32 3×3 at 80²", { $0.inC == 32 && $0.outC == 32 && $0.kernel == 3 && $0.stride == 1 && $0.inH == 80 }),
        ("48→32 1×1 at 160²", { $0.inC == 48 && $0.outC == 32 && $0.kernel == 1 && $0.inH == 160 }),
        ("192→64 1×1 at 80²", { $0.inC == 192 && $0.outC == 64 && $0.kernel == 1 && $0.inH == 80 }),
        (
            "32→64 3×3 s2 at 160²",
            { $0.inC == 32 && $0.outC == 64 && $0.kernel == 3 && $0.stride == 2 && $0.inH == 160 }
        ),
        (
            "16→32 3×3 s2 at 320²",
            { $0.inC == 16 && $0.outC == 32 && $0.kernel == 3 && $0.stride == 2 && $0.inH == 320 }
        ),
        ("32→32 1×1 at 160²", { $0.inC == 32 && $0.outC == 32 && $0.kernel == 1 && $0.inH == 160 }),
        ("64→64 3×3 at 80²", { $0.inC == 64 && $0.outC == 64 && $0.kernel == 3 && $0.stride == 1 && $0.inH == 80 }),
        ("128→128 3×3 at 40²", { $0.inC == 128 && $0.outC == 128 && $0.kernel == 3 && $0.stride == 1 && $0.inH == 40 }),
        ("widest 3×3 at 40²", { $0.kernel == 3 && $0.stride == 1 && $0.inH == 40 && $0.outC >= 64 }),
        ("256→256 1×1 at 20²", { $0.inC == 256 && $0.outC == 256 && $0.kernel == 1 && $0.inH == 20 }),
        ("with a residual", { $0.hasResidual }),
        ("into a channel slice", { $0.slicedOutput && !$0.hasResidual }),
        ("with strided output channels", { $0.stridedChannels }),
    ]

    /// Every candidate kernel (`wgmma` where the device is sm_90, whatever `LOOKOUT_WGMMA` says; the halo and
    /// first-layer kernels marked new), on chosen layers of the shapes model at batch 32: agreement with the direct
    /// kernel and µs per launch, one line per kernel. A mismatch is only reported (the tuner rejects such a kernel);
    /// the check fails only when a launch fails, which leaves the context unusable: it runs last.
    func convKernels() {
        check("conv kernels at batch 32: every candidate vs the direct kernel, µs per launch (new tiles marked)") {
            let detector = try cudaDetector(dynamicModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let kernels = try EngineKernels(compiler: cuda.compiler, wgmma: true)
            log("  wgmma kernels: \(kernels.wgmmaStatus)")
            var options = CUDAEngineOptions()
            options.tune = false
            options.graphs = false
            let engine = try CUDAEngine(
                model: detector.model, context: cuda.engine.context, kernels: kernels, options: options)
            var wanted = Self.trialLayers
            var names: [String: String] = [:]
            var layers = 0
            try engine.convKernelTrials(shape: [32, 3, 640, 640]) { layer in
                guard let index = wanted.firstIndex(where: { $0.1(layer) }) else { return false }
                names[layer.signature] = wanted[index].0
                wanted.remove(at: index)
                return true
            } report: { layer, trials in
                layers += 1
                log("  \(names[layer.signature] ?? "layer"): \(layer)")
                for trial in trials {
                    let verdict =
                        trial.agrees
                        ? TextFormat.format("OK (max |Δ| %.4f)", trial.maxDifference)
                        : TextFormat.format("MISMATCH(%.4g, largest %.4g)", trial.maxDifference, trial.largestReference)
                    let name = trial.kernel.padded(toLength: max(trial.kernel.count, 34))
                    log(
                        "    \(trial.isNew ? "new" : "   ") \(name) \(verdict) "
                            + TextFormat.format("%.1f µs", trial.microseconds))
                }
                let best = { (new: Bool) -> String in
                    guard
                        let fastest = trials.filter({ $0.isNew == new && $0.agrees }).min(by: {
                            $0.microseconds < $1.microseconds
                        })
                    else { return "none agrees" }
                    return fastest.kernel + TextFormat.format(" %.1f µs", fastest.microseconds)
                }
                log("    best old: \(best(false)); best new: \(best(true))")
            }
            if !wanted.isEmpty { log("  not in this model: " + wanted.map(\.0).joined(separator: ", ")) }
            return layers > 0 ? nil : "no layer of the model was picked"
        }
    }
}
