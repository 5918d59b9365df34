/// A failure of a Lookout API: what kind (`code`), one line that names the file, stream, model or parameter and
/// the problem (`message`), and the library error underneath when there is one (`cause`: a `ModelError`,
/// `CUDAError`, `VideoError`, `MediaError`, …).
///
/// Messages speak in API terms: a parameter is named as the API names it, in backticks (`` `maxBatch` must be at
/// least 1``), and `parameter` holds that name, so that a command-line front end can say `--batch` instead.
public struct LookoutError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for code that reacts to some of them (a retry, a status code).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A parameter out of range, or settings that cannot run together.
        public static let invalidArgument = Code("invalid-argument")
        /// A file, folder, model or stream that is not there.
        public static let notFound = Code("not-found")
        /// A model file that is not a valid ONNX export, or one Lookout cannot run (the message says what to do).
        public static let unsupportedModel = Code("unsupported-model")
        /// Image or frame data that cannot be decoded or used.
        public static let invalidInput = Code("invalid-input")
        /// The requested device (CUDA driver, NVRTC, a GPU) is not available here.
        public static let deviceUnavailable = Code("device-unavailable")
        /// The device failed while running (a CUDA call, a kernel).
        public static let deviceFailure = Code("device-failure")
        /// A video file or stream failed (open, demux, decode).
        public static let streamFailure = Code("stream-failure")
        /// Reading or writing a file failed.
        public static let io = Code("io")
        /// Running the model failed (shapes, plan, engine).
        public static let inferenceFailure = Code("inference-failure")
    }

    public var code: Code
    public var message: String
    /// The API parameter an `invalidArgument` error is about.
    public var parameter: String?
    /// The library error underneath.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, parameter: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.parameter = parameter
        self.cause = cause
    }

    /// `` `parameter` `` + `problem`, e.g. `invalidArgument("maxBatch", "must be at least 1")`.
    public static func invalidArgument(_ parameter: String, _ problem: String) -> LookoutError {
        LookoutError(.invalidArgument, "`\(parameter)` \(problem)", parameter: parameter)
    }

    public var description: String { message }
}
