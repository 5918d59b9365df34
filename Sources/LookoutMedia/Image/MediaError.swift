/// Why an image could not be read or written: a code to match on, the file it concerns and a one-line message,
/// printed as `photo.jpg: truncated JPEG (premature end of data)`.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file could not be opened or read (missing, a directory, no permission).
        public static let unreadable = Code("unreadable")
        /// The file has no bytes.
        public static let empty = Code("empty")
        /// The bytes are neither JPEG nor PNG.
        public static let unknownFormat = Code("unknownFormat")
        /// The data ends before the image does.
        public static let truncated = Code("truncated")
        /// The library rejected the data.
        public static let corrupt = Code("corrupt")
        /// A valid file of a kind Lookout does not decode (for example 12-bit JPEG).
        public static let unsupported = Code("unsupported")
        /// A caller-provided buffer is smaller than the decoded image.
        public static let capacity = Code("capacity")
        /// Memory ran out inside the codec.
        public static let outOfMemory = Code("outOfMemory")
        /// The output file could not be written.
        public static let writeFailed = Code("writeFailed")
    }

    public var code: Code
    /// The file as the caller named it, or `<memory>` for bytes with no name.
    public var file: String
    /// One line saying what happened and, where it helps, what to do.
    public var message: String

    public init(_ code: Code, file: String, message: String) {
        self.code = code
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
