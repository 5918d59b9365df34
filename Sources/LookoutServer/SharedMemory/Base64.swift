/// Standard base64 (RFC 4648, `+` and `/`, `=` padding) to bytes, for the CUDA IPC handle of a register request.
enum Base64Decoding {
    /// The bytes of `text`; nil when it is not base64 (a character outside the alphabet, a bad length or padding).
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(c - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(c - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): values.append(64)
            default: return nil
            }
        }
        guard values.count % 4 == 0 else { return nil }
        let padding = values.reversed().prefix { $0 == 64 }.count
        guard padding <= 2, !values.dropLast(padding).contains(64) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count / 4 * 3)
        for i in stride(from: 0, to: values.count, by: 4) {
            let v = values[i..<(i + 4)].map { $0 == 64 ? 0 : UInt32($0) }
            let n = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]
            bytes.append(UInt8(n >> 16))
            bytes.append(UInt8(truncatingIfNeeded: n >> 8))
            bytes.append(UInt8(truncatingIfNeeded: n))
        }
        bytes.removeLast(padding)
        return bytes
    }
}
