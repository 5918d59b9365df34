import CLookoutImage

/// Turns a status of the C door into a `MediaError` with the library's own text.
enum CodecStatus {
    static func error(_ status: Int32, format: ImageFormat, name: String, message: [CChar]) -> MediaError? {
        guard status != Int32(LK_OK.rawValue) else { return nil }
        let text = message.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let kind = format.displayName
        switch UInt32(status) {
        case LK_ERR_TRUNCATED.rawValue:
            return MediaError(.truncated, file: name, message: "truncated \(kind) (\(text))")
        case LK_ERR_UNSUPPORTED.rawValue:
            return MediaError(.unsupported, file: name, message: "unsupported \(kind) (\(text))")
        case LK_ERR_CAPACITY.rawValue:
            return MediaError(.capacity, file: name, message: "output buffer too small for the decoded image")
        case LK_ERR_MEMORY.rawValue:
            return MediaError(.outOfMemory, file: name, message: "out of memory while decoding \(kind)")
        default:
            return MediaError(.corrupt, file: name, message: "corrupt \(kind) (\(text))")
        }
    }
}
