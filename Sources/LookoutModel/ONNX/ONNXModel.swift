/// The parts of an ONNX `ModelProto` that Lookout uses, as read from the file.
package struct ONNXModel: Sendable {
    package var irVersion: Int64 = 0
    package var producerName = ""
    package var producerVersion = ""
    /// Operator set versions by domain ("" is the default ONNX domain).
    package var opsets: [String: Int64] = [:]
    package var metadata: [String: String] = [:]
    package var graph = ONNXGraph()

    /// The default-domain opset, which fixes the semantics of every standard operator.
    package var opset: Int { Int(opsets[""] ?? opsets["ai.onnx"] ?? 0) }
}

package struct ONNXGraph: Sendable {
    package var name = ""
    package var nodes: [ONNXNode] = []
    package var initializers: [ONNXTensor] = []
    package var inputs: [ONNXValueInfo] = []
    package var outputs: [ONNXValueInfo] = []
}

package struct ONNXNode: Sendable {
    package var name = ""
    package var opType = ""
    package var domain = ""
    package var inputs: [String] = []
    package var outputs: [String] = []
    package var attributes: [String: ONNXAttribute] = [:]
}

package enum ONNXAttribute: Sendable {
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

package struct ONNXValueInfo: Sendable {
    package enum Dimension: Sendable, Equatable {
        case fixed(Int64)
        case symbolic(String)
    }

    package var name = ""
    package var elementType: Int32 = 0
    package var shape: [Dimension]? = nil
}

/// A tensor as stored in the file. Payloads in `raw_data` stay slices of the model's bytes.
package struct ONNXTensor: Sendable {
    package enum Payload: Sendable {
        case raw(Range<Int>)
        case floats([Float])
        case int32s([Int64])
        case int64s([Int64])
        case doubles([Double])
        case uint64s([Int64])
        case external
        case none
    }

    package var name = ""
    package var dataType: Int32 = 0
    package var dims: [Int64] = []
    package var payload: Payload = .none
    /// The bytes `payload` ranges refer to.
    package var bytes: ModelBytes?
}
