import CLookoutCUDA

/// A failed CUDA driver call: the driver's status code with its own name and text (`cuGetErrorName`,
/// `cuGetErrorString`), and the call that returned it.
public struct CUDAError: Error, CustomStringConvertible, Sendable {
    /// A driver status code (`CUresult`), matchable with `~=` against the constants below.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(_ rawValue: Int32) { self.rawValue = rawValue }
        public static let success = Code(0)
        public static let invalidValue = Code(1)
        public static let outOfMemory = Code(2)
        public static let notInitialized = Code(3)
        public static let noDevice = Code(100)
        public static let invalidDevice = Code(101)
        public static let invalidImage = Code(200)
        public static let invalidContext = Code(201)
        public static let noBinaryForGPU = Code(209)
        public static let invalidHandle = Code(400)
        public static let notFound = Code(500)
        public static let notReady = Code(600)
        public static let illegalAddress = Code(700)
        public static let launchOutOfResources = Code(701)
        public static let launchFailed = Code(719)
        public static let notPermitted = Code(800)
        public static let notSupported = Code(801)
        public static let unknown = Code(999)
        public var description: String { String(rawValue) }
        public static func ~= (pattern: Code, error: CUDAError) -> Bool { pattern == error.code }
    }

    public let code: Code
    /// The driver's name for the code, e.g. `CUDA_ERROR_OUT_OF_MEMORY`.
    public let name: String
    /// The driver's sentence for the code.
    public let message: String
    /// The driver entry point that failed, e.g. `cuMemAlloc`.
    public let call: String

    public init(code: Code, name: String, message: String, call: String) {
        self.code = code
        self.name = name
        self.message = message
        self.call = call
    }

    public var description: String { "\(call): \(name) (\(code)): \(message)" }
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
