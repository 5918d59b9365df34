import CLookoutKernels
import LookoutCore
import LookoutModel
import Synchronization

/// Runs an `ExecutionPlan` on the CPU in fp32: convolutions as OpenBLAS GEMMs with fused epilogues, views for
/// Concat/Split, and the reference implementations for rare operators. Arena and scratch are allocated once;
/// a run allocates nothing. One run at a time per executor.
package final class CPUExecutor: @unchecked Sendable {
    // Mutable state (arena contents) is only touched inside `lock`.
    package let plan: ExecutionPlan
    private let arena: UnsafeMutablePointer<Float>
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchCount: Int
    private let kernels: [any CPUKernel]
    private let lock = Mutex(())
    private let roundInputToHalf: Bool
    private let roundOutputToHalf: Bool
    /// The output holds integers (as `Int32` bits in the arena); `read` sees them as float values.
    private let integerOutput: Bool
    private let profileThreadTime: Bool

    /// Compiles `plan`. `halfInput`/`halfOutput` round the input and output to float16 values, as a model with
    /// float16 IO sees them.
    package init(
        plan: ExecutionPlan, halfInput: Bool = false, halfOutput: Bool = false, tuning: CPUTuning = CPUTuning()
    ) throws(ModelError) {
        _ = BLAS.configured
        _ = CPUParallel.pool(threads: tuning.threads)
        self.plan = plan
        var kernels: [any CPUKernel] = []
        for step in plan.steps {
            kernels.append(try CPUExecutor.compile(step, plan: plan, tuning: tuning))
        }
        self.kernels = kernels
        // After the last step the scratch area is free again: it stages outputs that need gathering or rounding.
        let output = plan.layout(plan.graph.outputs[0])
        let integerOutput = !plan.graph[plan.graph.outputs[0]].dataType.isFloatingPoint
        let staging = output.isContiguous && !halfOutput && !integerOutput ? 0 : output.count
        self.scratchCount = max(kernels.map(\.scratchElements).max() ?? 0, staging, 16)
        self.arena = .allocate(capacity: max(plan.arenaElements, 16))
        self.arena.initialize(repeating: 0, count: max(plan.arenaElements, 16))
        self.scratch = .allocate(capacity: scratchCount)
        self.scratch.initialize(repeating: 0, count: scratchCount)
        self.roundInputToHalf = halfInput
        self.roundOutputToHalf = halfOutput
        self.integerOutput = integerOutput
        self.profileThreadTime = tuning.profileThreadTime
    }

    deinit {
        arena.deallocate()
        scratch.deallocate()
    }

    /// Bytes the executor holds for activations and scratch.
    package var workspaceBytes: Int { (plan.arenaElements + scratchCount) * 4 }

    /// Runs the model: `fill` writes the input tensor (NCHW, contiguous) in place, then every step executes, then
    /// `read` sees the first output (contiguous per batch item: `[batch][channels × anchors]`).
    package func run<R>(
        fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
        read: (UnsafeBufferPointer<Float>) throws -> R,
        observe: ((Int, Double) -> Void)? = nil
    ) rethrows -> R {
        try lock.withLock { _ in
            let input = plan.layout(plan.graph.inputs[0])
            let inputBuffer = UnsafeMutableBufferPointer(start: arena + input.offset, count: input.count)
            try fill(inputBuffer)
            if roundInputToHalf { lk_round_to_half(inputBuffer.baseAddress, inputBuffer.baseAddress, input.count) }
            let context = CPUContext(arena: arena, scratch: scratch, batch: plan.batch)
            if let observe {
                let now = profileThreadTime ? ThreadCPUClock.nanoseconds : MonotonicClock.nanoseconds
                for (index, kernel) in kernels.enumerated() {
                    let start = now()
                    kernel.execute(context)
                    observe(index, Double(now() - start) / 1e9)
                }
            } else {
                for kernel in kernels { kernel.execute(context) }
            }
            let outputID = plan.graph.outputs[0]
            let output = plan.layout(outputID)
            let tensor = CPUTensor(layout: output, shape: plan.graph.shape(outputID))
            if output.isContiguous && !roundOutputToHalf && !integerOutput {
                return try read(UnsafeBufferPointer(start: arena + output.offset, count: output.count))
            }
            // Views with gaps (batched channel views) are gathered into scratch first.
            let staging = scratch
            tensor.read(from: arena, start: 0, count: output.count, into: staging)
            if roundOutputToHalf { lk_round_to_half(staging, staging, output.count) }
            if integerOutput {
                for i in 0..<output.count { staging[i] = Float(Int32(bitPattern: staging[i].bitPattern)) }
            }
            return try read(UnsafeBufferPointer(start: staging, count: output.count))
        }
    }

    /// Runs on `input` (NCHW floats) and returns a copy of the first output.
    package func run(input: [Float]) -> [Float] {
        run(
            fill: { buffer in
                precondition(
                    buffer.count == input.count, "input has \(input.count) values, the plan needs \(buffer.count)")
                _ = buffer.update(from: input)
            }, read: { Array($0) })
    }
}

extension CPUExecutor {
    /// The CPU and BLAS the executor runs on, for reports.
    package static var deviceDescription: String { SystemInfo.cpuDescription }
    /// OpenBLAS's build configuration.
    package static var blasDescription: String { BLAS.configuration }
}
