import CLookoutHostMemory
import LookoutCUDA
import LookoutCore
import LookoutMedia
import LookoutPipeline
import LookoutYOLO

/// Why the `pinned` mode's copies run slower than the pinned peak: the same 4.9 MB pinned → device copy timed
/// with events while the CPU does different things. If the copy is slow only while the CPU moves memory, the
/// cause is contention for host memory (or the IOMMU's page walks it slows), not Lookout's copy.
package struct CopyProbeResult: Sendable {
    /// What the CPU did during the copy.
    package var condition: String
    /// The staging memory copied from.
    package var staging: PinnedStaging
    /// Median GB/s over the copy's own duration (events), and the 10th/90th percentiles.
    package var gbps: Double
    package var p10: Double
    package var p90: Double
}

/// Distinct synthetic frames as a decoder would leave them, in ordinary memory, and the letterbox of one of them
/// into a tensor: the CPU work the probes overlap with copies.
final class SourceRing {
    let frames: HostBuffer
    let count: Int
    let width: Int
    let height: Int
    let geometry: LetterboxGeometry
    let cpu: ParallelLetterbox

    init(options: TransferBenchOptions) {
        let (width, height) = (options.resolution.width, options.resolution.height)
        self.width = width
        self.height = height
        count = options.ring
        let frames = HostBuffer.pageable(byteCount: count * width * height * 3)
        frames.withUnsafeMutableBytes { all in
            for index in 0..<options.ring {
                let frame = UnsafeMutableRawBufferPointer(rebasing: all[(index * width * height * 3)...])
                SyntheticFrames.fill(frame, width: width, height: height, pitch: width * 3, index: index)
            }
        }
        self.frames = frames
        geometry = LetterboxGeometry(
            sourceWidth: width, sourceHeight: height, targetWidth: options.tensorSize, targetHeight: options.tensorSize)
        cpu = ParallelLetterbox(threads: options.upload.letterboxThreads ?? WorkerPool.availableCores)
    }

    /// Letterboxes frame `index` (of the ring) into `tensor` with `writes`.
    func letterbox(_ index: Int, into tensor: borrowing HostBuffer, writes: LetterboxWrites) {
        cpu.writes = writes
        frames.withUnsafeBytes { all in
            let pixels = BGRPixels(
                base: all.baseAddress!.assumingMemoryBound(to: UInt8.self) + (index % count) * width * height * 3,
                width: width, height: height, rowBytes: width * 3)
            tensor.withUnsafeMutableBytes {
                cpu.run(pixels, geometry: geometry, into: $0.baseAddress!.assumingMemoryBound(to: Float.self))
            }
        }
    }
}

/// The CPU load the size sweep copies under: the pinned mode's letterbox (non-temporal stores into pinned memory),
/// one source frame after another.
final class LetterboxLoad {
    let ring: SourceRing
    let output: HostBuffer
    var frame = 0

    init(bench: TransferBench) throws {
        ring = SourceRing(options: bench.options)
        output = try HostBuffer.pinned(byteCount: bench.tensorBytes, context: bench.context)
    }

    func next() {
        ring.letterbox(frame, into: output, writes: .streamed)
        frame += 1
    }
}

extension TransferBench {
    /// Holds the copy stream until a device fill of `gate` on the compute stream is done (about 100 µs for
    /// 256 MiB): the start event, the copy and the end event queued after it all reach the GPU before it runs
    /// them, so the time between the events cannot include the host's submission of the copy.
    func closeGate(_ gate: borrowing DeviceBuffer, opened: CUDAEvent) throws {
        try computeStream.fill(gate, byte: 0)
        try opened.record(on: computeStream)
        try copyStream.wait(for: opened)
    }

    /// Spins in registers (no memory traffic) for about 20,000 dependent multiply-adds per task, on every worker.
    static func spin(_ pool: WorkerPool) {
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { sink.deallocate() }
        pool.forEachTask(64) { worker, task in
            var x: Float = 1.0001
            for _ in 0..<20_000 { x = x * 0.999_99 + 0.000_01 }
            sink[task] = x
        }
    }

    /// Streams writes over `buffer` (memory bandwidth, no compute), on every worker.
    static func stream(_ pool: WorkerPool, over buffer: borrowing HostBuffer) {
        buffer.withUnsafeMutableBytes { bytes in
            let chunk = bytes.count / 64
            pool.forEachTask(64) { _, r in
                (bytes.baseAddress! + r * chunk).initializeMemory(
                    as: UInt8.self, repeating: UInt8(r & 255), count: chunk)
            }
        }
    }

    /// Copies one letterboxed tensor from pinned staging while the CPU idles, spins, streams memory or letterboxes
    /// the next frame (what the `pinned` mode overlaps), with the tensor written with ordinary, written-back or
    /// non-temporal stores, for each kind of staging (`PinnedStaging`); two conditions queue the copy behind a gate.
    package func copyProbe(copies: Int = 30) throws -> [CopyProbeResult] {
        let ring = SourceRing(options: options)
        let workers = ring.cpu.pool
        let device = try DeviceBuffer(context: context, byteCount: tensorBytes)
        let start = try CUDAEvent(context: context)
        let end = try CUDAEvent(context: context)
        let streamed = HostBuffer.pageable(byteCount: 64 << 20)
        let gate = try DeviceBuffer(context: context, byteCount: 256 << 20)
        let opened = try CUDAEvent(context: context, timing: false)
        var results: [CopyProbeResult] = []
        for kind in PinnedStaging.allCases {
            let staging = try kind.allocate(byteCount: tensorBytes, context: context)
            let other = try kind.allocate(byteCount: tensorBytes, context: context)
            func letterbox(into buffer: borrowing HostBuffer, frame: Int, writes: LetterboxWrites = .cached) {
                ring.letterbox(frame, into: buffer, writes: writes)
            }
            letterbox(into: staging, frame: 0)
            letterbox(into: other, frame: 1)
            let conditions = [
                "cpu idle", "buffer just written, cpu idle",
                "buffer just written and its cache lines written back, cpu idle",
                "buffer just written with non-temporal stores, cpu idle", "cpu spinning", "cpu streaming 64 MiB",
                "cpu letterboxing with non-temporal stores",
                "buffer just written with non-temporal stores, cpu letterboxing with non-temporal stores",
                "copy queued behind a gate, cpu idle",
                "copy queued behind a gate, cpu letterboxing with non-temporal stores",
            ]
            for condition in conditions {
                var rates: [Double] = []
                for i in 0..<(copies + 3) {
                    switch condition {
                    case "buffer just written, cpu idle": letterbox(into: staging, frame: i)
                    case "buffer just written and its cache lines written back, cpu idle":
                        letterbox(into: staging, frame: i, writes: .writtenBack)
                    case "buffer just written with non-temporal stores, cpu idle",
                        "buffer just written with non-temporal stores, cpu letterboxing with non-temporal stores":
                        letterbox(into: staging, frame: i, writes: .streamed)
                    default: break
                    }
                    if condition.hasPrefix("copy queued behind a gate") { try closeGate(gate, opened: opened) }
                    try start.record(on: copyStream)
                    try copyStream.copy(staging, to: device)
                    try end.record(on: copyStream)
                    switch condition {
                    case "cpu spinning": Self.spin(workers)
                    case "cpu streaming 64 MiB": Self.stream(workers, over: streamed)
                    case "cpu letterboxing with non-temporal stores",
                        "buffer just written with non-temporal stores, cpu letterboxing with non-temporal stores",
                        "copy queued behind a gate, cpu letterboxing with non-temporal stores":
                        letterbox(into: other, frame: i, writes: .streamed)
                    default: break
                    }
                    try end.synchronize()
                    if i >= 3 { rates.append(Double(tensorBytes) / (try end.milliseconds(since: start) * 1e6)) }
                }
                rates.sort()
                results.append(
                    CopyProbeResult(
                        condition: condition, staging: kind, gbps: rates[rates.count / 2],
                        p10: rates[rates.count / 10], p90: rates[rates.count * 9 / 10]))
            }
        }
        return results
    }

    /// Copy rate by size from pinned memory with the CPU idle or letterboxing (median of 12): a copy costs a fixed
    /// setup time plus bytes over the link's rate, so a 6 MB frame cannot reach the rate of the 64 MiB copies that
    /// give the peak. `copyCost` fits the two terms. `gated`: each copy queued behind a gate (`closeGate`).
    package func copySizeSweep(cpuLetterboxing: Bool = false, gated: Bool = false) throws -> [(
        bytes: Int, gbps: Double
    )] {
        let largest = 64 << 20
        let host = try HostBuffer.pinned(byteCount: largest, context: context)
        host.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 7) }
        let device = try DeviceBuffer(context: context, byteCount: largest)
        let start = try CUDAEvent(context: context)
        let end = try CUDAEvent(context: context)
        let load = cpuLetterboxing ? try LetterboxLoad(bench: self) : nil
        let gate = try DeviceBuffer(context: context, byteCount: 256 << 20)
        let opened = try CUDAEvent(context: context, timing: false)
        var results: [(Int, Double)] = []
        for bytes in [1 << 20, 2 << 20, 4 << 20, tensorBytes, frameBytes, 8 << 20, 16 << 20, 32 << 20, 64 << 20] {
            var rates: [Double] = []
            for _ in 0..<12 {
                if gated { try closeGate(gate, opened: opened) }
                try start.record(on: copyStream)
                try copyStream.copy(host, to: device, byteCount: bytes)
                try end.record(on: copyStream)
                while let load, try !end.isComplete() { load.next() }
                try end.synchronize()
                rates.append(Double(bytes) / (try end.milliseconds(since: start) * 1e6))
            }
            rates.sort()
            results.append((bytes, rates[rates.count / 2]))
        }
        return results
    }

    /// Least-squares fit of `seconds = setup + bytes / rate` to a size sweep: the fixed cost of a copy in µs and
    /// the link's rate in GB/s.
    package static func copyCost(_ sweep: [(bytes: Int, gbps: Double)]) -> (setupMicroseconds: Double, gbps: Double)? {
        guard sweep.count >= 2 else { return nil }
        let x = sweep.map { Double($0.bytes) }
        let y = sweep.map { Double($0.bytes) / ($0.gbps * 1e9) }
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n
        let my = y.reduce(0, +) / n
        let sxx = zip(x, x).map { ($0 - mx) * ($1 - mx) }.reduce(0, +)
        let sxy = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        guard sxx > 0, sxy > 0 else { return nil }
        let slope = sxy / sxx
        return ((my - slope * mx) * 1e6, 1 / slope / 1e9)
    }
}
