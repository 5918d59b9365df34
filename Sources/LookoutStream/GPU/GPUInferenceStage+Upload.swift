import Dispatch
import LookoutCUDA
import LookoutCUDABackend
import LookoutYOLO

extension GPUInferenceStage {
    /// `pageable` and `pinned`: the CPU letterboxes every frame into fp32 NCHW staging, which is copied to the
    /// device — synchronously from ordinary memory (`pageable`, the baseline: the inference thread waits for the
    /// copy), or on the copy stream from pinned memory (`pinned`: the compute stream waits on an event, the CPU goes
    /// on). A kernel converts the staging into the engine's fp16 NHWC input. Returns the bytes uploaded.
    func uploadLetterboxedOnCPU(
        _ frames: [PooledFrame], geometries: [LetterboxGeometry], instance: CUDAModelInstance, set: GPUBatchSet
    ) throws -> Int {
        let plane = 3 * geometries[0].outputWidth * geometries[0].outputHeight
        let bytes = frames.count * plane * 4
        // The whole bucket is converted, so the staging holds the largest bucket of this input size.
        let capacity = maxBatch * plane * 4
        if (set.hostTensor?.byteCount ?? 0) < capacity {
            set.hostTensor = nil
            set.hostTensor = try HostStaging(
                kind: mode == .pinned ? .pinned : .pageable, context: context, byteCount: capacity)
            set.deviceTensor = nil
            set.deviceTensor = try DeviceStaging(context: context, byteCount: capacity)
        }
        let host = set.hostTensor!
        let device = set.deviceTensor!
        cpuLetterbox!.run(
            frames, geometries: geometries, into: host.base.assumingMemoryBound(to: Float.self),
            writeBack: mode == .pinned)
        try copyStream.copy(from: host.base, byteCount: bytes, to: device.pointer())
        if mode == .pageable {
            // From pageable memory the driver stages the copy and the call returns before the DMA has landed; the
            // baseline waits for it (what `tensor.cuda()` does), on the copy stream only, so the engine's previous
            // batch is not waited for.
            try copyStream.synchronize()
        }
        try set.uploaded.record(on: copyStream)
        try computeStream.wait(for: set.uploaded)
        try set.start.record(on: computeStream)
        try instance.enqueueInputConversion(from: device.pointer(), on: computeStream)
        return bytes
    }

    /// `pinned-raw`, `mapped`, `managed`: the raw frames (NV12 or BGR) reach the device — copied on the copy stream,
    /// read in place, or prefetched — and the GPU letterbox writes each into its slot of the engine's input.
    /// `consumed` is recorded where the pool buffers have been read. Returns the bytes uploaded.
    func letterboxOnGPU(
        _ frames: [PooledFrame], geometries: [LetterboxGeometry], instance: CUDAModelInstance, set: GPUBatchSet
    ) throws -> Int {
        let input = instance.input
        var sources: [DevicePointer] = []
        sources.reserveCapacity(frames.count)
        var uploaded = 0
        switch mode {
        case .pinnedRaw:
            let slotBytes = frames.map(\.byteCount).max()!
            if set.rawSlotBytes < slotBytes {
                set.raw = nil
                // Room for the largest frame in every slot; reallocated only when frames grow.
                set.raw = try DeviceStaging(context: context, byteCount: maxBatch * slotBytes)
                set.rawSlotBytes = slotBytes
            }
            let raw = set.raw!
            for (i, frame) in frames.enumerated() {
                let destination = raw.pointer(offset: i * set.rawSlotBytes)
                try copyStream.copy(from: frame.address, byteCount: frame.byteCount, to: destination)
                sources.append(destination)
                uploaded += frame.byteCount
            }
            try set.uploaded.record(on: copyStream)
            try set.consumed.record(on: copyStream)
            try computeStream.wait(for: set.uploaded)
        case .mapped:
            for frame in frames { sources.append(frame.devicePointer!) }
        case .managed:
            for frame in frames {
                sources.append(frame.devicePointer!)
                if prefetches {
                    try copyStream.prefetch(managed: frame.devicePointer!, byteCount: frame.byteCount, toDevice: true)
                }
                uploaded += frame.byteCount
            }
            try set.uploaded.record(on: copyStream)
            try computeStream.wait(for: set.uploaded)
        case .pageable, .pinned:
            preconditionFailure("the CPU-letterbox modes upload in uploadLetterboxedOnCPU")
        }
        try set.start.record(on: computeStream)
        let element: TensorElement = input.element == .f16 ? .float16 : .float32
        let layout: TensorMemoryLayout = input.channelsLast ? .nhwc : .nchw
        for (i, frame) in frames.enumerated() {
            let pitch = frame.rowBytes
            let device = DeviceFrame(
                pointer: sources[i], format: frame.format.pixelFormat, width: frame.width, height: frame.height,
                pitch: pitch, uvPointer: frame.format == .nv12 ? sources[i].advanced(by: pitch * frame.height) : nil,
                uvPitch: frame.format == .nv12 ? pitch : nil)
            let slot = TensorSlot(
                tensor: DevicePointer(address: input.address), batchIndex: i, width: geometries[i].outputWidth,
                height: geometries[i].outputHeight, element: element, layout: layout, channels: .rgb)
            try letterbox.launch(frame: device, geometry: geometries[i], into: slot, on: computeStream)
        }
        switch mode {
        case .mapped:
            try set.consumed.record(on: computeStream)
        case .managed:
            try set.letterboxed.record(on: computeStream)
            if prefetches {
                // The decoder writes these buffers next, on the host: send the pages back ahead of it, on the copy
                // stream (the compute stream goes on with the engine).
                try copyStream.wait(for: set.letterboxed)
                for frame in frames {
                    try copyStream.prefetch(managed: frame.devicePointer!, byteCount: frame.byteCount, toDevice: false)
                }
                try set.consumed.record(on: copyStream)
            } else {
                try set.consumed.record(on: computeStream)
            }
        default:
            break
        }
        return uploaded
    }
}
