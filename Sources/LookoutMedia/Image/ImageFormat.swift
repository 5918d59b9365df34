/// The encoded formats Lookout reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg
    case png

    /// Recognises a format by its first bytes (never by a file extension): JPEG starts with `FF D8 FF`,
    /// PNG with its 8-byte signature.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            return .jpeg
        }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= png.count, zip(bytes.prefix(png.count), png).allSatisfy({ $0 == $1 }) {
            return .png
        }
        return nil
    }

    /// The format a file name asks for by its extension (`.jpg`, `.jpeg`, `.png`, any case), for writing.
    public static func forOutput(path: String) -> ImageFormat? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "jpg", "jpeg": return .jpeg
        case "png": return .png
        default: return nil
        }
    }

    /// The name people use in messages.
    public var displayName: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        }
    }
}
