import CLookoutCUDA

/// A failed CUDA driver call: the driver's status code with its own name and text (`cuGetErrorName`,
/// `cuGetErrorString`), and the call that returned it.
package struct CUDAError: Error, CustomStringConvertible, Sendable {
    /// A driver status code (`CUresult`), matchable with `~=` against the constants below.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package let rawValue: Int32
        package init(_ rawValue: Int32) { self.rawValue = rawValue }
        package static let success = Code(0)
        package static let invalidValue = Code(1)
        package static let outOfMemory = Code(2)
        package static let notInitialized = Code(3)
        package static let noDevice = Code(100)
        package static let invalidDevice = Code(101)
        package static let invalidImage = Code(200)
        package static let invalidContext = Code(201)
        package static let noBinaryForGPU = Code(209)
        package static let invalidHandle = Code(400)
        package static let notFound = Code(500)
        package static let notReady = Code(600)
        package static let illegalAddress = Code(700)
        package static let launchOutOfResources = Code(701)
        package static let launchFailed = Code(719)
        package static let notPermitted = Code(800)
        package static let notSupported = Code(801)
        package static let unknown = Code(999)
        package var description: String { String(rawValue) }
        package static func ~= (pattern: Code, error: CUDAError) -> Bool { pattern == error.code }
    }

    package let code: Code
    /// The driver's name for the code, e.g. `CUDA_ERROR_OUT_OF_MEMORY`.
    package let name: String
    /// The driver's sentence for the code.
    package let message: String
    /// The driver entry point that failed, e.g. `cuMemAlloc`.
    package let call: String

    package init(code: Code, name: String, message: String, call: String) {
        self.code = code
        self.name = name
        self.message = message
        self.call = call
    }

    package var description: String { "\(call): \(name) (\(code)): \(message)" }
}

extension DriverAPI {
    /// Turns a status into a thrown `CUDAError` with the driver's own words for it.
    @inline(__always)
    func check(_ status: LookoutCUresult, _ call: StaticString) throws(CUDAError) {
        if status != 0 { throw error(status, call: "\(call)") }
    }

    func error(_ status: LookoutCUresult, call: String) -> CUDAError {
        var namePointer: UnsafePointer<CChar>? = nil
        var textPointer: UnsafePointer<CChar>? = nil
        _ = cuGetErrorName(status, &namePointer)
        _ = cuGetErrorString(status, &textPointer)
        let name = namePointer.map { String(cString: $0) } ?? "CUDA_ERROR_\(status)"
        let text = textPointer.map { String(cString: $0) } ?? "unrecognised error code"
        return CUDAError(code: .init(status), name: name, message: text, call: call)
    }
}
