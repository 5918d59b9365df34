/// The parts of an ONNX `ModelProto` that Lookout uses, as read from the file.
public struct ONNXModel: Sendable {
    public var irVersion: Int64 = 0
    public var producerName = ""
    public var producerVersion = ""
    /// Operator set versions by domain ("" is the default ONNX domain).
    public var opsets: [String: Int64] = [:]
    public var metadata: [String: String] = [:]
    public var graph = ONNXGraph()

    /// The default-domain opset, which fixes the semantics of every standard operator.
    public var opset: Int { Int(opsets[""] ?? opsets["ai.onnx"] ?? 0) }
}

public struct ONNXGraph: Sendable {
    public var name = ""
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []
}

public struct ONNXNode: Sendable {
    public var name = ""
    public var opType = ""
    public var domain = ""
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributes: [String: ONNXAttribute] = [:]
}

public enum ONNXAttribute: Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    /// Graphs, sparse tensors, type protos: present but never usable by the operators Lookout supports.
    case unsupported(String)
}

public struct ONNXValueInfo: Sendable {
    public enum Dimension: Sendable, Equatable {
        case fixed(Int64)
        case symbolic(String)
    }

    public var name = ""
    public var elementType: Int32 = 0
    public var shape: [Dimension]? = nil
}

/// A tensor as stored in the file. Payloads in `raw_data` stay slices of the model's bytes.
public struct ONNXTensor: Sendable {
    public enum Payload: Sendable {
        case raw(Range<Int>)
        case floats([Float])
        case int32s([Int64])
        case int64s([Int64])
        case doubles([Double])
        case uint64s([Int64])
        case external
        case none
    }

    public var name = ""
    public var dataType: Int32 = 0
    public var dims: [Int64] = []
    public var payload: Payload = .none
    /// The bytes `payload` ranges refer to.
    public var bytes: ModelBytes?
}
