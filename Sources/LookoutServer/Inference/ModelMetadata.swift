import LookoutCore
import LookoutInference
import LookoutModel

/// A tensor of a model's signature: name, datatype and shape (-1 for a dimension any size may take).
struct TensorSpec {
    var name: String
    var datatype: TensorDatatype
    var shape: [Int]
    var optional = false

    var metadata: JSONValue {
        .object([
            ("name", .string(name)), ("datatype", .string(datatype.rawValue)),
            ("shape", .array(shape.map { .int($0) })),
        ])
    }

    var config: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("name", .string(name)), ("data_type", .string(datatype.configName)),
            ("dims", .array(shape.map { .int($0) })),
        ]
        if optional { fields.append(("optional", .bool(true))) }
        return .object(fields)
    }
}

/// What the protocol's metadata and configuration endpoints say of a model.
enum ModelMetadata {
    static let version = "1"
    static let platform = "onnxruntime_onnx"
    static let backend = "lookout"

    static func signature(kind: ModelRepository.Kind, model: DetectionModel) -> (
        inputs: [TensorSpec], outputs: [TensorSpec]
    ) {
        switch kind {
        case .detect:
            return (
                [
                    TensorSpec(name: "images", datatype: .uint8, shape: [-1, -1, -1, 3], optional: true),
                    TensorSpec(name: "encoded", datatype: .bytes, shape: [-1], optional: true),
                ],
                [
                    TensorSpec(name: "detections", datatype: .fp32, shape: [-1, -1, 6]),
                    TensorSpec(name: "count", datatype: .int32, shape: [-1]),
                ]
            )
        case .raw:
            let input = model.declaredInputShape.map { $0 ?? -1 }
            let batch = input[0]
            let output: [Int]
            switch model.head {
            case .anchors:
                var anchors = -1
                if let h = model.declaredInputShape[2], let w = model.declaredInputShape[3] {
                    anchors = [8, 16, 32].reduce(0) { $0 + (h / $1) * (w / $1) }
                }
                output = [batch, 4 + model.classCount, anchors]
            case .endToEnd(let rows):
                output = [batch, rows, 6]
            }
            return (
                [TensorSpec(name: model.inputName, datatype: .fp32, shape: input)],
                [TensorSpec(name: model.outputName, datatype: .fp32, shape: output)]
            )
        }
    }

    /// `GET /v2/models/NAME`.
    static func metadata(_ entry: ModelRepository.Entry, model: DetectionModel) -> JSONValue {
        let (inputs, outputs) = signature(kind: entry.kind, model: model)
        return .object([
            ("name", .string(entry.name)), ("versions", .array([.string(version)])),
            ("platform", .string(platform)), ("inputs", .array(inputs.map(\.metadata))),
            ("outputs", .array(outputs.map(\.metadata))),
        ])
    }

    /// `GET /v2/models/NAME/config`: Triton's model configuration, dimensions with the batch (max_batch_size 0).
    static func config(_ entry: ModelRepository.Entry, model: DetectionModel) -> JSONValue {
        let (inputs, outputs) = signature(kind: entry.kind, model: model)
        var parameters: [(String, JSONValue)] = [
            ("classes", .object([("string_value", .string(model.classNames.joined(separator: ",")))]))
        ]
        if entry.kind == .detect {
            parameters.append(("source_model", .object([("string_value", .string(entry.stem))])))
        }
        return .object([
            ("name", .string(entry.name)), ("platform", .string(platform)), ("backend", .string(backend)),
            ("version_policy", .object([("latest", .object([("num_versions", .int(1))]))])),
            ("max_batch_size", .int(0)), ("input", .array(inputs.map(\.config))),
            ("output", .array(outputs.map(\.config))),
            ("instance_group", .array([.object([("count", .int(1)), ("kind", .string("KIND_CPU"))])])),
            ("parameters", .object(parameters)),
        ])
    }

    /// One model's entry of `GET /v2/models/stats`.
    static func statistics(name: String, _ s: ModelStatistics) -> JSONValue {
        func duration(_ count: Int, _ ns: UInt64) -> JSONValue {
            .object([("count", .int(count)), ("ns", .int(Int(truncatingIfNeeded: ns)))])
        }
        let zero = duration(0, 0)
        return .object([
            ("name", .string(name)), ("version", .string(version)),
            ("last_inference", .int(Int(truncatingIfNeeded: s.lastInference))),
            ("inference_count", .int(s.inferenceCount)), ("execution_count", .int(s.executionCount)),
            (
                "inference_stats",
                .object([
                    ("success", duration(s.successCount, s.successNanoseconds)),
                    ("fail", duration(s.failCount, s.failNanoseconds)), ("queue", zero),
                    ("compute_input", zero), ("compute_infer", duration(s.successCount, s.successNanoseconds)),
                    ("compute_output", zero), ("cache_hit", zero), ("cache_miss", zero),
                ])
            ),
            ("batch_stats", .array([])),
        ])
    }
}
