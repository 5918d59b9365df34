/// A constant tensor: an initializer, a `Constant` node, or the result of folding.
///
/// Floating-point types are held as `Float` (fp16 values convert exactly), integers and booleans as `Int64`;
/// `dataType` keeps the declared type so folding follows ONNX's typing (integer division, casts).
package struct TensorValue: Sendable {
    package enum Storage: Sendable {
        case floats([Float])
        case ints([Int64])
    }

    package var dataType: DataType
    package var shape: [Int]
    package var storage: Storage

    /// The largest tensor Lookout materialises (2^31 elements); guards against corrupt dimensions.
    package static let maxElements = 1 << 31

    package init(dataType: DataType, shape: [Int], floats: [Float]) {
        self.dataType = dataType
        self.shape = shape
        self.storage = .floats(floats)
    }

    package init(dataType: DataType, shape: [Int], ints: [Int64]) {
        self.dataType = dataType
        self.shape = shape
        self.storage = .ints(ints)
    }

    package var count: Int { shape.reduce(1, *) }

    /// The values as floats (integers converted).
    package var floats: [Float] {
        switch storage {
        case .floats(let f): f
        case .ints(let i): i.map { Float($0) }
        }
    }

    /// The values as integers (floats truncated toward zero, as ONNX Cast does).
    package var ints: [Int64] {
        switch storage {
        case .ints(let i): i
        case .floats(let f): f.map { $0.isFinite ? Int64(exactly: $0.rounded(.towardZero)) ?? 0 : 0 }
        }
    }

    package var isFloat: Bool { dataType.isFloatingPoint }

    /// Element count of `shape`, or an error when a dimension is negative or the product is absurd.
    package static func elementCount(_ shape: [Int], context: @autoclosure () -> String) throws(ModelError) -> Int {
        var count = 1
        for d in shape {
            guard d >= 0 else { throw .invalid("\(context()): negative dimension in shape \(shape)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maxElements else {
                throw ModelError(.tooLarge, "\(context()): shape \(shape) has too many elements")
            }
            count = product
        }
        return count
    }

    static func scalar(_ value: Int64, type: DataType = .int64) -> TensorValue {
        TensorValue(dataType: type, shape: [], ints: [value])
    }

    static func vector(_ values: [Int64]) -> TensorValue {
        TensorValue(dataType: .int64, shape: [values.count], ints: values)
    }
}
