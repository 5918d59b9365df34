import LookoutCore
import LookoutInference
import LookoutModel

/// The model configuration and statistics messages: what `ModelMetadata` answers over HTTP, as protobuf.
enum GRPCModelConfig {
    /// Triton's `ModelConfig` of a model, as `ModelMetadata.config` answers over HTTP: name, platform, backend,
    /// version policy, `max_batch_size` (0 for a fixed-batch export; then the dimensions include the batch), inputs
    /// and outputs, `dynamic_batching` when concurrent requests share engine calls, instance group, the `classes`
    /// parameter.
    static func config(_ entry: ModelRepository.Entry, model: DetectionModel, batcher: ModelBatcher)
        -> Inference_ModelConfig
    {
        let (inputs, outputs) = ModelMetadata.signature(kind: entry.kind, model: model)
        let batching = entry.kind == .detect || model.declaredInputShape[0] == nil
        // A batching model's dimensions leave the batch out; `encoded` (one BYTES element an image) is [1] reshaped
        // to [].
        func dims(_ spec: TensorSpec) -> (dims: [Int64], reshape: Bool) {
            guard batching else { return (spec.shape.map { Int64($0) }, false) }
            let rest = spec.shape.dropFirst().map { Int64($0) }
            return rest.isEmpty ? ([1], true) : (rest, false)
        }
        var config = Inference_ModelConfig()
        config.name = entry.name
        config.platform = ModelMetadata.platform
        config.backend = ModelMetadata.backend
        config.versionPolicy = .with { $0.latest = .with { $0.numVersions = 1 } }
        config.maxBatchSize = Int32(batching ? batcher.maxBatchSize : 0)
        config.input = inputs.map { spec in
            .with {
                $0.name = spec.name
                $0.dataType = dataType(spec.datatype)
                let (d, reshape) = dims(spec)
                $0.dims = d
                if reshape { $0.reshape = .init() }
                $0.optional = spec.optional
            }
        }
        config.output = outputs.map { spec in
            .with {
                $0.name = spec.name
                $0.dataType = dataType(spec.datatype)
                let (d, reshape) = dims(spec)
                $0.dims = d
                if reshape { $0.reshape = .init() }
            }
        }
        if batching && batcher.merges {
            config.dynamicBatching = .with {
                $0.maxQueueDelayMicroseconds = UInt64(batcher.maxQueueDelayNanoseconds / 1000)
            }
        }
        config.instanceGroup = [
            .with {
                $0.name = entry.name
                $0.count = 1
                $0.kind = .cpu
            }
        ]
        config.parameters["classes"] = .with { $0.stringValue = model.classNames.joined(separator: ",") }
        if entry.kind == .detect {
            config.parameters["source_model"] = .with { $0.stringValue = entry.stem }
        }
        return config
    }

    static func dataType(_ datatype: TensorDatatype) -> Inference_DataType {
        switch datatype {
        case .bool: .typeBool
        case .uint8: .typeUint8
        case .uint16: .typeUint16
        case .uint32: .typeUint32
        case .uint64: .typeUint64
        case .int8: .typeInt8
        case .int16: .typeInt16
        case .int32: .typeInt32
        case .int64: .typeInt64
        case .fp16: .typeFp16
        case .bf16: .typeBf16
        case .fp32: .typeFp32
        case .fp64: .typeFp64
        case .bytes: .typeString
        }
    }

    /// One model's `ModelStatistics`: requests (success, fail, queue, compute_infer) and executions by batch size,
    /// as over HTTP.
    static func statistics(name: String, _ s: ModelStatistics) -> Inference_ModelStatistics {
        func duration(_ d: ModelStatistics.Duration) -> Inference_StatisticDuration {
            .with {
                $0.count = UInt64(d.count)
                $0.ns = d.nanoseconds
            }
        }
        let zero = duration(ModelStatistics.Duration())
        return .with {
            $0.name = name
            $0.version = ModelMetadata.version
            $0.lastInference = s.lastInference
            $0.inferenceCount = UInt64(s.inferenceCount)
            $0.executionCount = UInt64(s.executionCount)
            $0.inferenceStats = .with {
                $0.success = duration(s.success)
                $0.fail = duration(s.fail)
                $0.queue = duration(s.queue)
                $0.computeInfer = duration(s.computeInfer)
                $0.computeInput = duration(s.computeInput)
                $0.computeOutput = duration(s.computeOutput)
                $0.cacheHit = zero
                $0.cacheMiss = zero
            }
            $0.batchStats = s.batches.keys.sorted().map { size in
                .with {
                    $0.batchSize = UInt64(size)
                    $0.computeInfer = duration(s.batches[size]!)
                    $0.computeInput = zero
                    $0.computeOutput = zero
                }
            }
        }
    }
}
