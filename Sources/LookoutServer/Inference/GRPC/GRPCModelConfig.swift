import LookoutCore
import LookoutInference
import LookoutModel

/// The model configuration and statistics messages: what `ModelMetadata` answers over HTTP, as protobuf.
enum GRPCModelConfig {
    /// Triton's `ModelConfig` of a model: the fields tritonclient's `get_model_config` shows (name, platform, backend,
    /// version policy, `max_batch_size` 0 with the batch in the dimensions, inputs and outputs, instance group, the
    /// `classes` parameter).
    static func config(_ entry: ModelRepository.Entry, model: DetectionModel) -> Inference_ModelConfig {
        let (inputs, outputs) = ModelMetadata.signature(kind: entry.kind, model: model)
        var config = Inference_ModelConfig()
        config.name = entry.name
        config.platform = ModelMetadata.platform
        config.backend = ModelMetadata.backend
        config.versionPolicy = .with { $0.latest = .with { $0.numVersions = 1 } }
        config.maxBatchSize = 0
        config.input = inputs.map { spec in
            .with {
                $0.name = spec.name
                $0.dataType = dataType(spec.datatype)
                $0.dims = spec.shape.map { Int64($0) }
                $0.optional = spec.optional
            }
        }
        config.output = outputs.map { spec in
            .with {
                $0.name = spec.name
                $0.dataType = dataType(spec.datatype)
                $0.dims = spec.shape.map { Int64($0) }
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

    /// One model's `ModelStatistics` (success and fail counted; the other phases zero, as over HTTP).
    static func statistics(name: String, _ s: ModelStatistics) -> Inference_ModelStatistics {
        func duration(_ count: Int, _ ns: UInt64) -> Inference_StatisticDuration {
            .with {
                $0.count = UInt64(count)
                $0.ns = ns
            }
        }
        return .with {
            $0.name = name
            $0.version = ModelMetadata.version
            $0.lastInference = s.lastInference
            $0.inferenceCount = UInt64(s.inferenceCount)
            $0.executionCount = UInt64(s.executionCount)
            $0.inferenceStats = .with {
                $0.success = duration(s.successCount, s.successNanoseconds)
                $0.fail = duration(s.failCount, s.failNanoseconds)
                $0.computeInfer = duration(s.successCount, s.successNanoseconds)
                $0.queue = duration(0, 0)
                $0.computeInput = duration(0, 0)
                $0.computeOutput = duration(0, 0)
                $0.cacheHit = duration(0, 0)
                $0.cacheMiss = duration(0, 0)
            }
        }
    }
}
