/// A model or plan the CUDA backend cannot run, with what to do about it; CUDA's own failures stay `CUDAError`s.
package struct GPUBackendError: Error, CustomStringConvertible, Sendable {
    package struct Code: Hashable, Sendable {
        package let rawValue: Int
        package static let unsupported = Code(rawValue: 1)
        package static let invalidPlan = Code(rawValue: 2)
        package static let tooLarge = Code(rawValue: 3)
        package static let wrongResult = Code(rawValue: 4)
        package static func ~= (pattern: Code, error: GPUBackendError) -> Bool { pattern == error.code }
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
