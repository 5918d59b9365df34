import LookoutCUDA
import LookoutCore
import LookoutMedia
import LookoutPipeline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `lookout bench decode`: decoding alone (no inference), N streams of one file at once, each on its own thread, as
/// fast as they go: on NVDEC (demux + Annex-B filter on the host, decode and the mapping into an NV12 device surface
/// on the GPU) or with FFmpeg's decoders on CPU threads (one decoder thread per stream, into the decoder's own
/// frames: no conversion). Files loop. `demux` reads the packets NVDEC would get and decodes nothing (the host side
/// of the NVDEC path: a local MP4 through the reader's own sample reads), `demux-ffmpeg` the same through FFmpeg's
/// demuxer and bitstream filter; their "frames" are packets. Every row counts the process's heap allocations in the
/// window per frame (when the counting allocator is linked).
package struct DecodeBenchmark: Sendable {
    package enum Decoder: String, Sendable, CaseIterable {
        case nvdec
        case cpu
        case demux
        case demuxFFmpeg = "demux-ffmpeg"
    }

    package var source: String
    package var streams = 1
    package var decoder = Decoder.cpu
    package var seconds = 10.0
    package var warmup = 2.0
    /// The GPU for NVDEC.
    package var ordinal = 0
    package var log: (@Sendable (String) -> Void)?

    package init(source: String) { self.source = source }

    package struct Row: Sendable {
        package var decoder: String
        package var streams: Int
        package var fps: Double
        package var perStreamMinimum: Double
        package var cpuCoresUsed: Double
        /// NVML's decoder utilisation (percent), sampled in the middle of the window and at its end.
        package var nvdecUtilisation: [Int] = []
        package var decodeErrors: Int
        package var frames: Int
        package var seconds: Double
        /// Heap allocations in the window per frame, the NVIDIA libraries' own apart; nil without the counter.
        package var hostAllocationsPerFrame: Double?

        package var json: [(String, JSONValue)] {
            [
                ("system", .string("lookout")), ("decode", .string(decoder)), ("streams", .int(streams)),
                ("fps", JSONValue.rounded(fps, digits: 1)),
                ("fps_per_stream_min", JSONValue.rounded(perStreamMinimum, digits: 1)),
                ("cpu_cores_used", JSONValue.rounded(cpuCoresUsed, digits: 2)),
                ("cpu_ms_per_frame", JSONValue.rounded(cpuCoresUsed * 1000 / max(fps, 1e-9), digits: 3)),
                (
                    "nvdec_utilisation",
                    nvdecUtilisation.isEmpty ? .null : .int(nvdecUtilisation.reduce(0, +) / nvdecUtilisation.count)
                ),
                ("decode_errors", .int(decodeErrors)), ("frames", .int(frames)),
                ("seconds", JSONValue.rounded(seconds, digits: 2)),
                (
                    "host_allocations_per_frame",
                    hostAllocationsPerFrame.map { JSONValue.rounded($0, digits: 3) } ?? .null
                ),
            ]
        }
    }

    /// Per stream: frames decoded since the window opened, and whether the stream is to stop.
    private final class Counters: Sendable {
        let frames: Mutex<[Int]>
        let errors = Atomic<Int>(0)
        let measuring = Atomic<Bool>(false)
        let stop = Atomic<Bool>(false)
        let finished = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)

        init(streams: Int) { frames = Mutex(Array(repeating: 0, count: streams)) }

        func count(_ stream: Int) {
            if measuring.load(ordering: .relaxed) { frames.withLock { $0[stream] += 1 } }
        }
    }

    package func run() throws(LookoutError) -> Row {
        guard Paths.exists(source) else { throw LookoutError(.notFound, "\(source): no such file") }
        var hardware: (nvdec: NVDEC, context: CUDAContext)?
        if decoder == .nvdec {
            let driver: CUDADriver
            switch CUDA.load() {
            case .success(let loaded): driver = loaded
            case .failure(let unavailable):
                throw LookoutError(.deviceUnavailable, "bench decode --decode nvdec: \(unavailable)")
            }
            let nvdec: NVDEC
            switch NVDEC.load() {
            case .success(let loaded): nvdec = loaded
            case .failure(let unavailable):
                throw LookoutError(.deviceUnavailable, "bench decode --decode nvdec: \(unavailable)")
            }
            do {
                hardware = (nvdec, try CUDAContext(driver: driver, ordinal: ordinal))
            } catch {
                throw LookoutError(.deviceFailure, "bench decode: \(error)", cause: error)
            }
        }
        let counters = Counters(streams: streams)
        let source = self.source
        let decoder = self.decoder
        let hardwareDecoding = hardware
        for stream in 0..<streams {
            PlatformThread.spawn(name: "decode-\(stream)") {
                defer { counters.finished.add(1, ordering: .releasing) }
                do {
                    if let hardware = hardwareDecoding {
                        try DecodeBenchmark.decodeOnNVDEC(source, hardware.nvdec, hardware.context, stream, counters)
                    } else if decoder == .cpu {
                        try DecodeBenchmark.decodeOnCPU(source, stream, counters)
                    } else {
                        try DecodeBenchmark.demux(source, direct: decoder == .demux, stream, counters)
                    }
                } catch {
                    counters.failure.withLock { $0 = $0 ?? "\(error)" }
                    counters.stop.store(true, ordering: .relaxed)
                }
            }
        }
        DecodeBenchmark.sleep(warmup)
        if hardware != nil { AllocationCount.attributeNVIDIALibraries() }
        let allocationsStart = AllocationCount.now()
        let cpuStart = ProcessUsage.cpuSeconds
        let start = MonotonicClock.seconds()
        counters.measuring.store(true, ordering: .relaxed)
        var utilisation: [Int] = []
        let nvml: NVML? = hardware != nil ? (try? NVML.load().get()) : nil
        DecodeBenchmark.sleep(seconds / 2)
        if let nvml, let value = try? nvml.utilisation(device: ordinal).decoder { utilisation.append(value) }
        DecodeBenchmark.sleep(seconds / 2)
        if let nvml, let value = try? nvml.utilisation(device: ordinal).decoder { utilisation.append(value) }
        counters.measuring.store(false, ordering: .relaxed)
        let wall = MonotonicClock.seconds() - start
        let cpu = ProcessUsage.cpuSeconds - cpuStart
        let allocationsEnd = AllocationCount.now()
        counters.stop.store(true, ordering: .relaxed)
        while counters.finished.load(ordering: .acquiring) < streams { DecodeBenchmark.sleep(0.01) }
        if let failure = counters.failure.withLock({ $0 }) {
            throw LookoutError(.streamFailure, "\(source): \(failure)")
        }
        let perStream = counters.frames.withLock { $0 }
        let total = perStream.reduce(0, +)
        var row = Row(
            decoder: decoder.rawValue, streams: streams, fps: Double(total) / wall,
            perStreamMinimum: Double(perStream.min() ?? 0) / wall, cpuCoresUsed: cpu / wall,
            decodeErrors: counters.errors.load(ordering: .relaxed), frames: total, seconds: wall)
        row.nvdecUtilisation = utilisation
        if let allocationsStart, let allocationsEnd {
            let report = allocationsStart.report(until: allocationsEnd, frames: max(total, 1))
            row.hostAllocationsPerFrame = Double(report.ours) / Double(max(total, 1))
        }
        return row
    }

    private static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        usleep(UInt32(min(seconds, 4000) * 1e6))
    }

    private static func decodeOnCPU(_ source: String, _ stream: Int, _ counters: Counters) throws {
        var options = VideoInputOptions()
        options.decoderThreads = 1
        let decoder = try VideoDecoder(url: source, options: options)
        while !counters.stop.load(ordering: .relaxed) {
            guard try decoder.next() != nil else {
                try decoder.rewind()
                continue
            }
            counters.count(stream)
        }
        counters.errors.add(decoder.decodeErrors, ordering: .relaxed)
    }

    /// Reads the packets NVDEC would get, decoding nothing: through the reader's own MP4 reads when `direct`, else
    /// through FFmpeg's demuxer and filter.
    private static func demux(_ source: String, direct: Bool, _ stream: Int, _ counters: Counters) throws {
        var options = VideoInputOptions()
        options.readsMP4SamplesDirectly = direct
        let reader = try VideoPacketReader(url: source, options: options)
        var bytes = 0
        while !counters.stop.load(ordering: .relaxed) {
            guard let packet = try reader.next() else {
                try reader.rewind()
                continue
            }
            bytes &+= packet.withUnsafeBytes { Int($0.first ?? 0) &+ $0.count }
            counters.count(stream)
        }
        // Keeps the reads from being optimised away.
        if bytes == -1 { counters.errors.add(1, ordering: .relaxed) }
    }

    private static func decodeOnNVDEC(
        _ source: String, _ nvdec: NVDEC, _ context: CUDAContext, _ stream: Int, _ counters: Counters
    ) throws {
        try context.bind()
        let reader = try VideoPacketReader(url: source)
        guard let codec = NVDECCodec(reader.parameters.codec) else {
            throw LookoutError(.invalidInput, "NVDEC does not decode \(reader.parameters.codec)")
        }
        let decoder = try NVDECDecoder(nvdec: nvdec, context: context, codec: codec, outputSurfaces: 2)
        var flushed = false
        while !counters.stop.load(ordering: .relaxed) {
            if !flushed {
                flushed = try !decoder.decodeNextPacket(from: reader)
            } else {
                try reader.rewind()
                flushed = false
            }
            try decoder.takeDisplayed { picture in
                guard let surface = try decoder.map(picture) else { return }
                do throws(CUDAError) { try decoder.unmap(surface.pointer) } catch { throw NVDECError(.cuda(error)) }
                counters.count(stream)
            }
        }
        counters.errors.add(decoder.decodeErrors, ordering: .relaxed)
    }
}
