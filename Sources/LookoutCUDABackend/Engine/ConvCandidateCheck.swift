import LookoutCUDA

/// Runs a convolution's candidate kernels against its direct kernel, as the tuner does: the reference output is
/// gathered once, each candidate's output is gathered and compared on the device (`max |Δ|` and `max |ref|` come
/// back), and a candidate is timed with events over back-to-back launches.
final class ConvCandidateCheck {
    let kernels: EngineKernels
    let stream: CUDAStream
    private let reference: DeviceBuffer
    private let candidate: DeviceBuffer
    private let result: DeviceBuffer
    private let host: HostBuffer
    private let start: CUDAEvent
    private let end: CUDAEvent

    /// `elements`: the largest convolution output to compare.
    init(context: CUDAContext, kernels: EngineKernels, stream: CUDAStream, elements: Int) throws {
        self.kernels = kernels
        self.stream = stream
        reference = try DeviceBuffer(context: context, byteCount: max(elements, 1) * 4)
        candidate = try DeviceBuffer(context: context, byteCount: max(elements, 1) * 4)
        result = try DeviceBuffer(context: context, byteCount: 8)
        host = try HostBuffer.pinned(byteCount: 8, context: context)
        start = try CUDAEvent(context: context)
        end = try CUDAEvent(context: context)
    }

    // `memory`: the launch addresses, the instance's own unless given (the tuner adds a temporary cuDNN workspace).

    /// Runs the direct kernel and keeps its output as the reference for `compare`.
    func runReference(_ op: ConvOp, instance: CUDAModelInstance, memory: LaunchMemory? = nil) throws {
        let memory = memory ?? instance.launchMemory
        try kernels.launch(op, kernel: .direct, memory: memory, on: stream)
        let gather = instance.compiler.gather(op.output, at: op.outputAddress, into: reference.pointer().address)
        try kernels.launch(.elementwise(gather), memory: memory, on: stream)
    }

    /// Runs `kernel` once; returns (max |candidate - reference|, max |reference|).
    func compare(_ op: ConvOp, kernel: ConvKernel, instance: CUDAModelInstance, memory: LaunchMemory? = nil) throws -> (
        difference: Float, largest: Float
    ) {
        let memory = memory ?? instance.launchMemory
        try kernels.launch(op, kernel: kernel, memory: memory, on: stream)
        let gather = instance.compiler.gather(op.output, at: op.outputAddress, into: candidate.pointer().address)
        try kernels.launch(.elementwise(gather), memory: memory, on: stream)
        try stream.fill(result, byte: 0)
        try kernels.maxDifference.launch(
            grid: Dim3(EngineKernels.blocks(op.output.count, 256, limit: 1024)), block: Dim3(256), on: stream,
            candidate.pointer().address, reference.pointer().address, Int64(op.output.count), result.pointer().address)
        try stream.copy(result, to: host)
        try stream.synchronize()
        return host.withUnsafeBytes { ($0.load(as: Float.self), $0.load(fromByteOffset: 4, as: Float.self)) }
    }

    /// The tuner's acceptance: `max |Δ| ≤ 0.02 · max(1, max |ref|)`.
    static func agrees(difference: Float, largest: Float) -> Bool { difference <= 0.02 * max(largest, 1) }

    /// Milliseconds per launch of `kernel`, over `repeats` launches back to back.
    func time(
        _ op: ConvOp, kernel: ConvKernel, instance: CUDAModelInstance, memory: LaunchMemory? = nil, repeats: Int
    ) throws -> Double {
        let memory = memory ?? instance.launchMemory
        try start.record(on: stream)
        for _ in 0..<repeats { try kernels.launch(op, kernel: kernel, memory: memory, on: stream) }
        try end.record(on: stream)
        try end.synchronize()
        return try end.milliseconds(since: start) / Double(repeats)
    }
}
