import LookoutBench
import LookoutCPU
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutPipeline
import LookoutTestSupport
import LookoutYOLO

/// `lookout selftest --gpu` for the inference engine: every step of a plan against the CPU backend, the whole model
/// within fp16 tolerance, graph replay against eager launches, GPU NMS against the CPU NMS, detections against the
/// Ultralytics references, val mAP, errors reported rather than fatal, and no allocation in steady state.
package final class EngineSelftest: SelftestChecks {
    /// Tests/Fixtures/shapes (or ../shared/fixtures/shapes): the models, val/images, val/labels and the references.
    let fixtures: String
    let staticModel: String
    let dynamicModel: String

    package init(fixtures: String, staticModel: String? = nil, dynamicModel: String, log: @escaping (String) -> Void) {
        self.fixtures = fixtures
        self.staticModel = staticModel ?? fixtures + "/shapes-yolov8n.onnx"
        self.dynamicModel = dynamicModel
        super.init(log: log)
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        var num = 0.0
        var den = 0.0
        for (x, y) in zip(a, b) {
            num += Double(x - y) * Double(x - y)
            den += Double(y) * Double(y)
        }
        return num.isNaN ? .infinity : (num / max(den, 1e-30)).squareRoot()
    }

    /// `input` through `instance` twice, eagerly and as the captured graph: both outputs.
    static func eagerAndReplayed(_ instance: CUDAModelInstance, input: [Float]) throws -> (
        eager: [Float], replayed: [Float]
    ) {
        try instance.upload { _ = $0.update(from: input) }
        try instance.runEager()
        let eager = try instance.download { Array($0) }
        try instance.upload { _ = $0.update(from: input) }
        try instance.enqueue()
        return (eager, try instance.download { Array($0) })
    }

    static func input(count: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
    }

    func cudaDetector(_ path: String, precision: GPUPrecision = .fp16) throws -> Detector {
        var options = EngineOptions()
        options.precision = precision
        return try Detector(model: try DetectionModel(path: path), device: .cuda(ordinal: 0), options: options)
    }

    package func run() throws {
        let images = ImageSources.expand([fixtures + "/val/images"]).files.sorted()
        guard !images.isEmpty else {
            fail("engine checks: no images under \(fixtures)/val/images")
            return
        }
        let started = MonotonicClock.nanoseconds()
        everyStep(precision: .fp16, shape: [2, 3, 256, 320], tolerance: 3e-2)
        everyStep(precision: .fp32, shape: [1, 3, 96, 128], tolerance: 1e-4)
        wholeModel(images: images)
        zeroCopyInput(images: images)
        postprocessing(images: images)
        references(images: images)
        validation()
        errors()
        steadyState()
        cudnnCandidates()
        // Last: a faulting new kernel would leave the context unusable for any check after it.
        convKernels()
        log(TextFormat.format("  (engine checks took %.1f s)", Double(MonotonicClock.nanoseconds() - started) / 1e9))
    }

    /// Each step's output, through the GPU plan up to that step, against the CPU backend's.
    func everyStep(model: String? = nil, precision: GPUPrecision, shape: [Int], tolerance: Double) {
        let label = model.map { " of " + ($0.split(separator: "/").last.map(String.init) ?? $0) } ?? ""
        check(
            "every step of the plan\(label) equals the CPU backend (\(precision.rawValue), \(shape), relative error ≤ \(tolerance))"
        ) {
            let detector = try cudaDetector(model ?? dynamicModel, precision: precision)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let plan = try detector.model.plan(forInputShape: shape)
            let input = Self.input(count: shape.reduce(1, *), seed: 11)
            var worst: [String: (Double, Int)] = [:]
            var failures: [String] = []
            for (i, step) in plan.steps.enumerated() {
                let node = plan.graph.nodes[step.node]
                let value = node.outputs[0]
                var cpuPlan = plan
                cpuPlan.steps = Array(plan.steps.prefix(i + 1))
                cpuPlan.graph.outputs = [value]
                var gpuPlan = plan
                gpuPlan.graph.outputs = [value]
                let cpu = try CPUExecutor(plan: cpuPlan).run(input: input)
                let gpu = try cuda.engine.probe(plan: gpuPlan, lastStep: i, input: input)
                let error = Self.relativeError(gpu, cpu)
                let name = node.op.name
                let previous = worst[name] ?? (0, 0)
                worst[name] = (max(previous.0, error), previous.1 + 1)
                if !(error <= tolerance) { failures.append("step \(i) \(name) '\(node.name)': \(error)") }
            }
            log(
                "  "
                    + worst.sorted { $0.key < $1.key }.map {
                        TextFormat.format("%@ ×%d worst %.2e", $0.key, $0.value.1, $0.value.0)
                    }.joined(separator: ", "))
            return failures.isEmpty ? nil : failures.prefix(8).joined(separator: "; ")
        }
    }

    /// Letterboxed val images as the CPU path builds them (float NCHW).
    func letterboxed(_ path: String, size: Int = 640) throws -> [Float] {
        var decoder = ImageDecoder()
        var image = BGRImage()
        try decoder.decode(file: path, into: &image)
        let geometry = LetterboxGeometry(
            sourceWidth: image.width, sourceHeight: image.height, targetWidth: size, targetHeight: size)
        var tensor = [Float](repeating: 0, count: 3 * size * size)
        var writer = LetterboxTensorWriter()
        image.withPixels { pixels in
            tensor.withUnsafeMutableBufferPointer { writer.write(pixels, geometry: geometry, into: $0.baseAddress!) }
        }
        return tensor
    }

    func wholeModel(images: [String]) {
        check("whole model on val images within fp16 tolerance of the CPU backend; graph replay equals eager launches")
        {
            let detector = try cudaDetector(staticModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let plan = try detector.model.plan(forInputShape: [1, 3, 640, 640])
            let cpu = try CPUExecutor(plan: plan)
            let instance = try cuda.engine.instance(shape: [1, 3, 640, 640])
            var worstRelative = 0.0
            var worstScore: Float = 0
            var worstBox: Float = 0
            for path in images.prefix(8) {
                let input = try letterboxed(path)
                let reference = cpu.run(input: input)
                let (eager, replayed) = try Self.eagerAndReplayed(instance, input: input)
                if eager != replayed { return "\(path): graph replay differs from eager launches" }
                worstRelative = max(worstRelative, Self.relativeError(eager, reference))
                let anchors = reference.count / (4 + detector.model.classCount)
                for i in 0..<reference.count {
                    let d = abs(eager[i] - reference[i])
                    if i < 4 * anchors { worstBox = max(worstBox, d) } else { worstScore = max(worstScore, d) }
                }
            }
            log(
                TextFormat.format(
                    "  relative error %.2e, max |Δscore| %.4f, max |Δbox| %.3f px", worstRelative, worstScore, worstBox)
            )
            return worstRelative < 5e-3 && worstScore < 0.02 ? nil : "too far from the CPU backend"
        }
    }

    /// The GPU letterbox writes each image of a batch into the engine's input in the arena (no copy of the batch):
    /// the output must equal the host path's (CPU letterbox, upload, conversion) exactly.
    func zeroCopyInput(images: [String]) {
        check("the GPU letterbox fills a batch in the engine's input directly; output equals the host path exactly") {
            let detector = try cudaDetector(dynamicModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let context = cuda.engine.context
            let stream = cuda.engine.stream
            let instance = try cuda.engine.instance(shape: [2, 3, 640, 640])
            let input = instance.input
            guard input.channelsLast && input.element == .f16 else { return "input is not NHWC fp16" }
            let letterbox = try GPULetterbox(compiler: cuda.compiler)
            var decoder = ImageDecoder()
            var decoded: [BGRImage] = []
            for path in images.prefix(2) {
                var image = BGRImage()
                try decoder.decode(file: path, into: &image)
                decoded.append(image)
            }
            // Host path first.
            var writer = LetterboxTensorWriter()
            let host = try instance.run(
                fill: { buffer in
                    for (slot, image) in decoded.enumerated() {
                        let geometry = LetterboxGeometry(
                            sourceWidth: image.width, sourceHeight: image.height, targetWidth: 640, targetHeight: 640)
                        image.withPixels { writer.write($0, geometry: geometry, into: buffer.baseAddress!, slot: slot) }
                    }
                }, read: { Array($0) })
            // Device path: raw frames uploaded, letterboxed on the GPU into the input slots.
            var frames: [DeviceScratchBuffer] = []
            for (slot, image) in decoded.enumerated() {
                let bytes = image.width * image.height * 3
                let pinned = try HostBuffer.pinned(byteCount: bytes, context: context)
                pinned.withUnsafeMutableBytes { dst in image.withUnsafeBytes { dst.copyMemory(from: $0) } }
                let frame = try DeviceScratchBuffer(context: context, byteCount: bytes)
                try stream.copy(pinned, to: frame.buffer)
                try stream.synchronize()
                try letterbox.launch(
                    frame: DeviceFrame(
                        pointer: frame.buffer.pointer(), format: .bgr, width: image.width, height: image.height),
                    into: TensorSlot(
                        tensor: DevicePointer(address: input.address), batchIndex: slot, width: 640, height: 640,
                        element: .float16,
                        layout: .nhwc),
                    on: stream)
                frames.append(frame)
            }
            try instance.enqueue()
            let device = try instance.download { Array($0) }
            log(
                "  2 images, \(device.count) outputs, max |difference| \(zip(device, host).map { abs($0 - $1) }.max() ?? -1)"
            )
            return device == host ? nil : "outputs differ"
        }
    }

    func postprocessing(images: [String]) {
        check(
            "GPU NMS equals the CPU NMS exactly (predict and val settings, with classes [1, 3] and agnostic NMS; 16 val "
                + "images)"
        ) {
            let detector = try cudaDetector(staticModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let instance = try cuda.engine.instance(shape: [1, 3, 640, 640])
            let classes = detector.model.classCount
            var compared = 0
            let post = try GPUPostprocessor(
                context: cuda.context, compiler: cuda.compiler, maxBatch: 1, classes: detector.model.classCount,
                endToEnd: detector.model.head != .anchors)
            for path in images.prefix(16) {
                let input = try letterboxed(path)
                try instance.upload { _ = $0.update(from: input) }
                try instance.enqueue()
                let output = try instance.download { Array($0) }
                for (label, options) in Self.nmsVariants {
                    var cpu = NonMaxSuppression(options: options)
                    var expected: [Detection] = []
                    output.withUnsafeBufferPointer {
                        cpu.run(
                            output: $0.baseAddress!, anchors: output.count / (4 + classes), classes: classes,
                            into: &expected)
                    }
                    try post.enqueue(output: instance.output, batch: 1, options: options, on: cuda.engine.stream)
                    try cuda.engine.stream.synchronize()
                    var found: [Detection] = []
                    guard post.detections(image: 0, into: &found) else { return "\(path): GPU scratch overflow" }
                    if found != expected {
                        let first =
                            (0..<min(found.count, expected.count)).first { found[$0] != expected[$0] }
                            ?? min(found.count, expected.count)
                        let detail =
                            first < min(found.count, expected.count)
                            ? ": GPU \(found[first]) vs CPU \(expected[first])" : ""
                        return
                            "\(path) (\(label)): GPU \(found.count) boxes, CPU \(expected.count); first difference at \(first)\(detail)"
                    }
                    compared += found.count
                }
            }
            log("  \(compared) boxes identical")
            return nil
        }
    }

    /// The NMS settings the GPU and CPU must agree on: predict and val, each with the class filter
    /// (`--classes`) and agnostic NMS (`--agnostic-nms`), and both together.
    static let nmsVariants: [(String, NMSOptions)] = {
        var variants: [(String, NMSOptions)] = []
        for (name, base) in [("predict", NMSOptions.predict), ("val", NMSOptions.val)] {
            variants.append((name, base))
            var filtered = base
            filtered.classes = [1, 3]
            variants.append((name + " classes [1, 3]", filtered))
            var agnostic = base
            agnostic.agnostic = true
            variants.append((name + " agnostic", agnostic))
            var both = filtered
            both.agnostic = true
            both.iouThreshold = 0.45
            variants.append((name + " classes [1, 3] agnostic iou 0.45", both))
        }
        return variants
    }()

    static func iou(_ a: [Float], _ b: [Float]) -> Float {
        let w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
        let h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
        let inter = w * h
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
    }

    func references(images: [String]) {
        check(
            "detect --device cuda matches ultralytics_onnx_static_predictions.json (≥98% matched at IoU 0.95, |Δconf| ≤ 0.01; ≤2% extra)"
        ) {
            let path = fixtures + "/val/ultralytics_onnx_static_predictions.json"
            guard let text = FileBytes.readText(path) else { return "cannot read \(path)" }
            let reference = try JSONValue.parse(text)
            let detector = try cudaDetector(staticModel)
            var decoder = ImageDecoder()
            var image = BGRImage()
            var total = 0
            var matched = 0
            var extra = 0
            var milliseconds: [Double] = []
            for path in images {
                let name = Paths.lastComponent(path)
                guard let entry = reference[name], let boxes = entry["xyxy"]?.doubleMatrix,
                    let confs = entry["conf"]?.doubleArray,
                    let classes = entry["cls"]?.doubleArray.map({ $0.map { Int($0) } })
                else { continue }
                try decoder.decode(file: path, into: &image)
                let t0 = MonotonicClock.nanoseconds()
                let result = try detector.detect(image)
                milliseconds.append(Double(MonotonicClock.nanoseconds() - t0) / 1e6)
                var used = [Bool](repeating: false, count: result.detections.count)
                for (k, box) in boxes.enumerated() {
                    total += 1
                    let r = box.map { Float($0) }
                    var best = -1
                    var bestIoU: Float = 0
                    for (j, d) in result.detections.enumerated() where !used[j] && d.classIndex == classes[k] {
                        let v = Self.iou([d.x1, d.y1, d.x2, d.y2], r)
                        if v >= 0.95 && abs(Double(d.confidence) - confs[k]) <= 0.01 && v > bestIoU {
                            best = j
                            bestIoU = v
                        }
                    }
                    if best >= 0 {
                        used[best] = true
                        matched += 1
                    }
                }
                extra += used.filter { !$0 }.count
            }
            guard total > 0 else { return "no reference boxes" }
            let rate = Double(matched) / Double(total)
            let extraRate = Double(extra) / Double(total)
            let stats = milliseconds.sorted()
            log(
                TextFormat.format(
                    "  %d of %d reference boxes matched (%.2f%%), %d extra (%.2f%%); detect p50 %.2f ms an image (CPU letterbox, upload, engine, GPU NMS)",
                    matched, total, 100 * rate, extra, 100 * extraRate, stats[stats.count / 2]))
            return rate >= 0.98 && extraRate <= 0.02 ? nil : "below the acceptance"
        }
    }

    func validation() {
        check("val --device cuda mAP50-95 within 0.005 of Ultralytics' ONNX figure") {
            let path = fixtures + "/val/ultralytics_map.json"
            guard let text = FileBytes.readText(path) else { return "cannot read \(path)" }
            guard let expected = try JSONValue.parse(text)["onnx_static"]?["map50_95"]?.doubleValue else {
                return "no reference mAP"
            }
            let detector = try cudaDetector(staticModel)
            let result = try Validator().run(detector: detector, folder: fixtures + "/val")
            let map = result.summary.map50to95
            log(
                TextFormat.format(
                    "  mAP50-95 %.4f (Ultralytics ONNX %.4f, Δ %+.4f), mAP50 %.4f, %.1f s", map, expected,
                    map - expected, result.summary.map50, result.seconds))
            return abs(map - expected) <= 0.005 ? nil : "off by \(map - expected)"
        }
    }

    func errors() {
        check("an unsupported operator is reported, not fatal") {
            let detector = try cudaDetector(staticModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            var plan = try detector.model.plan(forInputShape: [1, 3, 640, 640])
            let index = plan.steps.last!.node
            plan.graph.nodes[index].op = .gather(axis: 0)
            do {
                _ = try cuda.engine.probe(
                    plan: plan, lastStep: plan.steps.count - 1, input: Self.input(count: 3 * 640 * 640, seed: 1))
                return "a Gather compiled"
            } catch let error as GPUBackendError {
                log("  reported: \(error)")
                return error.code == .unsupported ? nil : "wrong code"
            }
        }
        check("out of device memory is reported, and the engine still runs afterwards") {
            let detector = try cudaDetector(dynamicModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            // Take nearly all free memory, then ask for a batch of 64.
            let (free, _) = try cuda.engine.context.memoryInfo()
            let hog = try DeviceBuffer(context: cuda.engine.context, byteCount: max(free - (48 << 20), 1 << 20))
            do {
                _ = try cuda.engine.instance(shape: [64, 3, 640, 640])
                _ = consume hog
                return "a batch of 64 fitted in 48 MiB"
            } catch {
                log("  reported: \(error)")
            }
            _ = consume hog
            let instance = try cuda.engine.instance(shape: [1, 3, 64, 64])
            let out = try instance.run(
                fill: { _ = $0.update(from: Self.input(count: 3 * 64 * 64, seed: 2)) }, read: { Array($0) })
            return out.allSatisfy(\.isFinite) ? nil : "non-finite output after the error"
        }
    }

    func steadyState() {
        check(
            "steady state: graph replay + GPU NMS + result copy: Lookout allocates nothing (100 batches of 8; the driver's own allocations reported)"
        ) {
            let detector = try cudaDetector(dynamicModel)
            guard let cuda = detector.cuda else { return "not on CUDA" }
            let instance = try cuda.engine.instance(shape: [8, 3, 640, 640])
            let post = try GPUPostprocessor(
                context: cuda.context, compiler: cuda.compiler, maxBatch: 8, classes: detector.model.classCount,
                endToEnd: detector.model.head != .anchors)
            let stream = cuda.engine.stream
            func once() throws {
                try instance.enqueue()
                try post.enqueue(output: instance.output, batch: 8, options: .predict, on: stream)
                try stream.synchronize()
            }
            for _ in 0..<5 { try once() }
            AllocationCount.attributeNVIDIALibraries()
            guard let before = AllocationCount.now() else { return "the counting allocator is not linked" }
            let cudaBefore = Measurement.cudaAllocations()
            for _ in 0..<100 {
                try instance.enqueue()
                try post.enqueue(output: instance.output, batch: 8, options: .predict, on: stream)
                try stream.synchronize()
            }
            guard let after = AllocationCount.now() else { return "no allocation count" }
            let report = before.report(until: after, frames: 100)
            let device = Measurement.cudaAllocations() - cudaBefore
            let host = report.ours
            log(
                "  100 batches: \(report.ours) host allocations by Lookout (NMS enqueue and the rest), "
                    + "\(report.driver) by the driver; \(device) CUDA allocations")
            return host == 0 && device == 0 ? nil : "Lookout allocates in steady state"
        }
    }
}

extension EngineSelftest {
    /// cuDNN's candidates (conv + our epilogue) against the direct kernel on layers of each kind, their times beside
    /// the kernel the tuner chose, and graph replay against eager launches with every eligible layer on cuDNN.
    func cudnnCandidates() {
        let name =
            "cuDNN candidates + epilogue match the direct kernel (1x1, 3x3 s1/s2, residual, strided output; batch 1 "
            + "and 8); graph replay equals eager launches"
        let detector: Detector
        do {
            detector = try cudaDetector(dynamicModel)
        } catch {
            fail("\(name): \(error)")
            return
        }
        guard let cuda = detector.cuda else { return }
        guard cuda.engine.cudnnVersion != nil else {
            log("SKIP \(name): skipped: \(cuda.engine.cudnnStatus)")
            return
        }
        check(name) {
            var problems: [String] = []
            for batch in [1, 8] {
                guard let result = try cuda.engine.checkCUDNN(shape: [batch, 3, 640, 640]) else {
                    return "cuDNN not loaded"
                }
                log("  batch \(batch): \(cuda.engine.cudnnStatus)")
                for layer in result.layers {
                    let runs = layer.runs.map { run in
                        let time = run.milliseconds.map { TextFormat.format("%.4f ms", $0) } ?? "failed"
                        return "\(run.algorithm) \(time) |Δ| \(run.difference)" + (run.failure.map { " (\($0))" } ?? "")
                    }
                    log(
                        TextFormat.format(
                            "  [%@] %@: chosen %@ %.4f ms, best NVRTC %@ %.4f ms; ", layer.kind, layer.layer,
                            layer.chosen,
                            layer.chosenMilliseconds, layer.nvrtc, layer.nvrtcMilliseconds)
                            + runs.joined(separator: "; "))
                    for run in layer.runs where run.failure != nil && run.milliseconds != nil {
                        problems.append("batch \(batch) \(layer.kind) \(run.algorithm): \(run.failure!)")
                    }
                }
                if result.layers.isEmpty { problems.append("batch \(batch): no layer has cuDNN algorithms") }
                let replay = result.graphEqualsEager ? "equals" : "DIFFERS FROM"
                log(
                    "  batch \(batch): \(result.forcedLayers) layers forced onto cuDNN: graph replay \(replay) eager launches"
                )
                if !result.graphEqualsEager {
                    problems.append("batch \(batch): graph replay differs from eager launches")
                }
            }
            for line in cuda.engine.log where line.hasPrefix("tuning:") || line.hasPrefix("cuDNN") { log("  " + line) }
            return problems.isEmpty ? nil : problems.prefix(6).joined(separator: "; ")
        }
    }
}

/// A device buffer owned by a class (kept alive in arrays).
final class DeviceScratchBuffer {
    let buffer: DeviceBuffer
    init(context: CUDAContext, byteCount: Int) throws(CUDAError) {
        buffer = try DeviceBuffer(context: context, byteCount: byteCount)
    }
}
