import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutYOLO

/// `lookout bench engine --device cuda`: per batch size, the model's CUDA graph replayed with its input already on
/// the device — latency (launch + wait, one batch at a time), throughput (batches back to back), GPU time — then
/// the GPU NMS with the copy of its results to pinned memory, and the activation memory against the plan's peak.
package struct CUDAEngineBenchmark {
    package let detector: Detector
    package var batches = [1, 8, 32, 64]
    package var imageSize: Int?
    package var iterations = 200
    package var warmup = 20
    /// Letterbox these images (cycled) into each batch; nil: a deterministic random input.
    package var images: [BGRImage] = []
    /// Print a per-launch profile at these batch sizes.
    package var profileBatches: Set<Int> = [1, 32]

    package init(detector: Detector) {
        self.detector = detector
    }

    static func now() -> Double { MonotonicClock.seconds() }

    package func run(log: (String) -> Void = { _ in }) throws -> [[(String, JSONValue)]] {
        guard let cuda = detector.cuda else {
            throw LookoutError(
                .invalidArgument, "the CUDA engine benchmark needs a detector on a CUDA `device`", parameter: "device")
        }
        let model = detector.model
        let engine = cuda.engine
        let stream = engine.stream
        let size = imageSize ?? max(model.defaultImageSize.height, model.defaultImageSize.width)
        var rows: [[(String, JSONValue)]] = []
        log("  " + engine.cudnnStatus)
        log("  wgmma kernels: \(engine.kernels.wgmmaStatus)")
        for batch in batches {
            if let fixed = model.fixedBatch, fixed != batch {
                log("skipping batch \(batch): the model has a fixed batch of \(fixed)")
                continue
            }
            let (h, w) = model.isDynamic ? (size, size) : model.defaultImageSize
            let prepareStart = Self.now()
            let instance = try engine.instance(shape: [batch, 3, h, w])
            let prepareSeconds = Self.now() - prepareStart
            for line in engine.log.suffix(2) { log("  " + line) }
            // The input, once: letterboxed images (CPU letterbox, uploaded) or random values.
            var writer = LetterboxTensorWriter()
            try instance.upload { buffer in
                if images.isEmpty {
                    var state: UInt32 = 12345
                    for i in 0..<buffer.count {
                        state = state &* 1_664_525 &+ 1_013_904_223
                        buffer[i] = Float(state >> 8) / Float(1 << 24)
                    }
                    return
                }
                for slot in 0..<batch {
                    let image = images[slot % images.count]
                    let geometry = LetterboxGeometry(
                        sourceWidth: image.width, sourceHeight: image.height, targetWidth: w, targetHeight: h)
                    image.withPixels { writer.write($0, geometry: geometry, into: buffer.baseAddress!, slot: slot) }
                }
            }
            try stream.synchronize()
            for _ in 0..<warmup { try instance.enqueue() }
            try stream.synchronize()
            // Latency: one batch at a time, launch to completion.
            var stats = LatencyHistogram(.precise)
            for _ in 0..<iterations {
                let t0 = Self.now()
                try instance.enqueue()
                try stream.synchronize()
                stats.record(milliseconds: (Self.now() - t0) * 1000)
            }
            // Throughput: batches back to back.
            let t0 = Self.now()
            for _ in 0..<iterations { try instance.enqueue() }
            try stream.synchronize()
            let throughput = Double(batch * iterations) / (Self.now() - t0)
            // GPU time of one replay.
            let start = try CUDAEvent(context: engine.context)
            let end = try CUDAEvent(context: engine.context)
            var gpuStats = LatencyHistogram(.precise)
            for _ in 0..<20 {
                try start.record(on: stream)
                try instance.enqueue()
                try end.record(on: stream)
                try end.synchronize()
                gpuStats.record(milliseconds: try end.milliseconds(since: start))
            }
            // Postprocessing: NMS (predict settings) and the copy of the kept boxes to pinned memory.
            let post = try GPUPostprocessor(
                context: engine.context, compiler: cuda.compiler, maxBatch: batch, classes: model.classCount,
                endToEnd: model.head != .anchors)
            var nms = LatencyHistogram(.precise)
            var nmsWallStats = LatencyHistogram(.precise)
            for _ in 0..<30 {
                let w0 = Self.now()
                try start.record(on: stream)
                try post.enqueue(output: instance.output, batch: batch, options: .predict, on: stream)
                try end.record(on: stream)
                try end.synchronize()
                nmsWallStats.record(milliseconds: (Self.now() - w0) * 1000)
                nms.record(milliseconds: try end.milliseconds(since: start))
            }
            var found: [Detection] = []
            var kept = 0
            for i in 0..<batch where post.detections(image: i, into: &found) { kept += found.count }
            let row: [(String, JSONValue)] = [
                ("backend", .string("lookout-cuda")), ("precision", .string(engine.options.precision.rawValue)),
                ("batch", .int(batch)), ("throughput", JSONValue.rounded(throughput, digits: 1)),
                ("p50_ms", JSONValue.rounded(stats.p50, digits: 4)),
                ("p99_ms", JSONValue.rounded(stats.p99, digits: 4)),
                ("mean_ms", JSONValue.rounded(stats.mean, digits: 4)),
                ("gpu_ms", JSONValue.rounded(gpuStats.p50, digits: 4)),
                ("nms_ms", JSONValue.rounded(nms.p50, digits: 4)),
                ("nms_ms_per_image", JSONValue.rounded(nms.p50 / Double(batch), digits: 5)),
                ("nms_wall_ms", JSONValue.rounded(nmsWallStats.p50, digits: 4)),
                ("nms_wall_ms_per_image", JSONValue.rounded(nmsWallStats.p50 / Double(batch), digits: 5)),
                ("detections", .int(kept)), ("activation_bytes", .int(instance.activationBytes)),
                ("plan_peak_bytes", .int(instance.planPeakBytes)),
                (
                    "activation_vs_plan",
                    JSONValue.rounded(Double(instance.activationBytes) / Double(instance.planPeakBytes), digits: 3)
                ),
                ("launches", .int(instance.launchNames.count)),
                ("prepare_s", JSONValue.rounded(prepareSeconds, digits: 2)),
                ("input", .string(images.isEmpty ? "random" : "\(images.count) images letterboxed")),
                ("cudnn", engine.cudnnVersion.map { .string($0) } ?? .null),
                ("cudnn_convolutions", .int(instance.convolutionKernels.filter { $0.kernel.hasPrefix("cudnn") }.count)),
                ("convolutions", .int(instance.convolutionKernels.count)),
                ("cudnn_workspace_bytes", .int(instance.cudnnWorkspaceBytes)),
                // The tuner's choice per convolution, in launch order.
                (
                    "convolution_kernels",
                    .array(
                        instance.convolutionKernels.map {
                            .object([("layer", .string($0.layer)), ("kernel", .string($0.kernel))])
                        })
                ),
            ]
            log(
                TextFormat.format(
                    "lookout-cuda batch %3d: %9.1f img/s, p50 %.3f ms, p99 %.3f ms, GPU %.3f ms, NMS+copy %.4f ms/img (wall %.4f), activations %.2f MiB = %.3fx plan",
                    batch, throughput, stats.p50, stats.p99, gpuStats.p50, nms.p50 / Double(batch),
                    nmsWallStats.p50 / Double(batch),
                    Double(instance.activationBytes) / 1_048_576,
                    Double(instance.activationBytes) / Double(instance.planPeakBytes)))
            rows.append(row)
            if profileBatches.contains(batch) {
                let profile = try instance.profile()
                let total = profile.reduce(0) { $0 + $1.milliseconds }
                var byKind: [String: Double] = [:]
                for p in profile { byKind[p.name, default: 0] += p.milliseconds }
                log(
                    TextFormat.format(
                        "profile at batch %d: %.3f ms in %d launches (eager, events); by kernel: ", batch, total,
                        profile.count)
                        + byKind.sorted { $0.value > $1.value }.map { TextFormat.format("%@ %.3f", $0.key, $0.value) }
                        .joined(separator: ", "))
                for p in profile.sorted(by: { $0.milliseconds > $1.milliseconds }).prefix(25) {
                    log(TextFormat.format("  %8.4f ms  %@  %@", p.milliseconds, p.name, p.detail))
                }
            }
        }
        return rows
    }
}
