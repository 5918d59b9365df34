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

    /// `GET /v2/models/NAME/config`: Triton's model configuration. A model that batches (`max_batch_size` > 0: the
    /// dynamic exports' raw network, every `-detect` model) lists its tensors' dimensions without the batch, as
    /// Triton does; `encoded`, one BYTES element per image, is `[1]` reshaped to `[]`. `dynamic_batching` appears
    /// when concurrent requests share engine calls.
    static func config(_ entry: ModelRepository.Entry, model: DetectionModel, batcher: ModelBatcher) -> JSONValue {
        let (inputs, outputs) = signature(kind: entry.kind, model: model)
        var parameters: [(String, JSONValue)] = [
            ("classes", .object([("string_value", .string(model.classNames.joined(separator: ",")))]))
        ]
        if entry.kind == .detect {
            parameters.append(("source_model", .object([("string_value", .string(entry.stem))])))
        }
        let batching = entry.kind == .detect || model.declaredInputShape[0] == nil
        func dims(_ spec: TensorSpec) -> JSONValue {
            guard batching else { return spec.config }
            var unbatched = spec
            unbatched.shape = Array(spec.shape.dropFirst())
            guard unbatched.shape.isEmpty else { return unbatched.config }
            unbatched.shape = [1]
            guard case .object(var fields) = unbatched.config else { return unbatched.config }
            fields.append(("reshape", .object([("shape", .array([]))])))
            return .object(fields)
        }
        var fields: [(String, JSONValue)] = [
            ("name", .string(entry.name)), ("platform", .string(platform)), ("backend", .string(backend)),
            ("version_policy", .object([("latest", .object([("num_versions", .int(1))]))])),
            ("max_batch_size", .int(batching ? batcher.maxBatchSize : 0)), ("input", .array(inputs.map(dims))),
            ("output", .array(outputs.map(dims))),
        ]
        if batching && batcher.merges {
            fields.append(
                (
                    "dynamic_batching",
                    .object([
                        ("preferred_batch_size", .array([])),
                        ("max_queue_delay_microseconds", .int(Int(batcher.maxQueueDelayNanoseconds / 1000))),
                        ("preserve_ordering", .bool(false)),
                    ])
                ))
        }
        fields += [
            ("instance_group", .array([.object([("count", .int(1)), ("kind", .string("KIND_CPU"))])])),
            ("parameters", .object(parameters)),
        ]
        return .object(fields)
    }

    /// One model's entry of `GET /v2/models/stats`.
    static func statistics(name: String, _ s: ModelStatistics) -> JSONValue {
        func duration(_ count: Int, _ ns: UInt64) -> JSONValue {
            .object([("count", .int(count)), ("ns", .int(Int(truncatingIfNeeded: ns)))])
        }
        func duration(_ d: ModelStatistics.Duration) -> JSONValue { duration(d.count, d.nanoseconds) }
        let zero = duration(0, 0)
        return .object([
            ("name", .string(name)), ("version", .string(version)),
            ("last_inference", .int(Int(truncatingIfNeeded: s.lastInference))),
            ("inference_count", .int(s.inferenceCount)), ("execution_count", .int(s.executionCount)),
            (
                "inference_stats",
                .object([
                    ("success", duration(s.success)), ("fail", duration(s.fail)), ("queue", duration(s.queue)),
                    ("compute_input", duration(s.computeInput)), ("compute_infer", duration(s.computeInfer)),
                    ("compute_output", duration(s.computeOutput)),
                    ("cache_hit", zero), ("cache_miss", zero),
                ])
            ),
            (
                "batch_stats",
                .array(
                    s.batches.keys.sorted().map { size in
                        .object([
                            ("batch_size", .int(size)), ("compute_input", zero),
                            ("compute_infer", duration(s.batches[size]!)), ("compute_output", zero),
                        ])
                    })
            ),
        ])
    }
}
