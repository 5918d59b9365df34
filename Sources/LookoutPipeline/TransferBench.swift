import Foundation
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore

/// Settings of `lookout bench transfer`.
public struct TransferBenchOptions: Sendable {
    public var resolution = Resolution(width: 1920, height: 1080)
    public var modes: [TransferMode] = TransferMode.allCases
    /// Frames measured per mode, after `warmup` frames.
    public var frames = 600
    public var warmup = 60
    /// Distinct source frames cycled through (more than fit in the CPU's last-level cache).
    public var ring = 8
    /// Frames in flight on the GPU at most (the pipeline's depth).
    public var depth = 2
    /// Threads of the CPU letterbox in the CPU modes (the caller's included).
    public var cpuThreads = 8
    public var tensorSize = 640
    /// What the `pinned` mode's staging buffers are.
    public var staging = PinnedStaging.writeCombined
    /// `pinned`: how the letterbox writes the staging tensor. The copy engine reads it at the link's rate only if
    /// no line of it is dirty in a CPU cache: non-temporal stores (`streamed`) or a write-back after the letterbox
    /// (`writtenBack`; 51 GB/s instead of 24-29 with `cached` on the H100 machine).
    public var pinnedWrites = ParallelLetterbox.Writes.streamed
    /// `pinned`: copy each tensor one frame later (after the next frame's letterbox), when its lines have left
    /// the CPU caches; one more staging buffer, one frame more latency.
    public var pinnedDeferredCopy = false
    /// `pinned`: each tensor's copy split into this many parts on as many copy streams (the GPU's copy engines
    /// work on them at once, each with its own read requests in flight).
    public var pinnedCopyParts = 1
    /// `pinned`: each staging slot's copy and the two events around it captured once as a CUDA graph, queued with
    /// one launch (one submission instead of three calls).
    public var pinnedGraphCopies = false
    /// `pinned`: queue each frame's copy (and its events) before the letterbox writes the tensor, behind a wait on
    /// a host memory word that the CPU sets when the tensor is written: the GPU has fetched the copy's commands by
    /// then, and starts it without a driver call on the host's critical path. Falls back to queuing after the
    /// letterbox where stream memory operations are unavailable.
    public var pinnedQueuedCopies = true
    public init() {}
}

extension TransferBenchOptions {
    /// The `pinned` mode with one of its choices changed, named for the report. Deferred, split and graph copies
    /// are queued after the letterbox (the queued copy is one copy of the current frame on the copy stream).
    public var pinnedVariants: [(name: String, options: TransferBenchOptions)] {
        func with(_ change: (inout TransferBenchOptions) -> Void) -> TransferBenchOptions {
            var variant = self
            change(&variant)
            return variant
        }
        return [
            ("pinned-direct", with { $0.pinnedQueuedCopies = false }),
            ("pinned-writeback", with { $0.pinnedWrites = .writtenBack }),
            ("pinned-noflush", with { $0.pinnedWrites = .cached }),
            ("pinned-deferred", with { $0.pinnedDeferredCopy = true }),
            ("pinned-2copies", with { $0.pinnedCopyParts = 2 }),
            ("pinned-hugepages", with { $0.staging = .hugePages }),
            ("pinned-graph", with { $0.pinnedGraphCopies = true }),
        ]
    }
}

/// Page-locked host memory for the `pinned` mode's staging tensors.
public enum PinnedStaging: String, Sendable, CaseIterable {
    /// `cuMemHostAlloc`, cached.
    case cached
    /// `cuMemHostAlloc` write-combined (the CPU only writes it, the copy engine reads).
    case writeCombined = "write-combined"
    /// Transparent 2 MiB pages registered with `cuMemHostRegister` (fewer pages for the copy engine to translate).
    case hugePages = "huge-pages"

    public func allocate(byteCount: Int, context: CUDAContext) throws(CUDAError) -> HostBuffer {
        switch self {
        case .cached: try HostBuffer.pinned(byteCount: byteCount, context: context)
        case .writeCombined: try HostBuffer.pinned(byteCount: byteCount, context: context, writeCombined: true)
        case .hugePages: try HostBuffer.registered(byteCount: byteCount, context: context, hugePages: true)
        }
    }
}

/// One measured mode.
public struct TransferResult: Sendable {
    public var mode: String
    public var resolution: Resolution
    public var frames: Int
    public var fps: Double
    public var p50: Double
    public var p99: Double
    public var bytesPerFrame: Int
    public var cpuMsPerFrame: Double
    /// Host allocations over the measured frames, split into Lookout's, inside driver calls, and the driver's
    /// own threads (nil when the counting allocator is not linked).
    public var allocations: AllocationReport?
    public var cudaAllocationsPerFrame: Double
    /// Median H2D bandwidth of a copy over its own duration (events around it on the copy stream), GB/s.
    public var copyGBps: Double?
    /// 10th and 90th percentiles of the same.
    public var copyGBpsRange: (Double, Double)?
    /// Bytes moved per second of wall time (bytes per frame × frames per second), GB/s.
    public var wallGBps: Double { Double(bytesPerFrame) * fps / 1e9 }
    public var notes: String

    /// Lookout's own allocations per frame (host and CUDA), the number the acceptance counts.
    public var ourAllocationsPerFrame: Double? {
        allocations.map { $0.perFrame($0.ours) + cudaAllocationsPerFrame }
    }
}

/// Runs the transfer modes on one GPU.
public final class TransferBench: @unchecked Sendable {
    public let context: CUDAContext
    public let letterbox: GPULetterbox
    public let options: TransferBenchOptions
    let copyStream: CUDAStream
    let computeStream: CUDAStream
    let workers: RowParallel

    public init(context: CUDAContext, letterbox: GPULetterbox, options: TransferBenchOptions) throws {
        self.context = context
        self.letterbox = letterbox
        self.options = options
        copyStream = try CUDAStream(context: context)
        computeStream = try CUDAStream(context: context)
        workers = RowParallel(threadCount: options.cpuThreads)
    }

    /// Peak host → device bandwidth in GB/s from pinned and from pageable memory (64 MiB copies, best of 10), and
    /// from registered transparent huge pages (with the bytes of them the kernel granted).
    public func peakBandwidth() throws -> (pinned: Double, pageable: Double, hugePages: Double, hugePageBytes: Int?) {
        let bytes = 64 << 20
        let device = try DeviceBuffer(context: context, byteCount: bytes)
        let pinned = try HostBuffer.pinned(byteCount: bytes, context: context)
        let pageable = HostBuffer.pageable(byteCount: bytes)
        let before = HostBuffer.processHugePageBytes()
        let huge = try HostBuffer.registered(byteCount: bytes, context: context, hugePages: true)
        let granted = HostBuffer.processHugePageBytes().flatMap { after in before.map { after - $0 } }
        pinned.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        pageable.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        huge.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        let start = try CUDAEvent(context: context)
        let end = try CUDAEvent(context: context)
        func best(_ host: borrowing HostBuffer) throws -> Double {
            var best = 0.0
            for _ in 0..<10 {
                try start.record(on: copyStream)
                try copyStream.copy(host, to: device)
                try end.record(on: copyStream)
                try end.synchronize()
                best = max(best, Double(bytes) / (try end.milliseconds(since: start) * 1e6))
            }
            return best
        }
        let bestPinned = try best(pinned)
        let bestHuge = try best(huge)
        var bestPageable = 0.0
        for _ in 0..<10 {
            let t0 = Measurement.now()
            try copyStream.copy(pageable, to: device)
            try copyStream.synchronize()
            bestPageable = max(bestPageable, Double(bytes) / ((Measurement.now() - t0) * 1e9))
        }
        return (bestPinned, bestPageable, bestHuge, granted)
    }

    /// Measures one mode.
    public func run(_ mode: TransferMode) throws -> TransferResult {
        switch mode {
        case .pageable: return try runCPUMode(pinned: false)
        case .pinned: return try runCPUMode(pinned: true)
        case .pinnedRaw, .mapped, .managed: return try runRawMode(mode)
        }
    }

    var frameBytes: Int { options.resolution.width * options.resolution.height * 3 }
    var tensorBytes: Int { options.tensorSize * options.tensorSize * 3 * 4 }

    /// Host time of GPU events: a reference event recorded on an idle GPU and synchronised gives the offset
    /// between the GPU's event clock and the host's monotonic clock.
    struct EventClock {
        let reference: CUDAEvent
        let hostTime: Double
        init(context: CUDAContext, stream: CUDAStream) throws {
            try stream.synchronize()
            reference = try CUDAEvent(context: context)
            try reference.record(on: stream)
            try reference.synchronize()
            hostTime = Measurement.now()
        }
        func hostTime(of event: CUDAEvent) throws -> Double {
            hostTime + (try event.milliseconds(since: reference)) / 1000
        }
    }

    /// Collects per-frame numbers during the measured frames (preallocated: nothing allocated per frame).
    struct Recorder {
        var latencies: [Double]
        var copyRates: [Double]
        init(capacity: Int) {
            latencies = []
            latencies.reserveCapacity(capacity)
            copyRates = []
            copyRates.reserveCapacity(capacity)
        }
    }

    func finish(
        mode: TransferMode, recorder: Recorder, elapsed: Double, cpu: Double, allocations: AllocationReport?,
        cudaAllocations: Int, bytesPerFrame: Int, notes: String
    ) -> TransferResult {
        let n = Double(options.frames)
        let latency = LatencyStats(recorder.latencies.map { $0 * 1000 })
        let rates = recorder.copyRates.sorted()
        return TransferResult(
            mode: mode.rawValue, resolution: options.resolution, frames: options.frames, fps: n / elapsed,
            p50: latency.p50, p99: latency.p99, bytesPerFrame: bytesPerFrame, cpuMsPerFrame: cpu * 1000 / n,
            allocations: allocations, cudaAllocationsPerFrame: Double(cudaAllocations) / n,
            copyGBps: rates.isEmpty ? nil : rates[rates.count / 2],
            copyGBpsRange: rates.isEmpty ? nil : (rates[rates.count / 10], rates[rates.count * 9 / 10]), notes: notes)
    }
}

