import CLookoutHostMemory
import Foundation
import LookoutCUDA
import LookoutCUDABackend
import LookoutMedia
import LookoutYOLO

extension TransferBench {
    /// A frame in flight: when it became ready, and whether it is one of the measured frames.
    struct Pending {
        var ready = 0.0
        var measured = false
        var valid = false
    }

    /// Source frames as a decoder would leave them: in ordinary memory, one buffer each.
    func makeSourceRing() -> FramePool<ManualFence> {
        let res = options.resolution
        let pool = FramePool<ManualFence>(
            count: options.ring, makeBuffer: { _ in HostBuffer.pageable(byteCount: res.width * res.height * 3) },
            makeFence: { _ in ManualFence() })
        for index in 0..<options.ring {
            pool.buffers[index].withUnsafeMutableBytes {
                SyntheticFrames.fill($0, width: res.width, height: res.height, pitch: res.width * 3, index: index)
            }
        }
        return pool
    }

    /// `pageable` and `pinned`: CPU letterbox into float32 CHW, then a synchronous copy (pageable) or an
    /// asynchronous one on the copy stream while the CPU starts the next frame (pinned).
    func runCPUMode(pinned: Bool) throws -> TransferResult {
        let res = options.resolution
        let deferred = pinned && options.pinnedDeferredCopy
        let depth = options.depth + (deferred ? 1 : 0)
        let sources = makeSourceRing()
        let cpu = ParallelLetterbox(
            sourceWidth: res.width, sourceHeight: res.height, outputWidth: options.tensorSize,
            outputHeight: options.tensorSize, workers: workers)
        cpu.writes = pinned ? options.pinnedWrites : .cached
        let tensors = try DeviceBuffer(context: context, byteCount: tensorBytes * depth)
        let staging = try FramePool<CUDAEvent>(
            count: depth,
            makeBuffer: { _ in
                pinned
                    ? try self.options.staging.allocate(byteCount: self.tensorBytes, context: self.context)
                    : HostBuffer.pageable(byteCount: self.tensorBytes)
            },
            makeFence: { _ in try CUDAEvent(context: self.context) })
        let copyStarts = try (0..<depth).map { _ in try CUDAEvent(context: context) }
        // More copy streams when the copy is split: part k on stream k, joined back by an event each.
        let parts = pinned ? max(1, options.pinnedCopyParts) : 1
        let partStreams = try (1..<parts).map { _ in try CUDAStream(context: context) }
        let partDone = try (0..<depth).map { _ in try partStreams.map { _ in try CUDAEvent(context: context) } }
        let partBytes = (tensorBytes / parts + 255) / 256 * 256
        // One graph per staging slot: start event, copy into the slot's tensor, the slot's fence.
        let graphs: [CUDAGraph] =
            pinned && options.pinnedGraphCopies
            ? try (0..<depth).map { slot in
                try copyStream.capture { stream in
                    try copyStarts[slot].recordInCapture(on: stream)
                    try stream.copy(staging.buffers[slot], to: tensors, destinationOffset: slot * tensorBytes, byteCount: tensorBytes)
                    try staging.fences[slot].recordInCapture(on: stream)
                }
            } : []
        // The word the copy stream waits on (frame i's copy waits for i + 1), device-visible host memory.
        let gate = try HostBuffer.mapped(byteCount: 4, context: context)
        gate.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        let gateWord = gate.withUnsafeMutableBytes { $0.baseAddress!.assumingMemoryBound(to: UInt32.self) }
        // (Deferred, split and graph copies are submitted after the letterbox.)
        let wantsQueue = pinned && options.pinnedQueuedCopies && !deferred && graphs.isEmpty && parts == 1
        var queueFailure: CUDAError? = nil
        if wantsQueue, let word = gate.devicePointer {
            do {
                // A wait that is already satisfied: whether this driver and GPU take stream memory operations.
                try copyStream.wait(untilWordAt: word, reaches: 0)
                try copyStream.synchronize()
            } catch { queueFailure = error }
        }
        let queued = wantsQueue && gate.devicePointer != nil && queueFailure == nil
        let frameCount = options.warmup + options.frames
        // Whatever happens, leave no wait unsatisfied: the stream must drain.
        defer { if queued { lookout_publish_u32(gateWord, UInt32(frameCount + 1)) } }
        var pending = [Pending](repeating: Pending(), count: depth)
        var readyTimes = [Double](repeating: 0, count: depth)
        var recorder = Recorder(capacity: options.frames)
        var ledger = AllocationLedger()
        let clock = try EventClock(context: context, stream: copyStream)

        func finalize(_ slot: Int) throws {
            guard pending[slot].valid else { return }
            pending[slot].valid = false
            guard pending[slot].measured else { return }
            let fence = staging.fences[slot]
            let done = try ledger.driver(.eventTiming) { () throws -> Double in try clock.hostTime(of: fence) }
            recorder.latencies.append(done - pending[slot].ready)
            let ms = try ledger.driver(.eventTiming) { () throws -> Double in try fence.milliseconds(since: copyStarts[slot]) }
            recorder.copyRates.append(Double(tensorBytes) / (ms * 1e6))
        }

        /// Queues the copy of a staging slot's tensor between its two events.
        func queueCopy(_ lease: borrowing FrameLease<CUDAEvent>) throws {
            let slot = lease.slot
            if !graphs.isEmpty {
                try ledger.driver(.graphLaunch) { () throws(CUDAError) in try graphs[slot].launch(on: copyStream) }
                return
            }
            try ledger.driver(.eventRecord) { () throws(CUDAError) in try copyStarts[slot].record(on: copyStream) }
            try ledger.driver(.copy) { () throws(CUDAError) in
                try lease.withBuffer { buffer throws(CUDAError) in
                    guard parts > 1 else {
                        try copyStream.copy(buffer, to: tensors, destinationOffset: slot * tensorBytes, byteCount: tensorBytes)
                        return
                    }
                    for k in 0..<parts {
                        let offset = k * partBytes
                        let count = min(partBytes, tensorBytes - offset)
                        guard count > 0 else { continue }
                        let stream = k == 0 ? copyStream : partStreams[k - 1]
                        if k > 0 { try stream.wait(for: copyStarts[slot]) }
                        try stream.copy(
                            buffer, sourceOffset: offset, to: tensors, destinationOffset: slot * tensorBytes + offset, byteCount: count)
                        if k > 0 {
                            try partDone[slot][k - 1].record(on: stream)
                            try copyStream.wait(for: partDone[slot][k - 1])
                        }
                    }
                }
            }
            try ledger.driver(.eventRecord) { () throws(CUDAError) in try lease.fence.record(on: copyStream) }
        }

        /// Queues the copy of a letterboxed tensor and hands its staging buffer back to the pool.
        func upload(_ lease: consuming FrameLease<CUDAEvent>, measured: Bool) throws {
            let slot = lease.slot
            try queueCopy(lease)
            if pinned {
                pending[slot] = Pending(ready: readyTimes[slot], measured: measured, valid: true)
            } else {
                // The seed's baseline: wait for the tensor before the next frame (what `.cuda()` does).
                try ledger.driver(.synchronize) { () throws(CUDAError) in try copyStream.synchronize() }
                if measured {
                    recorder.latencies.append(Measurement.now() - readyTimes[slot])
                    let ms = try ledger.driver(.eventTiming) { () throws -> Double in
                        try lease.fence.milliseconds(since: copyStarts[slot])
                    }
                    recorder.copyRates.append(Double(tensorBytes) / (ms * 1e6))
                }
            }
            lease.submit()
        }

        var held: FrameLease<CUDAEvent>? = nil
        var heldMeasured = false
        var start = 0.0, cpuStart = 0.0, cudaStart = 0
        for i in 0..<(options.warmup + options.frames) {
            if i == options.warmup {
                try copyStream.synchronize()
                start = Measurement.now()
                cpuStart = Measurement.processCPUSeconds()
                cudaStart = Measurement.cudaAllocations()
                ledger.start(workers: workers)
            }
            guard let source = try sources.acquire() else { preconditionFailure("source ring exhausted") }
            let ready = Measurement.now()
            guard let lease = try ledger.driver(.acquire, { () throws -> FrameLease<CUDAEvent>? in try staging.acquire() })
            else { preconditionFailure("staging pool exhausted") }
            let slot = lease.slot
            try finalize(slot)
            readyTimes[slot] = ready
            let gateValue = UInt32(i + 1)
            if queued {
                try ledger.driver(.streamWait) { () throws(CUDAError) in
                    try copyStream.wait(untilWordAt: gate.devicePointer!, reaches: gateValue)
                }
                try queueCopy(lease)
            }
            source.withUnsafeMutableBytes { src in
                lease.withUnsafeMutableBytes { cpu.run(frame: UnsafeRawBufferPointer(src), into: $0) }
            }
            if queued {
                // The tensor is written (each worker fenced its stores): release the queued copy.
                lookout_publish_u32(gateWord, gateValue)
                pending[slot] = Pending(ready: ready, measured: i >= options.warmup, valid: true)
                lease.submit()
            } else if deferred {
                // Upload the previous frame's tensor now that this frame has been letterboxed.
                if let previous = held.take() { try upload(previous, measured: heldMeasured) }
                held = consume lease
                heldMeasured = i >= options.warmup
            } else {
                try upload(lease, measured: i >= options.warmup)
            }
            _ = consume source
        }
        if let previous = held.take() { try upload(previous, measured: heldMeasured) }
        try ledger.driver(.synchronize) { () throws(CUDAError) in try copyStream.synchronize() }
        let elapsed = Measurement.now() - start
        let cpuSeconds = Measurement.processCPUSeconds() - cpuStart
        let allocations = ledger.finish(frames: options.frames, workers: workers)
        let cudaAllocations = Measurement.cudaAllocations() - cudaStart
        for slot in 0..<depth { try finalize(slot) }
        var variant = ""
        switch cpu.writes {
        case .cached: break
        case .writtenBack:
            variant += ", cache lines written back after the letterbox (\(lookout_cache_flush_kind() == 2 ? "CLFLUSHOPT" : "CLFLUSH"))"
        case .streamed:
            variant += lookout_stream_store_available() == 1
                ? ", tensor written with non-temporal stores (\(cpu.bandRows)-row bands)" : ", tensor copied out of bands (no non-temporal stores here)"
        }
        if deferred { variant += ", copy deferred by one frame (\(depth) staging buffers)" }
        if parts > 1 { variant += ", each copy in \(parts) parts on \(parts) copy streams" }
        if !graphs.isEmpty { variant += ", copy and its events replayed from a CUDA graph per slot" }
        if queued { variant += ", copy queued before the letterbox behind a wait on a host word, released by one store" }
        if let queueFailure { variant += ", copy queued after the letterbox (stream memory operations unavailable: \(queueFailure))" }
        return finish(
            mode: pinned ? .pinned : .pageable, recorder: recorder, elapsed: elapsed, cpu: cpuSeconds,
            allocations: allocations, cudaAllocations: cudaAllocations, bytesPerFrame: tensorBytes,
            notes: "CPU letterbox (LookoutYOLO) on \(workers.threadCount) threads, float32 NCHW \(tensorBytes) B; "
                + (pinned
                    ? "async copy overlapped, depth \(options.depth), \(options.staging.rawValue) staging\(variant)"
                    : "copy then stream sync"))
    }

    /// `pinned-raw`, `mapped`, `managed`: the raw uint8 frame reaches the GPU, which letterboxes it.
    func runRawMode(_ mode: TransferMode) throws -> TransferResult {
        let res = options.resolution
        let depth = options.depth
        let kind: HostMemoryKind = mode == .pinnedRaw ? .pinned : (mode == .mapped ? .mapped : .managed)
        let prefetch = mode == .managed && context.device.concurrentManagedAccess
        let frames = try FramePool<CUDAEvent>(
            count: options.ring,
            makeBuffer: { _ in try HostBuffer(kind: kind, byteCount: self.frameBytes, context: self.context) },
            makeFence: { _ in try CUDAEvent(context: self.context, timing: false) })
        for index in 0..<options.ring {
            frames.buffers[index].withUnsafeMutableBytes {
                SyntheticFrames.fill($0, width: res.width, height: res.height, pitch: res.width * 3, index: index)
            }
        }
        let raw = mode == .pinnedRaw ? try DeviceBuffer(context: context, byteCount: frameBytes * depth) : nil
        let tensors = try DeviceBuffer(context: context, byteCount: tensorBytes * depth)
        let copyStarts = try (0..<depth).map { _ in try CUDAEvent(context: context) }
        let copyDone = try (0..<depth).map { _ in try CUDAEvent(context: context) }
        let tensorReady = try (0..<depth).map { _ in try CUDAEvent(context: context) }
        var pending = [Pending](repeating: Pending(), count: depth)
        var recorder = Recorder(capacity: options.frames)
        var ledger = AllocationLedger()
        let clock = try EventClock(context: context, stream: computeStream)
        let geometry = LetterboxGeometryCache(width: res.width, height: res.height, size: options.tensorSize)

        func finalize(_ slot: Int) throws {
            guard pending[slot].valid else { return }
            pending[slot].valid = false
            try ledger.driver(.synchronize) { () throws(CUDAError) in try tensorReady[slot].synchronize() }
            guard pending[slot].measured else { return }
            let done = try ledger.driver(.eventTiming) { () throws -> Double in try clock.hostTime(of: tensorReady[slot]) }
            recorder.latencies.append(done - pending[slot].ready)
            if mode == .pinnedRaw {
                let ms = try ledger.driver(.eventTiming) { () throws -> Double in
                    try copyDone[slot].milliseconds(since: copyStarts[slot])
                }
                recorder.copyRates.append(Double(frameBytes) / (ms * 1e6))
            }
        }

        var start = 0.0, cpuStart = 0.0, cudaStart = 0
        for i in 0..<(options.warmup + options.frames) {
            if i == options.warmup {
                try context.synchronize()
                start = Measurement.now()
                cpuStart = Measurement.processCPUSeconds()
                cudaStart = Measurement.cudaAllocations()
                ledger.start(workers: nil)
            }
            let slot = i % depth
            try finalize(slot)  // at most `depth` frames in flight
            guard let lease = try ledger.driver(.acquire, { () throws -> FrameLease<CUDAEvent>? in try frames.acquire() })
            else { preconditionFailure("frame pool exhausted") }
            let ready = Measurement.now()
            let tensorSlot = TensorSlot(
                tensor: tensors.pointer(), batchIndex: slot, width: options.tensorSize, height: options.tensorSize)
            switch mode {
            case .pinnedRaw:
                let staging = raw!.pointer(offset: slot * frameBytes)
                try ledger.driver(.eventRecord) { () throws(CUDAError) in try copyStarts[slot].record(on: copyStream) }
                try ledger.driver(.copy) { () throws(CUDAError) in
                    try lease.withBuffer { buffer throws(CUDAError) in
                        try copyStream.copy(buffer, to: raw!, destinationOffset: slot * frameBytes, byteCount: frameBytes)
                    }
                }
                try ledger.driver(.eventRecord) { () throws(CUDAError) in
                    try copyDone[slot].record(on: copyStream)
                    try lease.fence.record(on: copyStream)  // the host frame is free once copied
                }
                try ledger.driver(.streamWait) { () throws(CUDAError) in try computeStream.wait(for: copyDone[slot]) }
                try ledger.driver(.launch) { () throws(CUDAError) in
                    try letterbox.launch(
                        frame: DeviceFrame(pointer: staging, format: .bgr, width: res.width, height: res.height),
                        geometry: geometry.geometry, into: tensorSlot, on: computeStream)
                }
                try ledger.driver(.eventRecord) { () throws(CUDAError) in try tensorReady[slot].record(on: computeStream) }
            case .mapped, .managed:
                let pointer = lease.withBuffer { $0.devicePointer! }
                if prefetch {
                    try ledger.driver(.prefetch) { () throws(CUDAError) in
                        try lease.withBuffer { buffer throws(CUDAError) in try computeStream.prefetch(buffer, toDevice: true) }
                    }
                }
                try ledger.driver(.launch) { () throws(CUDAError) in
                    try letterbox.launch(
                        frame: DeviceFrame(pointer: pointer, format: .bgr, width: res.width, height: res.height),
                        geometry: geometry.geometry, into: tensorSlot, on: computeStream)
                }
                try ledger.driver(.eventRecord) { () throws(CUDAError) in try tensorReady[slot].record(on: computeStream) }
                // The next decode into this buffer happens on the host: send its pages back first.
                if prefetch {
                    try ledger.driver(.prefetch) { () throws(CUDAError) in
                        try lease.withBuffer { buffer throws(CUDAError) in try computeStream.prefetch(buffer, toDevice: false) }
                    }
                }
                try ledger.driver(.eventRecord) { () throws(CUDAError) in try lease.fence.record(on: computeStream) }
            case .pageable, .pinned:
                preconditionFailure("CPU modes run in runCPUMode")
            }
            pending[slot] = Pending(ready: ready, measured: i >= options.warmup, valid: true)
            lease.submit()
        }
        try ledger.driver(.synchronize) { () throws(CUDAError) in try context.synchronize() }
        let elapsed = Measurement.now() - start
        let cpuSeconds = Measurement.processCPUSeconds() - cpuStart
        let allocations = ledger.finish(frames: options.frames, workers: nil)
        let cudaAllocations = Measurement.cudaAllocations() - cudaStart
        for slot in 0..<depth { try finalize(slot) }
        let notes: String
        switch mode {
        case .pinnedRaw: notes = "raw BGR upload on the copy stream, GPU letterbox on the compute stream, depth \(depth)"
        case .mapped: notes = "GPU letterbox reads the frame in mapped host memory (bytes: the whole frame, an upper bound)"
        default:
            notes = prefetch
                ? "prefetch to GPU, GPU letterbox, prefetch back to host for the next decode (bytes: both directions)"
                : "no concurrent managed access: pages migrate on demand"
        }
        return finish(
            mode: mode, recorder: recorder, elapsed: elapsed, cpu: cpuSeconds, allocations: allocations,
            cudaAllocations: cudaAllocations, bytesPerFrame: mode == .managed && prefetch ? 2 * frameBytes : frameBytes,
            notes: notes)
    }
}

/// The predict letterbox geometry of one frame size, made once (it is a value; this only names it).
struct LetterboxGeometryCache {
    let geometry: LetterboxGeometry
    init(width: Int, height: Int, size: Int) {
        geometry = LetterboxGeometry(sourceWidth: width, sourceHeight: height, targetWidth: size, targetHeight: size)
    }
}
