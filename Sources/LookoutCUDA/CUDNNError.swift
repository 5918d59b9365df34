import CLookoutCUDA

/// A failed cuDNN call: cuDNN's status code with its own text for it (`cudnnGetErrorString`), and the call.
package struct CUDNNError: Error, CustomStringConvertible, Sendable {
    /// A `cudnnStatus_t`, matchable with `~=`.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package let rawValue: Int32
        package init(_ rawValue: Int32) { self.rawValue = rawValue }
        package static let success = Code(0)
        package var description: String { String(rawValue) }
        package static func ~= (pattern: Code, error: CUDNNError) -> Bool { pattern == error.code }
    }

    package let code: Code
    /// cuDNN's text for the code, e.g. `CUDNN_STATUS_NOT_SUPPORTED`.
    package let message: String
    /// The entry point that failed, e.g. `cudnnSetTensor4dDescriptorEx`.
    package let call: String

    package var description: String { "\(call): \(message) (\(code))" }

    /// The same failure as a `CUDAError`, for the launch path (whose errors are the driver's type): the code is
    /// cuDNN's and the name is cuDNN's text for it.
    package var asCUDAError: CUDAError {
        CUDAError(code: .init(code.rawValue), name: message, message: "cuDNN call failed", call: call)
    }
}

extension CUDNNAPI {
    @inline(__always)
    func check(_ status: LookoutCUDNNStatus, _ call: StaticString) throws(CUDNNError) {
        if status != 0 { throw CUDNNError(code: .init(status), message: message(status), call: "\(call)") }
    }
}
