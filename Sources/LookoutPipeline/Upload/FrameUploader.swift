import BasicContainers
import CLookoutHostMemory
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutYOLO

/// Where an upload's pixels end: the model input on the device, a batch-major tensor.
package struct UploadTarget: Sendable {
    package var tensor: DevicePointer
    package var element: TensorElement
    package var layout: TensorMemoryLayout
    package var width: Int
    package var height: Int
    /// The CPU-letterbox modes copy an fp32 NCHW batch, which this converts into `tensor` (the engine's input
    /// conversion); nil when `tensor` is fp32 NCHW itself and the copies land in it.
    package var conversion: (any InputConversion)?

    package init(
        tensor: DevicePointer, element: TensorElement, layout: TensorMemoryLayout, width: Int, height: Int,
        conversion: (any InputConversion)? = nil
    ) {
        self.tensor = tensor
        self.element = element
        self.layout = layout
        self.width = width
        self.height = height
        self.conversion = conversion
    }
}

/// Turns an fp32 NCHW batch on the device into a model's input (the engine's conversion kernel).
package protocol InputConversion: Sendable {
    func enqueueInputConversion(from staging: DevicePointer, on stream: CUDAStream) throws(CUDAError)
}

extension CUDAModelInstance: InputConversion {}

/// How a batch of pooled frames reaches a model's input on the GPU, in one transfer mode (DESIGN.md): the one
/// implementation that the pipeline's GPU stage runs and `lookout bench transfer` measures.
///
/// | mode | frame pool | the way to the input |
/// | --- | --- | --- |
/// | `pageable` | ordinary, BGR | CPU letterbox into fp32 NCHW staging, synchronous copy (the baseline) |
/// | `pinned` | ordinary, BGR | CPU letterbox into pinned staging, each frame's copy queued behind a host word the CPU sets when the frame is written |
/// | `pinned-raw` | pinned, NV12/BGR | async copy of the raw frames, GPU letterbox |
/// | `mapped` | mapped pinned | the GPU letterbox reads the pool buffer in place over PCIe |
/// | `managed` | unified memory | prefetch to the device, GPU letterbox, pages prefetched back |
/// | `device` | NVDEC surfaces (pinned for CPU-decoded streams) | the GPU letterbox reads the surface in place |
///
/// A frame in a device surface (NVDEC) is read in place in every GPU-letterbox mode: nothing is copied or
/// prefetched for it, and its surface goes back behind the letterbox.
/// Copies run on the copy stream, letterboxes and conversions on the compute stream, which waits for the copies on
/// an event: the CPU never waits (except in `pageable`, whose point is that it does). Each frame's lease ends as
/// soon as its pixels have been read: right after the CPU letterbox, or behind the GPU work that reads it
/// (`FrameLease.release(afterWorkOn:)`). Nothing is allocated per upload once the slots' staging has grown to
/// the largest batch.
package final class FrameUploader: @unchecked Sendable {
    // `gateValue` and the slots' staging are only touched by the thread that uploads (one at a time).
    package let mode: TransferMode
    package let options: UploadOptions
    package let context: CUDAContext
    package let copyStream: CUDAStream
    package let computeStream: CUDAStream
    package let letterbox: GPULetterbox
    package let maxBatch: Int
    /// How the mode ran, for reports: the letterbox threads, the writes, whether copies are queued (and why not).
    package let notes: String
    let cpu: ParallelLetterbox?
    package let prefetches: Bool
    /// `pinned` with queued copies: the word the copy stream waits on, and its last value.
    private let gate: GateWord?
    private var gateValue: UInt32 = 0

    package init(
        mode: TransferMode, options: UploadOptions = UploadOptions(), context: CUDAContext, copyStream: CUDAStream,
        computeStream: CUDAStream, letterbox: GPULetterbox, maxBatch: Int
    ) throws(CUDAError) {
        self.mode = mode
        self.options = options
        self.context = context
        self.copyStream = copyStream
        self.computeStream = computeStream
        self.letterbox = letterbox
        self.maxBatch = max(1, maxBatch)
        prefetches = mode == .managed && context.device.concurrentManagedAccess
        var notes: [String] = []
        if mode.preprocessesOnCPU {
            let writes = mode == .pinned ? options.pinnedWrites : .cached
            let cpu = ParallelLetterbox(threads: options.letterboxThreads ?? WorkerPool.availableCores, writes: writes)
            self.cpu = cpu
            notes.append("CPU letterbox on \(cpu.pool.threadCount) threads, float32 NCHW")
        } else {
            cpu = nil
            notes.append("GPU letterbox from raw frames")
        }
        var gateFailure: String? = nil
        gate =
            mode == .pinned && options.queuedCopies
            ? Self.makeGate(context: context, stream: copyStream, failure: &gateFailure) : nil
        if mode == .pinned {
            notes.append("\(options.pinnedStaging.rawValue) staging, \(options.pinnedWrites.rawValue) writes")
            if options.pinnedWrites == .streamed && lookout_stream_store_available() != 1 {
                notes.append("no non-temporal stores on this CPU: bands copied out with ordinary stores")
            }
            if let gateFailure {
                notes.append(
                    "copies submitted after the letterbox (stream memory operations unavailable: \(gateFailure))")
            } else if options.queuedCopies {
                notes.append("copies queued before the letterbox behind a host word")
            } else {
                notes.append("copies submitted after the letterbox")
            }
        }
        self.notes = notes.joined(separator: "; ")
    }

    /// A word of mapped host memory for the copy stream to wait on, if this driver and GPU take stream memory
    /// operations (a wait that is already satisfied tells); nil with the reason in `failure` otherwise.
    private static func makeGate(context: CUDAContext, stream: CUDAStream, failure: inout String?) -> GateWord? {
        do {
            let word = try GateWord(context: context)
            try stream.wait(untilWordAt: word.devicePointer, reaches: 0)
            try stream.synchronize()
            return word
        } catch {
            failure = "\(error)"
            return nil
        }
    }

    /// The layouts frames may have in this mode's pools: the CPU letterbox reads BGR.
    package var acceptsNV12: Bool { !mode.preprocessesOnCPU }

    /// Frame-pool buffers in the memory this mode reads frames from, with a fence per buffer where the GPU reads
    /// them in place or copies them.
    package func makePool(count: Int, bufferBytes: Int, policy: PoolExhaustionPolicy) throws(CUDAError) -> FramePool {
        let context = self.context
        let kind: HostMemoryKind
        switch mode {
        case .pageable, .pinned: kind = .pageable
        case .pinnedRaw, .device: kind = .pinned
        case .mapped: kind = .mapped
        case .managed: kind = .managed
        }
        return try FramePool(
            count: count, policy: policy,
            makeBuffer: { _ throws(CUDAError) in try HostBuffer(kind: kind, byteCount: bufferBytes, context: context) },
            makeFence: mode.preprocessesOnCPU
                ? nil : { _ throws(CUDAError) in try CUDAEvent(context: context, timing: false) })
    }

    /// The resources of one upload in flight.
    package func makeSlot(index: Int) throws(CUDAError) -> UploadSlot {
        try UploadSlot(index: index, context: context, maxBatch: maxBatch)
    }

    /// Queues the upload of `frames` (each letterboxed by `geometries[i]` into slot `i` of `target`) using `slot`,
    /// and returns the bytes that cross the bus. Unless `keepFrames`, the frames' leases end as soon as their
    /// pixels have been read and `frames` is left empty; kept frames must not be reused before `slot.ready`.
    /// When this returns, the compute stream (and `slot.ready`) will see the complete input.
    package func upload(
        _ frames: inout UniqueArray<Frame>, geometries: [LetterboxGeometry], into target: UploadTarget,
        slot: UploadSlot, keepFrames: Bool = false
    ) throws -> Int {
        precondition(frames.count <= maxBatch && frames.count == geometries.count, "a batch larger than the uploader's")
        switch mode {
        case .pageable, .pinned:
            return try uploadLetterboxedOnCPU(
                &frames, geometries: geometries, into: target, slot: slot, keep: keepFrames)
        case .pinnedRaw, .mapped, .managed, .device:
            return try letterboxOnGPU(&frames, geometries: geometries, into: target, slot: slot, keep: keepFrames)
        }
    }

    // MARK: CPU letterbox

    /// `pageable` and `pinned`: the CPU letterboxes each frame into fp32 NCHW staging, which is copied to the device
    /// (into `target` itself, or into the slot's device staging that the target's conversion reads).
    private func uploadLetterboxedOnCPU(
        _ frames: inout UniqueArray<Frame>, geometries: [LetterboxGeometry], into target: UploadTarget,
        slot: UploadSlot, keep: Bool
    ) throws -> Int {
        let cpu = self.cpu!
        let plane = 3 * target.width * target.height
        let imageBytes = plane * 4
        let count = frames.count
        // A conversion reads the whole engine batch, so the staging holds the largest batch of this input size.
        let capacity = maxBatch * imageBytes
        if (slot.hostTensor?.byteCount ?? 0) < capacity {
            slot.hostTensor = nil
            slot.hostTensor = HostStaging(
                buffer: mode == .pinned
                    ? try options.pinnedStaging.allocate(byteCount: capacity, context: context)
                    : HostBuffer.pageable(byteCount: capacity))
            if target.conversion != nil {
                slot.deviceTensor = nil
                slot.deviceTensor = try DeviceStaging(context: context, byteCount: capacity)
            }
        }
        let host = slot.hostTensor!
        let destination = target.conversion != nil ? slot.deviceTensor!.pointer() : target.tensor
        let queued = mode == .pinned && gate != nil
        let firstValue = gateValue &+ 1
        if queued {
            // Every copy is queued first, each behind the gate value its frame's letterbox will publish: the GPU has
            // fetched the commands when the CPU finishes a frame, and starts its copy at once.
            for i in 0..<count {
                try copyStream.wait(untilWordAt: gate!.devicePointer, reaches: firstValue &+ UInt32(i))
                try queueCopy(slot: slot, frame: i, imageBytes: imageBytes, host: host, destination: destination)
            }
        }
        // Whatever happens, leave no wait unsatisfied: the copy stream must drain.
        defer {
            if queued {
                gateValue = firstValue &+ UInt32(count - 1)
                gate!.publish(gateValue)
            }
        }
        for i in 0..<count {
            host.withFloats { tensor in
                frames[i].withPixels { pixels in cpu.run(pixels, geometry: geometries[i], into: tensor, slot: i) }
            }
            if queued {
                // The frame's tensor is written (each worker fenced its stores): release its queued copy.
                gate!.publish(firstValue &+ UInt32(i))
            } else {
                try queueCopy(slot: slot, frame: i, imageBytes: imageBytes, host: host, destination: destination)
            }
        }
        if !keep { frames.removeAll(keepingCapacity: true) }
        if mode == .pageable {
            // From pageable memory the driver stages the copy and the call returns before the DMA has landed; the
            // baseline waits for it (what `tensor.cuda()` does), on the copy stream only.
            try copyStream.synchronize()
        }
        try slot.uploaded.record(on: copyStream)
        if let conversion = target.conversion {
            try computeStream.wait(for: slot.uploaded)
            try slot.computeStart.record(on: computeStream)
            try conversion.enqueueInputConversion(from: destination, on: computeStream)
            try slot.ready.record(on: computeStream)
        } else {
            try slot.ready.record(on: copyStream)
        }
        return count * imageBytes
    }

    /// One frame's tensor from the host staging to the device, between its two events.
    private func queueCopy(
        slot: UploadSlot, frame i: Int, imageBytes: Int, host: HostStaging, destination: DevicePointer
    ) throws(CUDAError) {
        try slot.copyStarts[i].record(on: copyStream)
        try host.withUnsafeBytes { (raw) throws(CUDAError) in
            try copyStream.copy(
                from: raw.baseAddress! + i * imageBytes, byteCount: imageBytes,
                to: destination.advanced(by: i * imageBytes))
        }
        try slot.copyEnds[i].record(on: copyStream)
    }

    // MARK: GPU letterbox

    /// `pinned-raw`, `mapped`, `managed`, `device`: the raw frames (NV12 or BGR) reach the device — copied on the
    /// copy stream, read in place, or prefetched; decoder surfaces are in place already — and the GPU letterbox
    /// writes each into its slot of the target.
    private func letterboxOnGPU(
        _ frames: inout UniqueArray<Frame>, geometries: [LetterboxGeometry], into target: UploadTarget,
        slot: UploadSlot, keep: Bool
    ) throws -> Int {
        let count = frames.count
        var uploaded = 0
        switch mode {
        case .pinnedRaw, .device:
            var slotBytes = 0
            for i in 0..<count where !frames[i].isDeviceSurface { slotBytes = max(slotBytes, frames[i].info.byteCount) }
            if slot.rawSlotBytes < slotBytes {
                slot.raw = nil
                // Room for the largest frame in every slot; reallocated only when frames grow.
                slot.raw = try DeviceStaging(context: context, byteCount: maxBatch * slotBytes)
                slot.rawSlotBytes = slotBytes
            }
            let raw = slot.raw
            for i in 0..<count where !frames[i].isDeviceSurface {
                let destination = raw!.pointer(offset: i * slot.rawSlotBytes)
                try slot.copyStarts[i].record(on: copyStream)
                try frames[i].withUnsafeBytes { (bytes) throws(CUDAError) in
                    try copyStream.copy(from: bytes.baseAddress!, byteCount: bytes.count, to: destination)
                }
                try slot.copyEnds[i].record(on: copyStream)
                uploaded += frames[i].info.byteCount
            }
            try slot.uploaded.record(on: copyStream)
            try computeStream.wait(for: slot.uploaded)
        case .mapped:
            break
        case .managed:
            for i in 0..<count where !frames[i].isDeviceSurface {
                if prefetches {
                    try copyStream.prefetch(
                        managed: frames[i].devicePointer!, byteCount: frames[i].info.byteCount, toDevice: true)
                }
                uploaded += frames[i].info.byteCount
            }
            try slot.uploaded.record(on: copyStream)
            try computeStream.wait(for: slot.uploaded)
        case .pageable, .pinned:
            preconditionFailure("the CPU-letterbox modes upload in uploadLetterboxedOnCPU")
        }
        try slot.computeStart.record(on: computeStream)
        for i in 0..<count {
            let info = frames[i].info
            let copied = (mode == .pinnedRaw || mode == .device) && !frames[i].isDeviceSurface
            let source: DevicePointer =
                copied ? slot.raw!.pointer(offset: i * slot.rawSlotBytes) : frames[i].devicePointer!
            let device = DeviceFrame(
                pointer: source, format: info.format.pixelFormat, width: info.width, height: info.height,
                pitch: info.rowBytes,
                // NVDEC's surfaces are the picture rounded up to even rows; the pool's NV12 is not.
                uvPointer: info.format == .nv12
                    ? source.advanced(
                        by: info.rowBytes * (frames[i].isDeviceSurface ? (info.height + 1) & ~1 : info.height)) : nil,
                uvPitch: info.format == .nv12 ? info.rowBytes : nil)
            let tensorSlot = TensorSlot(
                tensor: target.tensor, batchIndex: i, width: target.width, height: target.height,
                element: target.element, layout: target.layout, channels: .rgb)
            try letterbox.launch(frame: device, geometry: geometries[i], into: tensorSlot, on: computeStream)
        }
        try slot.ready.record(on: computeStream)
        // Where the pool buffers have been read: after their copies, the letterbox reading them in place, or their
        // pages' way back.
        var readOn = computeStream
        switch mode {
        case .pinnedRaw, .device:
            readOn = copyStream
        case .managed where prefetches:
            // The decoder writes these buffers next, on the host: send the pages back ahead of it, on the copy
            // stream (the compute stream goes on with the engine).
            try slot.letterboxed.record(on: computeStream)
            try copyStream.wait(for: slot.letterboxed)
            for i in 0..<count where !frames[i].isDeviceSurface {
                try copyStream.prefetch(
                    managed: frames[i].devicePointer!, byteCount: frames[i].info.byteCount, toDevice: false)
            }
            readOn = copyStream
        default:
            break
        }
        if !keep {
            while let frame = frames.popLast() {
                // A surface was read by the letterbox alone.
                let stream = frame.isDeviceSurface ? computeStream : readOn
                try frame.release(afterWorkOn: stream)
            }
        }
        return uploaded
    }
}

/// A 32-bit word of mapped host memory that a stream waits on (`CUDAStream.wait(untilWordAt:reaches:)`) and the
/// CPU sets with one release store.
final class GateWord: @unchecked Sendable {
    // The buffer is written only through `publish` (a release store the GPU reads).
    private let buffer: HostBuffer
    let devicePointer: DevicePointer

    init(context: CUDAContext) throws(CUDAError) {
        buffer = try HostBuffer.mapped(byteCount: 4, context: context)
        buffer.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        devicePointer = buffer.devicePointer!
    }

    /// Stores `value` (release order: every store before it is visible first).
    func publish(_ value: UInt32) {
        buffer.withUnsafeMutableBytes {
            lookout_publish_u32($0.baseAddress!.assumingMemoryBound(to: UInt32.self), value)
        }
    }
}
