import LookoutCore
import Synchronization

/// How a model's output becomes detections.
public enum DetectionHead: Sendable, Equatable {
    /// `[batch, 4 + classes, anchors]`: a box (cx, cy, w, h) and class scores per anchor; NMS picks the
    /// detections (YOLOv8, YOLO11, YOLO26's one-to-many export).
    case anchors
    /// `[batch, rows, 6]`: the boxes an end-to-end head chose in the graph (x1, y1, x2, y2, score, class, in input
    /// pixels, by descending score); a confidence filter and `max_det` pick the detections, no NMS (YOLO26 exported
    /// with `end2end=True`, YOLOv10).
    case endToEnd(rows: Int)

    /// What runs after the model, for `inspect` and messages.
    public var postprocessing: String {
        switch self {
        case .anchors: "NMS (Ultralytics non_max_suppression)"
        case .endToEnd(let rows): "end-to-end: score > conf, first max_det of \(rows) rows, no NMS"
        }
    }
}

/// A YOLO detection model read from an ONNX export: its typed graph, Ultralytics metadata and input/output
/// description, with execution plans made (and cached) per input shape.
public final class DetectionModel: Sendable {
    public let path: String
    package let graph: Graph
    public let metadata: YOLOMetadata
    public let opset: Int
    public let producer: String
    public let inputName: String
    /// Element type of the model input (float32 or float16; the CPU backend converts at the boundary).
    public let inputType: DataType
    public let outputName: String
    public let outputType: DataType
    /// Declared input shape, nil for symbolic dimensions.
    public let declaredInputShape: [Int?]
    /// Number of classes: rows of `output0` after the four box rows (end-to-end heads: the metadata's names).
    public let classCount: Int
    /// The output's form and the postprocessing it needs.
    public let head: DetectionHead

    private let plans = Mutex<[[Int]: ExecutionPlan]>([:])

    /// Whether batch and spatial size may change (dynamic export).
    public var isDynamic: Bool { metadata.dynamic || declaredInputShape.contains { $0 == nil } }

    /// Reads and checks `path`: parse, operator support, Ultralytics metadata (`task` must be `detect`), and a
    /// plan for the export's own input size so every error surfaces at load. Errors carry the path.
    public convenience init(path: String) throws(ModelError) {
        try DetectionModel.refuseNonONNX(path)
        let onnx = try ONNXModel(contentsOfFile: path)
        do {
            try self.init(onnx: onnx, path: path)
        } catch {
            throw error.inFile(path)
        }
    }

    package init(onnx: ONNXModel, path: String) throws(ModelError) {
        self.path = path
        let metadata = try YOLOMetadata(properties: onnx.metadata)
        guard metadata.task == "detect" else {
            throw ModelError(
                .unsupportedTask,
                "task '\(metadata.task)' is not supported; Lookout runs detection models (task 'detect')")
        }
        if metadata.nmsInGraph {
            throw ModelError(
                .unsupported,
                "exported with nms=True (an NMS inside the graph, which Lookout does not run; it runs Ultralytics' NMS itself); export again without it: yolo export model=MODEL.pt format=onnx nms=False"
            )
        }
        self.metadata = metadata
        self.opset = onnx.opset
        self.producer = "\(onnx.producerName) \(onnx.producerVersion)".trimmedWhitespace
        let graph = try Graph(onnx: onnx)
        guard graph.inputs.count == 1 else {
            throw ModelError(
                .invalidGraph, "the model has \(graph.inputs.count) inputs; a YOLO model has one image input")
        }
        let input = graph[graph.inputs[0]]
        let declared = input.declaredShape ?? [nil, 3, nil, nil]
        guard declared.count == 4, declared[1] == nil || declared[1] == 3 else {
            throw ModelError(
                .invalidGraph,
                "input '\(input.name)' has shape \(declared.map { $0.map(String.init) ?? "?" }); expected [batch, 3, height, width]"
            )
        }
        guard input.dataType == .float || input.dataType == .float16 else {
            throw ModelError(.unsupported, "input '\(input.name)' is \(input.dataType); supported: float32, float16")
        }
        self.graph = graph
        self.inputName = input.name
        self.inputType = input.dataType
        self.declaredInputShape = declared
        let output = graph[graph.outputs[0]]
        self.outputName = output.name

        // Plan the export's own size once: checks every operator at run time and learns the class count.
        let h = declared[2] ?? metadata.imageSize.height
        let w = declared[3] ?? metadata.imageSize.width
        let plan = try DetectionModel.makePlan(graph, shape: [declared[0] ?? 1, 3, h, w])
        let outShape = plan.graph.shape(plan.graph.outputs[0])
        self.outputType = plan.graph[plan.graph.outputs[0]].dataType
        // Ultralytics' own rule: a last axis of 6, or `end2end` in the metadata, is an end-to-end output.
        if outShape.count == 3 && (outShape[2] == 6 || metadata.end2end) {
            guard outShape[2] == 6 else {
                throw ModelError(
                    .invalidGraph,
                    "output '\(output.name)' has shape \(outShape); an end-to-end output (metadata end2end: True) is [batch, rows, 6]"
                )
            }
            guard !metadata.classNames.isEmpty else {
                throw ModelError(
                    .invalidGraph,
                    "output '\(output.name)' is an end-to-end output [batch, rows, 6], but the metadata names no classes"
                )
            }
            self.head = .endToEnd(rows: outShape[1])
            self.classCount = metadata.classNames.count
        } else {
            guard outShape.count == 3, outShape[1] > 4 else {
                throw ModelError(
                    .invalidGraph,
                    "output '\(output.name)' has shape \(outShape); a YOLO detection output is [batch, 4 + classes, anchors] or [batch, rows, 6]"
                )
            }
            self.head = .anchors
            self.classCount = outShape[1] - 4
        }
        if !metadata.classNames.isEmpty && metadata.classNames.count != classCount {
            throw ModelError(
                .invalidGraph, "metadata names \(metadata.classNames.count) classes but the output has \(classCount)")
        }
        plans.withLock { $0[[declared[0] ?? 1, 3, h, w]] = plan }
    }

    /// A PyTorch checkpoint (a zip archive) or another non-ONNX file gets a message that says what to do.
    static func refuseNonONNX(_ path: String) throws(ModelError) {
        let lower = path.lowercased()
        if lower.hasSuffix(".pt") || lower.hasSuffix(".pth") {
            throw ModelError(
                .unsupported,
                "\(path): a PyTorch checkpoint; Lookout runs ONNX exports, so export it to ONNX first: yolo export model=\(path) format=onnx"
            )
        }
        for suffix in [".engine", ".tflite", ".mlpackage", ".torchscript", ".xml", ".pb"] where lower.hasSuffix(suffix)
        {
            throw ModelError(
                .unsupported,
                "\(path): a '\(suffix)' export; Lookout runs ONNX exports: yolo export model=MODEL.pt format=onnx")
        }
    }

    /// Class names from the metadata, or `class0`… when the export has none.
    public var classNames: [String] {
        metadata.classNames.isEmpty ? (0..<classCount).map { "class\($0)" } : metadata.classNames
    }

    /// The input size images are letterboxed to by default: the export size.
    public var defaultImageSize: (height: Int, width: Int) {
        (declaredInputShape[2] ?? metadata.imageSize.height, declaredInputShape[3] ?? metadata.imageSize.width)
    }

    /// The batch a static model was exported with (dynamic models accept any).
    public var fixedBatch: Int? { declaredInputShape[0] }

    /// The execution plan for an input of `shape` ([batch, 3, height, width]), made once and cached.
    package func plan(forInputShape shape: [Int]) throws(ModelError) -> ExecutionPlan {
        if let plan = plans.withLock({ $0[shape] }) { return plan }
        let plan: ExecutionPlan
        do { plan = try DetectionModel.makePlan(graph, shape: shape) } catch { throw error.inFile(path) }
        plans.withLock { $0[shape] = plan }
        return plan
    }

    static func makePlan(_ graph: Graph, shape: [Int]) throws(ModelError) -> ExecutionPlan {
        var specialized = try graph.specialized(inputShapes: [shape])
        specialized.fuseConvActivations()
        return try MemoryPlanner.plan(specialized)
    }
}
