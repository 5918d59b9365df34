/// A model or plan the CUDA backend cannot run, with what to do about it; CUDA's own failures stay `CUDAError`s.
public struct GPUBackendError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable {
        public let rawValue: Int
        public static let unsupported = Code(rawValue: 1)
        public static let invalidPlan = Code(rawValue: 2)
        public static let tooLarge = Code(rawValue: 3)
        public static let wrongResult = Code(rawValue: 4)
        public static func ~= (pattern: Code, error: GPUBackendError) -> Bool { pattern == error.code }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
