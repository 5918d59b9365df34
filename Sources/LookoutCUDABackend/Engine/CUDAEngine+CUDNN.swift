import LookoutCUDA

/// cuDNN as a per-layer candidate: loaded once per engine if present, its algorithms for each eligible layer added
/// to the tuner's candidates, timed like the engine's own kernels (cuDNN's convolution plus our epilogue).
extension CUDAEngine {
    /// At most this many of cuDNN's proposed algorithms are timed per layer (its heuristics' order).
    static let cudnnAlgorithmsPerLayer = 3
    /// Algorithms needing more workspace than this are not candidates.
    static let cudnnWorkspaceLimit = 64 << 20

    /// The engine log's line when cuDNN is not a candidate.
    static func cudnnNotUsed(_ why: String) -> String { "cuDNN: not used (\(why))" }

    /// cuDNN's handle on `context` when cuDNN can be used with `options`, and the engine log's line saying so.
    static func loadCUDNN(
        options: CUDAEngineOptions, context: CUDAContext, load: () -> Result<CUDNN, CUDNNUnavailable> = CUDNN.load
    ) -> (CUDNNHandle?, String) {
        guard options.precision == .fp16 else { return (nil, cudnnNotUsed("fp32 precision runs the direct kernels")) }
        guard options.cudnn else { return (nil, cudnnNotUsed("turned off")) }
        switch load() {
        case .failure(let unavailable): return (nil, cudnnNotUsed(unavailable.description))
        case .success(let cudnn):
            do {
                let handle = try CUDNNHandle(cudnn: cudnn, context: context)
                return (
                    handle,
                    "cuDNN \(cudnn.versionString) (\(cudnn.path)): a candidate for fp16 channels-last convolutions"
                )
            } catch {
                return (nil, cudnnNotUsed("cudnnCreate failed: \(error)"))
            }
        }
    }

    /// Makes the descriptors of every layer cuDNN may run and adds the algorithms it proposes (up to
    /// `cudnnAlgorithmsPerLayer`, workspace ≤ `cudnnWorkspaceLimit`) before the direct kernel, which stays last.
    func addCUDNNCandidates(_ ops: inout [GPUOp]) {
        guard let handle = cudnnHandle else { return }
        var eligible = 0
        var offered = 0
        var failures: [String] = []
        for index in ops.indices {
            guard case .conv(var op) = ops[index], let shape = op.cudnnShape else { continue }
            eligible += 1
            do {
                let convolution = try CUDNNConvolution(handle: handle, shape: shape)
                let algorithms = try convolution.algorithms(
                    limit: Self.cudnnAlgorithmsPerLayer, workspaceLimit: Self.cudnnWorkspaceLimit)
                guard !algorithms.isEmpty else { continue }
                op.cudnn = convolution
                op.candidates.insert(contentsOf: algorithms.map { .cudnn($0) }, at: op.candidates.count - 1)
                ops[index] = .conv(op)
                offered += 1
            } catch {
                failures.append("\(op.signature): \(error)")
            }
        }
        log.append(
            "cuDNN: algorithms for \(offered)/\(eligible) eligible convolutions"
                + (failures.isEmpty ? "" : "; rejected: " + failures.prefix(3).joined(separator: "; ")))
    }

    /// Bytes of cuDNN workspace the chosen kernels need (0 when no layer chose cuDNN).
    static func cudnnWorkspaceBytes(_ ops: [GPUOp], candidates: Bool) -> Int {
        ops.map { op -> Int in
            guard case .conv(let c) = op else { return 0 }
            return (candidates ? c.candidates : [c.kernel]).map { kernel -> Int in
                if case .cudnn(let algorithm) = kernel { return algorithm.workspaceBytes }
                return 0
            }.max() ?? 0
        }.max() ?? 0
    }

    /// Puts every layer that chose cuDNN back on its fastest NVRTC kernel (when capturing cuDNN's work into a graph
    /// failed); returns how many.
    static func withoutCUDNN(_ ops: inout [GPUOp]) -> Int {
        var count = 0
        for index in ops.indices {
            guard case .conv(var op) = ops[index], op.kernel.isCUDNN else { continue }
            op.kernel = op.nvrtcKernel ?? .direct
            ops[index] = .conv(op)
            count += 1
        }
        return count
    }
}
