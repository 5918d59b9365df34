/// ONNX element types (the `TensorProto.DataType` numbers).
public enum DataType: Int32, Sendable, CustomStringConvertible {
    case float = 1
    case uint8 = 2
    case int8 = 3
    case uint16 = 4
    case int16 = 5
    case int32 = 6
    case int64 = 7
    case string = 8
    case bool = 9
    case float16 = 10
    case double = 11
    case uint32 = 12
    case uint64 = 13
    case bfloat16 = 16

    package init(onnx value: Int32, context: @autoclosure () -> String) throws(ModelError) {
        guard let type = DataType(rawValue: value), type != .string else {
            throw .unsupported("\(context()): element type \(value) is not supported")
        }
        self = type
    }

    /// Floating types are held as `Float` in constants and computed in fp32 by the CPU backend.
    public var isFloatingPoint: Bool { self == .float || self == .float16 || self == .double || self == .bfloat16 }

    public var byteSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .float, .int32, .uint32: 4
        case .int64, .double, .uint64: 8
        case .string: 0
        }
    }

    public var description: String {
        switch self {
        case .float: "float32"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .double: "float64"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .bfloat16: "bfloat16"
        }
    }
}
