/// Why a model could not be read, specialised or planned. `description` is the one line users see:
/// `model.onnx: operator 'GridSample' (node '/x/y') is not supported; supported: …`.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The file is not a readable protobuf ONNX model (truncated, corrupt, not ONNX at all).
        public static let malformed = Code(name: "malformed")
        /// The file could not be opened or read.
        public static let unreadable = Code(name: "unreadable")
        /// A node uses an operator or attribute value Lookout does not implement.
        public static let unsupported = Code(name: "unsupported")
        /// The model is not a YOLO detection model (`task` is not `detect`).
        public static let unsupportedTask = Code(name: "unsupportedTask")
        /// A node input names a tensor that no node, input or initializer provides.
        public static let missingTensor = Code(name: "missingTensor")
        /// The graph is inconsistent: a cycle, mismatched shapes, bad attribute values.
        public static let invalidGraph = Code(name: "invalidGraph")
        /// The requested input shape does not fit the model.
        public static let invalidInput = Code(name: "invalidInput")
        /// A tensor or plan would need more memory than Lookout allows.
        public static let tooLarge = Code(name: "tooLarge")
    }

    public var code: Code
    public var message: String
    /// The model file, prefixed to the message when known.
    public var file: String?

    package init(_ code: Code, _ message: String, file: String? = nil) {
        self.code = code
        self.message = message
        self.file = file
    }

    public var description: String {
        let line = file.map { "\($0): \(message)" } ?? message
        // Names come from the file: a corrupt one may hold newlines or other control characters. Escape them so the
        // message stays one line.
        guard line.unicodeScalars.contains(where: ModelError.isControl) else { return line }
        var escaped = ""
        for scalar in line.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where ModelError.isControl(scalar): escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f..<0xa0).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    package func inFile(_ file: String) -> ModelError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    package static func malformed(_ message: String) -> ModelError {
        ModelError(.malformed, "not a valid ONNX model: \(message)")
    }
    package static func invalid(_ message: String) -> ModelError { ModelError(.invalidGraph, message) }
    package static func unsupported(_ message: String) -> ModelError { ModelError(.unsupported, message) }
}
