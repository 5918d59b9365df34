/// The Open Inference Protocol's tensor element types (KServe v2 `datatype`), with their sizes in bytes.
enum TensorDatatype: String, Sendable {
    case bool = "BOOL"
    case uint8 = "UINT8"
    case uint16 = "UINT16"
    case uint32 = "UINT32"
    case uint64 = "UINT64"
    case int8 = "INT8"
    case int16 = "INT16"
    case int32 = "INT32"
    case int64 = "INT64"
    case fp16 = "FP16"
    case bf16 = "BF16"
    case fp32 = "FP32"
    case fp64 = "FP64"
    case bytes = "BYTES"

    /// Bytes per element; nil for BYTES (each element is a 4-byte little-endian length and its bytes).
    var size: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    /// Triton's model configuration name (`TYPE_FP32`, `TYPE_STRING` for BYTES).
    var configName: String { self == .bytes ? "TYPE_STRING" : "TYPE_" + rawValue }
}

/// A tensor's shape checked against limits: every dimension at least 0, the element count representable and at
/// most `maxElements` (so that a huge declared shape is refused before anything is allocated).
enum TensorShape {
    static func elements(_ shape: [Int], maxElements: Int) throws(ServeError) -> Int {
        var count = 1
        for d in shape {
            guard d >= 0 else { throw ServeError(400, "shape \(shape): dimensions must be 0 or more") }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maxElements else {
                throw ServeError(400, "shape \(shape): more than \(maxElements) elements")
            }
            count = product
        }
        return count
    }
}
