import BasicContainers
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutPipeline
import LookoutYOLO

/// Settings of `lookout bench transfer`.
package struct TransferBenchOptions: Sendable {
    package var resolution = Resolution(width: 1920, height: 1080)
    package var modes: [TransferMode] = TransferMode.hostModes
    /// Frames measured per mode, after `warmup` frames.
    package var frames = 600
    package var warmup = 60
    /// Distinct source frames cycled through (more than fit in the CPU's last-level cache).
    package var ring = 8
    /// Uploads in flight at most (the pipeline's depth).
    package var depth = 2
    /// The side of the square float32 NCHW tensor each frame is letterboxed into.
    package var tensorSize = 640
    /// The transfer modes' own choices (the `pinned` variants), as the pipeline takes them.
    package var upload = UploadOptions()

    package init() {}
}

extension TransferBenchOptions {
    /// The `pinned` mode with one of its choices changed, named for the report.
    package var pinnedVariants: [(name: String, options: TransferBenchOptions)] {
        func with(_ change: (inout UploadOptions) -> Void) -> TransferBenchOptions {
            var variant = self
            change(&variant.upload)
            return variant
        }
        return [
            ("pinned-direct", with { $0.queuedCopies = false }),
            ("pinned-writeback", with { $0.pinnedWrites = .writtenBack }),
            ("pinned-noflush", with { $0.pinnedWrites = .cached }),
            ("pinned-hugepages", with { $0.pinnedStaging = .hugePages }),
        ]
    }
}

/// One measured mode.
package struct TransferResult: Sendable {
    package var mode: String
    package var resolution: Resolution
    package var frames: Int
    package var fps: Double
    package var p50: Double
    package var p99: Double
    package var bytesPerFrame: Int
    package var cpuMsPerFrame: Double
    /// Host allocations over the measured frames, Lookout's and the driver's (nil when the counting allocator is
    /// not linked).
    package var allocations: AllocationReport?
    package var cudaAllocationsPerFrame: Double
    /// Median H2D bandwidth of a copy over its own duration (events around it on the copy stream), GB/s.
    package var copyGBps: Double?
    /// 10th and 90th percentiles of the same.
    package var copyGBpsRange: (Double, Double)?
    /// Bytes moved per second of wall time (bytes per frame × frames per second), GB/s.
    package var wallGBps: Double { Double(bytesPerFrame) * fps / 1e9 }
    package var notes: String

    /// Lookout's own allocations per frame (host and CUDA), the number the acceptance counts.
    package var ourAllocationsPerFrame: Double? {
        allocations.map { $0.perFrame($0.ours) + cudaAllocationsPerFrame }
    }
}

/// Measures the transfer modes on one GPU by driving the pipeline's own upload path (`FrameUploader`, what
/// `lookout stream` runs) one frame at a time: frames from a pool in the mode's memory (a ring of distinct
/// synthetic frames), each letterboxed into a 640² float32 tensor on the device.
package final class TransferBench: @unchecked Sendable {
    package let context: CUDAContext
    package let letterbox: GPULetterbox
    package let options: TransferBenchOptions
    let copyStream: CUDAStream
    let computeStream: CUDAStream

    package init(context: CUDAContext, letterbox: GPULetterbox, options: TransferBenchOptions) throws {
        self.context = context
        self.letterbox = letterbox
        self.options = options
        copyStream = try CUDAStream(context: context)
        computeStream = try CUDAStream(context: context)
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

    /// Measures one mode: `warmup + frames` uploads through the mode's `FrameUploader`, `depth` in flight.
    package func run(_ mode: TransferMode) throws -> TransferResult {
        let res = options.resolution
        let depth = max(1, options.depth)
        let uploader = try FrameUploader(
            mode: mode, options: options.upload, context: context, copyStream: copyStream, computeStream: computeStream,
            letterbox: letterbox, maxBatch: 1)
        let pool = try uploader.makePool(count: options.ring, bufferBytes: frameBytes, policy: .wait)
        // Each pool buffer holds a distinct frame for good: a lease returned keeps its bytes.
        var leases = UniqueArray<FrameLease>()
        for index in 0..<options.ring {
            guard let lease = try pool.acquire() else { preconditionFailure("a fresh pool has free buffers") }
            lease.withUnsafeMutableBytes {
                SyntheticFrames.fill($0, width: res.width, height: res.height, pitch: res.width * 3, index: index)
            }
            leases.append(lease)
        }
        leases.removeAll()
        let slots = try (0..<depth).map { try uploader.makeSlot(index: $0) }
        let tensors = try DeviceBuffer(context: context, byteCount: tensorBytes * depth)
        let geometry = LetterboxGeometry(
            sourceWidth: res.width, sourceHeight: res.height, targetWidth: options.tensorSize,
            targetHeight: options.tensorSize)
        let copies = mode == .pageable || mode == .pinned || mode == .pinnedRaw
        var readyTimes = [Double](repeating: 0, count: depth)
        var pending = [Bool](repeating: false, count: depth)
        var measured = [Bool](repeating: false, count: depth)
        var latencies = LatencyHistogram(.precise)
        var copyRates: [Double] = []
        copyRates.reserveCapacity(options.frames)
        var uploadedBytes = 0
        let clock = try EventClock(context: context, stream: computeStream)

        /// Reads a slot's finished upload: its latency (ready on the host → input complete on the GPU) and copy rate.
        func finalize(_ slot: Int) throws {
            guard pending[slot] else { return }
            pending[slot] = false
            try slots[slot].ready.synchronize()
            guard measured[slot] else { return }
            latencies.record(milliseconds: (try clock.hostTime(of: slots[slot].ready) - readyTimes[slot]) * 1000)
            if copies {
                let ms = try slots[slot].copyEnds[0].milliseconds(since: slots[slot].copyStarts[0])
                copyRates.append(Double(mode == .pinnedRaw ? frameBytes : tensorBytes) / (ms * 1e6))
            }
        }

        var start = 0.0
        var cpuStart = 0.0
        var cudaStart = 0
        var allocationsStart: AllocationCount? = nil
        var frames = UniqueArray<Frame>(minimumCapacity: 1)
        for i in 0..<(options.warmup + options.frames) {
            if i == options.warmup {
                try copyStream.synchronize()
                try computeStream.synchronize()
                AllocationCount.attributeNVIDIALibraries()
                start = Measurement.now()
                cpuStart = Measurement.processCPUSeconds()
                cudaStart = Measurement.cudaAllocations()
                allocationsStart = AllocationCount.now()
                uploadedBytes = 0
            }
            let slot = i % depth
            try finalize(slot)
            guard let lease = try pool.acquire() else { preconditionFailure("a waiting pool returns a buffer") }
            var frame = Frame(info: FrameInfo(stream: 0), lease: lease)
            frame.reshape(width: res.width, height: res.height, format: .bgr)
            frame.info.index = i
            frames.append(frame)
            readyTimes[slot] = Measurement.now()
            let target = UploadTarget(
                tensor: tensors.pointer(offset: slot * tensorBytes), element: .float32, layout: .nchw,
                width: options.tensorSize, height: options.tensorSize)
            uploadedBytes += try uploader.upload(&frames, geometries: [geometry], into: target, slot: slots[slot])
            pending[slot] = true
            measured[slot] = i >= options.warmup
        }
        try copyStream.synchronize()
        try computeStream.synchronize()
        let elapsed = Measurement.now() - start
        let cpuSeconds = Measurement.processCPUSeconds() - cpuStart
        let allocations = allocationsStart.flatMap { first in
            AllocationCount.now().map { first.report(until: $0, frames: options.frames) }
        }
        let cudaAllocations = Measurement.cudaAllocations() - cudaStart
        for slot in 0..<depth { try finalize(slot) }
        let n = Double(options.frames)
        let rates = copyRates.sorted()
        var bytesPerFrame = uploadedBytes / options.frames
        var notes = uploader.notes
        switch mode {
        case .mapped:
            // Nothing is copied: the letterbox reads the frame in place (its bytes are an upper bound of the reads).
            bytesPerFrame = frameBytes
            notes +=
                "; the GPU letterbox reads the frame in mapped host memory (bytes: the whole frame, an upper bound)"
        case .managed where uploader.prefetches:
            bytesPerFrame *= 2
            notes += "; prefetched to the GPU and back for the next decode (bytes: both directions)"
        case .managed:
            notes += "; no concurrent managed access: pages migrate on demand"
        default:
            break
        }
        notes += "; depth \(depth)"
        return TransferResult(
            mode: mode.rawValue, resolution: res, frames: options.frames, fps: n / elapsed, p50: latencies.p50,
            p99: latencies.p99, bytesPerFrame: bytesPerFrame, cpuMsPerFrame: cpuSeconds * 1000 / n,
            allocations: allocations, cudaAllocationsPerFrame: Double(cudaAllocations) / n,
            copyGBps: rates.isEmpty ? nil : rates[rates.count / 2],
            copyGBpsRange: rates.isEmpty ? nil : (rates[rates.count / 10], rates[rates.count * 9 / 10]), notes: notes)
    }

    /// Peak host → device bandwidth in GB/s from pinned and from pageable memory (64 MiB copies, best of 10), and
    /// from registered transparent huge pages (with the bytes of them the kernel granted).
    package func peakBandwidth() throws -> (pinned: Double, pageable: Double, hugePages: Double, hugePageBytes: Int?) {
        let bytes = 64 << 20
        let device = try DeviceBuffer(context: context, byteCount: bytes)
        let pinned = try HostBuffer.pinned(byteCount: bytes, context: context)
        let pageable = HostBuffer.pageable(byteCount: bytes)
        let before = HostBuffer.processHugePageBytes()
        let huge = try HostBuffer.registered(byteCount: bytes, context: context, hugePages: true)
        let granted = HostBuffer.processHugePageBytes().flatMap { after in before.map { after - $0 } }
        _ = pinned.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        _ = pageable.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        _ = huge.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 1) }
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
}
