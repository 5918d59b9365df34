import LookoutCUDA

/// A convolution of a compiled model, as the kernel trials describe it.
package struct ConvLayer: Sendable, CustomStringConvertible {
    package let signature: String
    package let inC: Int, outC: Int, kernel: Int, stride: Int, inH: Int, inW: Int, outH: Int, outW: Int
    package let hasResidual: Bool
    /// The output's channels are not adjacent (a row-major tensor the layer writes in place).
    package let stridedChannels: Bool
    /// The output's pixels are farther apart than its channels (a channel slice of a concat).
    package let slicedOutput: Bool

    init(_ op: ConvOp) {
        let p = op.params
        signature = op.signature
        (inC, outC, kernel, stride) = (Int(p.inC), Int(p.outC), Int(p.kH), Int(p.strideH))
        (inH, inW, outH, outW) = (Int(p.inH), Int(p.inW), Int(p.outH), Int(p.outW))
        hasResidual = p.hasResidual != 0
        stridedChannels = p.ysC != 1
        slicedOutput = p.ysC == 1 && p.ysW > p.outC
    }

    package var description: String {
        "\(inC)→\(outC) \(kernel)×\(kernel) s\(stride) \(inH)×\(inW)→\(outH)×\(outW)"
            + (hasResidual ? " +residual" : "") + (stridedChannels ? " strided channels" : "")
            + (slicedOutput ? " channel slice" : "")
    }
}

/// One candidate kernel run on one layer: its agreement with the direct kernel and its time.
package struct ConvKernelTrial: Sendable {
    package let kernel: String
    /// A kernel of the halo or first-layer families (the newest).
    package let isNew: Bool
    package let isWGMMA: Bool
    package let maxDifference: Float
    package let largestReference: Float
    package let microseconds: Double
    /// The tuner's acceptance test.
    package var agrees: Bool { ConvCandidateCheck.agrees(difference: maxDifference, largest: largestReference) }
}

/// A kernel trial's launch failed: which kernel on which layer, and the driver's error. The context is unusable
/// after it (a sticky error).
package struct ConvKernelTrialError: Error, CustomStringConvertible {
    package let kernel: String
    package let layer: ConvLayer
    package let underlying: any Error
    package var description: String { "\(kernel) on \(layer) (\(layer.signature)): \(underlying)" }
}

extension CUDAEngine {
    /// Runs the model for `shape` once, in order, on a random input (as tuning does) and, at each convolution that
    /// `select` picks, runs every candidate kernel that is loaded: its largest difference from the direct kernel
    /// and its time per launch (`repeats` launches). `report` gets each picked layer's trials as soon as they are
    /// done; layers not picked run their default kernel. A failed launch (a faulting kernel) is thrown as a
    /// `ConvKernelTrialError` naming the kernel: after one, the context is unusable.
    package func convKernelTrials(
        shape: [Int], repeats: Int = 10, select: (ConvLayer) -> Bool, report: (ConvLayer, [ConvKernelTrial]) -> Void
    ) throws {
        try context.bind()
        let plan = try model.plan(forInputShape: shape)
        let memory = try GPUMemoryPlan(plan: plan, precision: options.precision)
        let compiler = GPUOpCompiler(plan: plan, memory: memory)
        var trialPool = ConstantPool()
        let ops = try compiler.compile(constants: &trialPool)
        let trialConstants = try ConstantBuffer(context: context, bytes: trialPool.bytes, stream: stream)
        let instance = try CUDAModelInstance(
            engine: self, plan: plan, memory: memory, compiler: compiler, ops: ops, constants: trialConstants)
        let launchMemory = instance.launchMemory
        try instance.fillInputRandom(seed: 4321)
        let largest =
            ops.map {
                if case .conv(let c) = $0 { return c.output.count }
                return 0
            }.max() ?? 1
        let check = try ConvCandidateCheck(context: context, kernels: kernels, stream: stream, elements: largest)
        for op in ops {
            guard case .conv(let conv) = op, conv.candidates.count > 1, select(ConvLayer(conv)) else {
                try kernels.launch(op, memory: launchMemory, on: stream)
                continue
            }
            let layer = ConvLayer(conv)
            try check.runReference(conv, instance: instance)
            var trials: [ConvKernelTrial] = []
            for kernel in conv.candidates where kernel != .direct && kernels.canLaunch(kernel) {
                let name = kernel.key.hasPrefix("lookout_conv_") ? String(kernel.key.dropFirst(13)) : kernel.key
                let difference: Float
                let largest: Float
                let ms: Double
                do {
                    (difference, largest) = try check.compare(conv, kernel: kernel, instance: instance)
                    ms = try check.time(conv, kernel: kernel, instance: instance, repeats: repeats)
                } catch {
                    report(layer, trials)
                    throw ConvKernelTrialError(kernel: name, layer: layer, underlying: error)
                }
                var isNew = false
                var isWGMMA = false
                switch kernel {
                case .wgmma: isWGMMA = true
                case .halo, .first, .pointwise: isNew = true
                default: break
                }
                trials.append(
                    ConvKernelTrial(
                        kernel: name, isNew: isNew, isWGMMA: isWGMMA, maxDifference: difference,
                        largestReference: largest, microseconds: ms * 1000))
            }
            report(layer, trials)
            // The reference output stays for the layers after this one.
            try check.runReference(conv, instance: instance)
        }
        try stream.synchronize()
    }
}
