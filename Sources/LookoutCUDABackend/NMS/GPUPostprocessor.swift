import CLookoutCUDA
import LookoutCUDA
import LookoutYOLO

/// Where a batch image's boxes go back to: the original image size and Ultralytics' `ratio_pad`.
package struct BoxScalingTarget: Sendable {
    package var ratioPad: RatioPad
    package var originalWidth: Int
    package var originalHeight: Int

    package init(ratioPad: RatioPad, originalWidth: Int, originalHeight: Int) {
        self.ratioPad = ratioPad
        self.originalWidth = originalWidth
        self.originalHeight = originalHeight
    }
}

/// GPU postprocessing of a batch of YOLO outputs: Ultralytics' `non_max_suppression` (single- or multi-label,
/// class filter, class offsets, `max_nms`, `max_det`) and `scale_boxes`, one thread block per image; only the kept
/// boxes come back, into pinned memory. Scratch is allocated once for `maxBatch` images.
package final class GPUPostprocessor: @unchecked Sendable {
    package let context: CUDAContext
    package let module: CUDAModule
    let function: CUDAFunction
    let endToEndFunction: CUDAFunction
    /// The output is an end-to-end head's (`[batch, rows, 6]`): `enqueue` selects, it does not suppress.
    package let endToEnd: Bool
    package let maxBatch: Int
    package let classes: Int
    package let maxDetections: Int
    /// Candidates per image the scratch holds (a power of two ≥ `max_nms`); more send the image to the CPU.
    package static let capacity = 32768
    let keys: DeviceBuffer
    let boxes: DeviceBuffer
    let suppressed: DeviceBuffer
    let results: DeviceBuffer
    let scaling: DeviceBuffer
    let mask: DeviceBuffer
    let hostResults: HostBuffer
    let hostScaling: HostBuffer
    let hostMask: HostBuffer
    private var pendingBatch = 0

    /// `endToEnd`: the model's output is an end-to-end head's `[batch, rows, 6]` (score filter and `max_det`, no NMS).
    package init(
        context: CUDAContext, compiler: KernelCompiler, maxBatch: Int, classes: Int, maxDetections: Int = 300,
        endToEnd: Bool = false
    ) throws {
        guard maxDetections <= NMSKernelSource.maxDetectionsLimit else {
            throw GPUBackendError(
                .unsupported,
                "max_det \(maxDetections) is above the GPU NMS limit of \(NMSKernelSource.maxDetectionsLimit)")
        }
        self.context = context
        (module, _) = try compiler.module(source: NMSKernelSource.source, name: "lookout_nms")
        function = try module.function("lookout_nms")
        endToEndFunction = try module.function("lookout_end_to_end")
        self.endToEnd = endToEnd
        self.maxBatch = maxBatch
        self.classes = classes
        self.maxDetections = maxDetections
        let cap = Self.capacity
        keys = try DeviceBuffer(context: context, byteCount: maxBatch * cap * 8)
        boxes = try DeviceBuffer(context: context, byteCount: maxBatch * cap * 5 * 4)
        suppressed = try DeviceBuffer(context: context, byteCount: maxBatch * cap)
        results = try DeviceBuffer(context: context, byteCount: maxBatch * Self.recordWords(maxDetections) * 4)
        scaling = try DeviceBuffer(context: context, byteCount: maxBatch * 6 * 4)
        mask = try DeviceBuffer(context: context, byteCount: max(classes, 1))
        hostResults = try HostBuffer.pinned(byteCount: maxBatch * Self.recordWords(maxDetections) * 4, context: context)
        hostScaling = try HostBuffer.pinned(byteCount: maxBatch * 6 * 4, context: context)
        hostMask = try HostBuffer.pinned(byteCount: max(classes, 1), context: context)
    }

    static func recordWords(_ maxDetections: Int) -> Int { 1 + 6 * maxDetections }

    /// Queues NMS over `batch` images of `output` and the copy of the kept boxes to pinned memory. With `targets`,
    /// boxes are scaled to each original image (predict); without, they stay in input pixels (val).
    package func enqueue(
        output: OutputTensor, batch: Int, options: NMSOptions, targets: [BoxScalingTarget]? = nil, on stream: CUDAStream
    ) throws {
        precondition(
            batch <= maxBatch && output.shape.count == 3
                && (endToEnd ? output.shape[2] == 6 : output.shape[1] == 4 + classes))
        guard options.maxDetections <= maxDetections else {
            throw GPUBackendError(
                .unsupported, "max_det \(options.maxDetections) is above this postprocessor's \(maxDetections)")
        }
        if let targets {
            precondition(targets.count >= batch)
            hostScaling.withUnsafeMutableBytes { raw in
                let f = raw.bindMemory(to: Float.self)
                for (i, t) in targets.prefix(batch).enumerated() {
                    f[i * 6] = Float(t.ratioPad.padX)
                    f[i * 6 + 1] = Float(t.ratioPad.padY)
                    f[i * 6 + 2] = Float(t.ratioPad.gainX)
                    f[i * 6 + 3] = Float(t.ratioPad.gainY)
                    f[i * 6 + 4] = Float(t.originalWidth)
                    f[i * 6 + 5] = Float(t.originalHeight)
                }
            }
            try stream.copy(hostScaling, to: scaling, byteCount: batch * 24)
        }
        if let keep = options.classes {
            hostMask.withUnsafeMutableBytes { raw in
                for c in 0..<classes { raw[c] = keep.contains(c) ? 1 : 0 }
            }
            try stream.copy(hostMask, to: mask, byteCount: classes)
        }
        let p = LookoutNMSParams(
            output: output.address, keys: keys.pointer().address, boxes: boxes.pointer().address,
            suppressed: suppressed.pointer().address, classMask: options.classes == nil ? 0 : mask.pointer().address,
            scaling: targets == nil ? 0 : scaling.pointer().address, results: results.pointer().address,
            osN: Int64(output.strides[0]), osC: Int64(output.strides[1]), osA: Int64(output.strides[2]),
            iouThreshold: options.iouThreshold, confidence: Float(options.confidenceThreshold),
            classOffset: options.agnostic ? 0 : options.classOffset, batch: Int32(batch), classes: Int32(classes),
            anchors: Int32(output.shape[2]), multiLabel: options.multiLabel ? 1 : 0,
            maxDetections: Int32(options.maxDetections), maxCandidates: Int32(options.maxCandidates),
            capacity: Int32(Self.capacity), reserved: 0)
        if endToEnd {
            // Rows along axis 1, the six values along axis 2.
            var q = p
            (q.osC, q.osA, q.anchors) = (Int64(output.strides[1]), Int64(output.strides[2]), Int32(output.shape[1]))
            try endToEndFunction.launch(grid: Dim3(batch), block: Dim3(32), on: stream, q)
        } else {
            try function.launch(grid: Dim3(batch), block: Dim3(NMSKernelSource.threads), on: stream, p)
        }
        try stream.copy(results, to: hostResults, byteCount: batch * Self.recordWords(maxDetections) * 4)
        pendingBatch = batch
    }

    /// The kept boxes of each image of the last `enqueue`, once its stream has been synchronised: nil for an image
    /// with more candidates than the scratch holds (run the CPU NMS for it).
    package func detections(image: Int, into detections: inout [Detection]) -> Bool {
        precondition(image < pendingBatch)
        detections.removeAll(keepingCapacity: true)
        return hostResults.withUnsafeBytes { raw in
            let words = Self.recordWords(maxDetections)
            let base = raw.baseAddress! + image * words * 4
            let count = Int(base.load(as: Int32.self))
            guard count >= 0 else { return false }
            // One allocation for the frame's list instead of one per doubling (5 for 9 boxes).
            detections.reserveCapacity(count)
            let f = (base + 4).assumingMemoryBound(to: Float.self)
            for k in 0..<count {
                let r = f + 6 * k
                detections.append(
                    Detection(x1: r[0], y1: r[1], x2: r[2], y2: r[3], confidence: r[4], classIndex: Int(r[5])))
            }
            return true
        }
    }
}
