import LookoutCore
import LookoutInference
import LookoutMedia
import LookoutModel
import LookoutYOLO

/// An output tensor of a model: FP32 or INT32 values and their shape.
struct OutputTensor: Sendable {
    enum Values: Sendable {
        case fp32([Float])
        case int32([Int32])
    }
    var name: String
    var shape: [Int]
    var values: Values

    var datatype: TensorDatatype {
        switch values {
        case .fp32: .fp32
        case .int32: .int32
        }
    }
    var bytes: [UInt8] {
        switch values {
        case .fp32(let v): TensorBytes.of(v)
        case .int32(let v): TensorBytes.of(v)
        }
    }
    var json: JSONValue {
        switch values {
        case .fp32(let v): TensorJSON.floats(v)
        case .int32(let v): .array(v.map { .int(Int($0)) })
        }
    }
}

/// Runs requests on a model: the raw network through the engine, or whole images through `Detector`. `prepare`
/// checks and decodes a request (its errors are that request's alone); `run` runs prepared requests as one engine
/// call and gives each its own outputs.
enum ModelRunner {
    /// Images (or batch rows) per request at most, unless the server sets another `max_batch_size`.
    static let maxBatch = 64
    /// `max_det` at most (the `detections` output is `[N, max_det, 6]`).
    static let maxDetections = 10_000

    /// Runs `request` alone; returns the outputs and the batch size.
    static func run(kind: ModelRepository.Kind, detector: Detector, request: InferRequest) throws(ServeError)
        -> (outputs: [OutputTensor], batch: Int)
    {
        let job = try prepare(kind: kind, detector: detector, request: request, maxBatch: maxBatch)
        return (try run([job], detector: detector)[0], job.rows)
    }

    /// Checks `request` against the model and decodes its inputs; a batch over `maxBatch` rows is refused (400).
    static func prepare(kind: ModelRepository.Kind, detector: Detector, request: InferRequest, maxBatch: Int)
        throws(ServeError) -> InferenceJob
    {
        switch kind {
        case .raw: return try raw(detector, request, maxBatch: maxBatch)
        case .detect: return try detect(detector, request, maxBatch: maxBatch)
        }
    }

    /// Runs `jobs` (of one key) as one engine call; the outputs of each job, in order.
    static func run(_ jobs: [InferenceJob], detector: Detector) throws(ServeError) -> [[OutputTensor]] {
        switch jobs[0].work {
        case .raw: return try runRaw(jobs, detector)
        case .detect: return try runDetect(jobs, detector)
        }
    }

    static func batchError(_ n: Int, maxBatch: Int, input: String) -> ServeError {
        ServeError(400, "input '\(input)': batch \(n), expected 1 to \(maxBatch) (the model's max_batch_size)")
    }

    // MARK: The raw network

    static func raw(_ detector: Detector, _ request: InferRequest, maxBatch: Int) throws(ServeError) -> InferenceJob {
        let model = detector.model
        let input = try single(request, allowed: [model.inputNameServed])
        guard input.datatype == .fp32 else {
            throw ServeError(400, "input '\(input.name)': datatype \(input.datatype.rawValue), expected FP32")
        }
        let shape = input.shape
        guard shape.count == 4, shape[1] == 3 else {
            throw ServeError(400, "input 'images': shape \(shape), expected [N, 3, H, W]")
        }
        for (i, d) in model.declaredInputShape.enumerated() {
            if let d, shape[i] != d {
                throw ServeError(400, "input 'images': shape \(shape), the model takes \(model.declaredInputShapeText)")
            }
        }
        if model.declaredInputShape[0] == nil {
            guard (1...maxBatch).contains(shape[0]) else {
                throw batchError(shape[0], maxBatch: maxBatch, input: "images")
            }
        }
        let stride = max(1, model.metadata.stride)
        for d in shape[2...] where d < stride || d > 4096 || d % stride != 0 {
            throw ServeError(
                400, "input 'images': shape \(shape): H and W must be multiples of \(stride) from \(stride) to 4096")
        }
        return InferenceJob(floats: TensorBytes.floats(input.raw), shape: shape)
    }

    static func runRaw(_ jobs: [InferenceJob], _ detector: Detector) throws(ServeError) -> [[OutputTensor]] {
        let model = detector.model
        var inputs: [[Float]] = []
        var rows: [Int] = []
        var shape: [Int] = []
        for job in jobs {
            guard case .raw(let floats, let jobShape) = job.work else {
                preconditionFailure("a raw batch holds raw jobs")
            }
            inputs.append(floats)
            rows.append(jobShape[0])
            shape = jobShape
        }
        let n = rows.reduce(0, +)
        shape[0] = n
        let output: [Float]
        do {
            output = try detector.exclusively { () throws -> [Float] in
                try detector.engine.run(
                    shape: shape,
                    fill: { buffer in
                        var at = 0
                        for floats in inputs {
                            _ = UnsafeMutableBufferPointer(rebasing: buffer[at..<(at + floats.count)])
                                .initialize(from: floats)
                            at += floats.count
                        }
                    },
                    read: { Array($0) })
            }
        } catch {
            throw ServeError(400, "model '\(model.pathStem)': \(error)")
        }
        let perRow = output.count / max(1, n)
        let outputRows: Int
        switch model.head {
        case .anchors: outputRows = 4 + model.classCount
        case .endToEnd(let r): outputRows = r
        }
        var at = 0
        return rows.map { count in
            let values = Array(output[(at * perRow)..<((at + count) * perRow)])
            at += count
            return [
                OutputTensor(
                    name: model.outputName, shape: [count, outputRows, perRow / max(1, outputRows)],
                    values: .fp32(values))
            ]
        }
    }

    // MARK: Images in, detections out

    static func detect(_ detector: Detector, _ request: InferRequest, maxBatch: Int) throws(ServeError)
        -> InferenceJob
    {
        let input = try single(request, allowed: ["images", "encoded"])
        let options = try detectOptions(request.parameters)
        var images: [BGRImage] = []
        if input.name == "images" {
            guard input.datatype == .uint8 else {
                throw ServeError(400, "input 'images': datatype \(input.datatype.rawValue), expected UINT8")
            }
            let shape = input.shape
            guard shape.count == 4, shape[3] == 3, shape[1] >= 1, shape[2] >= 1 else {
                throw ServeError(400, "input 'images': shape \(shape), expected [N, H, W, 3] with H, W at least 1")
            }
            guard (1...maxBatch).contains(shape[0]) else {
                throw batchError(shape[0], maxBatch: maxBatch, input: "images")
            }
            let rgb = try color(request.parameters)
            let (h, w) = (shape[1], shape[2])
            let size = h * w * 3
            for i in 0..<shape[0] {
                var pixels = Array(input.raw[(i * size)..<((i + 1) * size)])
                if rgb {
                    for p in stride(from: 0, to: size, by: 3) { pixels.swapAt(p, p + 2) }
                }
                images.append(BGRImage(width: w, height: h, pixels: pixels)!)
            }
        } else {
            guard input.datatype == .bytes else {
                throw ServeError(400, "input 'encoded': datatype \(input.datatype.rawValue), expected BYTES")
            }
            guard (1...maxBatch).contains(input.items.count) else {
                throw batchError(input.items.count, maxBatch: maxBatch, input: "encoded")
            }
            var decoder = ImageDecoder()
            for (i, item) in input.items.enumerated() {
                var image = BGRImage()
                let failure: MediaError? = item.withUnsafeBytes { raw in
                    do throws(MediaError) {
                        try decoder.decode(raw, name: "encoded[\(i)]", into: &image)
                        return nil
                    } catch { return error }
                }
                if let failure { throw ServeError(400, "input 'encoded': \(failure)") }
                images.append(image)
            }
        }
        let geometries = detector.geometries(images.map { ($0.width, $0.height) }, imageSize: options.imageSize)
        return InferenceJob(images: images, geometries: geometries, options: options)
    }

    static func runDetect(_ jobs: [InferenceJob], _ detector: Detector) throws(ServeError) -> [[OutputTensor]] {
        var images: [BGRImage] = []
        var geometries: [LetterboxGeometry] = []
        var options = DetectOptions()
        for job in jobs {
            guard case .detect(let jobImages, let jobGeometries, let jobOptions) = job.work else {
                preconditionFailure("a detect batch holds detect jobs")
            }
            images += jobImages
            geometries += jobGeometries
            options = jobOptions
        }
        var frames: [[Detection]]
        do {
            if jobs.count == 1 {
                // One request: `detect(batch:)` also splits a batch larger than a static export's into engine calls.
                frames = try detector.detect(batch: images, options: options).map(\.detections)
            } else {
                frames = try detector.detect(
                    geometries: geometries, options: options, lend: { i, body in images[i].withPixels(body) }
                ).frames
            }
        } catch {
            throw ServeError(400, "\(error)")
        }
        var at = 0
        return jobs.map { job in
            defer { at += job.rows }
            return detectOutputs(frames[at..<(at + job.rows)], maxDet: options.maxDetections)
        }
    }

    /// `detections` `[N, max_det, 6]` (x1, y1, x2, y2, confidence, class; rows past the count zero) and `count`.
    static func detectOutputs(_ frames: ArraySlice<[Detection]>, maxDet: Int) -> [OutputTensor] {
        var boxes = [Float](repeating: 0, count: frames.count * maxDet * 6)
        var counts: [Int32] = []
        for (i, detections) in frames.enumerated() {
            let kept = detections.prefix(maxDet)
            counts.append(Int32(kept.count))
            for (j, d) in kept.enumerated() {
                let base = (i * maxDet + j) * 6
                boxes[base] = d.x1
                boxes[base + 1] = d.y1
                boxes[base + 2] = d.x2
                boxes[base + 3] = d.y2
                boxes[base + 4] = d.confidence
                boxes[base + 5] = Float(d.classIndex)
            }
        }
        return [
            OutputTensor(name: "detections", shape: [frames.count, maxDet, 6], values: .fp32(boxes)),
            OutputTensor(name: "count", shape: [frames.count], values: .int32(counts)),
        ]
    }

    /// The request's one input, which must be among `allowed`.
    static func single(_ request: InferRequest, allowed: [String]) throws(ServeError) -> InputTensor {
        guard request.inputs.count == 1, let input = request.inputs.first, allowed.contains(input.name) else {
            throw ServeError(
                400,
                "expected one input (\(allowed.map { "'\($0)'" }.joined(separator: " or "))), got \(request.inputs.map { "'\($0.name)'" }.joined(separator: ", "))"
            )
        }
        return input
    }

    /// `conf`, `iou`, `max_det`, `classes` from the request's parameters (Ultralytics' predict defaults otherwise).
    static func detectOptions(_ parameters: JSONValue?) throws(ServeError) -> DetectOptions {
        var options = DetectOptions()
        func number(_ key: String) throws(ServeError) -> Double? {
            guard let value = parameters?[key] else { return nil }
            if let d = value.doubleValue { return d }
            if let s = value.stringValue, let d = Double(s) { return d }
            throw ServeError(400, "parameter '\(key)' must be a number")
        }
        if let conf = try number("conf") { options.confidence = conf }
        if let iou = try number("iou") { options.iou = iou }
        if let maxDet = try number("max_det") {
            guard maxDet == maxDet.rounded(), (1...Double(maxDetections)).contains(maxDet) else {
                throw ServeError(400, "parameter 'max_det' must be an integer from 1 to \(maxDetections)")
            }
            options.maxDetections = Int(maxDet)
        }
        if let value = parameters?["classes"] {
            var list: [Int] = []
            let items: [JSONValue]
            if let array = value.arrayValue {
                items = array
            } else if let s = value.stringValue {
                items = s.split(separator: ",").map { Int($0).map { JSONValue.int($0) } ?? .null }
            } else {
                items = [value]
            }
            for item in items {
                guard let n = item.intValue, n >= 0 else {
                    throw ServeError(400, "parameter 'classes' must be class indices (0 or more)")
                }
                list.append(n)
            }
            options.classes = list
        }
        do { try options.validate() } catch { throw ServeError(400, "parameters: \(error.message)") }
        return options
    }

    /// Whether the request says its UINT8 images are RGB (`color: rgb`); BGR otherwise.
    static func color(_ parameters: JSONValue?) throws(ServeError) -> Bool {
        guard let value = parameters?["color"] else { return false }
        switch value.stringValue?.lowercased() {
        case "rgb": return true
        case "bgr": return false
        default: throw ServeError(400, "parameter 'color' must be 'bgr' or 'rgb'")
        }
    }
}

extension DetectionModel {
    /// The served raw model's input name: the export's (Ultralytics calls it `images`).
    var inputNameServed: String { inputName }

    var declaredInputShapeText: String {
        "[" + declaredInputShape.map { $0.map(String.init) ?? "-1" }.joined(separator: ", ") + "]"
    }

    var pathStem: String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasSuffix(".onnx") ? String(base.dropLast(5)) : base
    }
}
