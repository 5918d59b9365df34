import CLookoutCUDA

/// A failed cuDNN call: cuDNN's status code with its own text for it (`cudnnGetErrorString`), and the call.
public struct CUDNNError: Error, CustomStringConvertible, Sendable {
    /// A `cudnnStatus_t`, matchable with `~=`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(_ rawValue: Int32) { self.rawValue = rawValue }
        public static let success = Code(0)
        public var description: String { String(rawValue) }
        public static func ~= (pattern: Code, error: CUDNNError) -> Bool { pattern == error.code }
    }

    public let code: Code
    /// cuDNN's text for the code, e.g. `CUDNN_STATUS_NOT_SUPPORTED`.
    public let message: String
    /// The entry point that failed, e.g. `cudnnSetTensor4dDescriptorEx`.
    public let call: String

    public var description: String { "\(call): \(message) (\(code))" }

    /// The same failure as a `CUDAError`, for the launch path (whose errors are the driver's type): the code is
    /// cuDNN's and the name is cuDNN's text for it.
    public var asCUDAError: CUDAError {
        CUDAError(code: .init(code.rawValue), name: message, message: "cuDNN call failed", call: call)
    }
}

extension CUDNNAPI {
    @inline(__always)
    func check(_ status: LookoutCUDNNStatus, _ call: StaticString) throws(CUDNNError) {
        if status != 0 { throw CUDNNError(code: .init(status), message: message(status), call: "\(call)") }
    }
}
