import LookoutCore

/// Tensor elements between JSON values and little-endian bytes.
enum TensorJSON {
    /// The little-endian bytes of `values` as `datatype` (numbers checked against the type's range).
    static func encode(_ values: [JSONValue], as datatype: TensorDatatype, name: String) throws(ServeError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * (datatype.size ?? 1))
        func integer(_ value: JSONValue, _ range: ClosedRange<Int>) throws(ServeError) -> Int {
            guard let n = value.intValue, range.contains(n) else {
                throw ServeError(
                    400, "input '\(name)': \(value.render(pretty: false)) is not a \(datatype.rawValue) value")
            }
            return n
        }
        func append(_ bits: UInt64, bytes: Int) {
            for k in 0..<bytes { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(k)))) }
        }
        for value in values {
            switch datatype {
            case .bool:
                guard case .bool(let b) = value else {
                    throw ServeError(400, "input '\(name)': BOOL data must be booleans")
                }
                out.append(b ? 1 : 0)
            case .uint8: out.append(UInt8(try integer(value, 0...255)))
            case .int8: append(UInt64(bitPattern: Int64(try integer(value, -128...127))), bytes: 1)
            case .uint16: append(UInt64(try integer(value, 0...65535)), bytes: 2)
            case .int16: append(UInt64(bitPattern: Int64(try integer(value, -32768...32767))), bytes: 2)
            case .uint32: append(UInt64(try integer(value, 0...Int(UInt32.max))), bytes: 4)
            case .int32:
                append(UInt64(bitPattern: Int64(try integer(value, Int(Int32.min)...Int(Int32.max)))), bytes: 4)
            case .int64, .uint64: append(UInt64(bitPattern: Int64(try integer(value, 0...Int.max))), bytes: 8)
            case .fp32, .fp64:
                guard let d = value.doubleValue else {
                    throw ServeError(400, "input '\(name)': \(value.render(pretty: false)) is not a number")
                }
                if datatype == .fp32 {
                    append(UInt64(Float(d).bitPattern), bytes: 4)
                } else {
                    append(d.bitPattern, bytes: 8)
                }
            case .fp16, .bf16, .bytes:
                throw ServeError(400, "input '\(name)': \(datatype.rawValue) data must be sent in the binary section")
            }
        }
        return out
    }

    /// FP32 values as JSON numbers.
    static func floats(_ values: [Float]) -> JSONValue {
        .array(values.map { $0 == $0.rounded() && abs($0) < 1e15 ? .int(Int($0)) : .double(Double($0)) })
    }
}

/// The little-endian bytes of FP32 and INT32 outputs.
enum TensorBytes {
    static func of(_ values: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 4)
        for (i, v) in values.enumerated() {
            let bits = v.bitPattern
            for k in 0..<4 { out[4 * i + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
        }
        return out
    }

    static func of(_ values: [Int32]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 4)
        for (i, v) in values.enumerated() {
            let bits = UInt32(bitPattern: v)
            for k in 0..<4 { out[4 * i + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
        }
        return out
    }

    /// Little-endian FP32 bytes as floats (the caller checked the count).
    static func floats(_ raw: [UInt8]) -> [Float] {
        raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }
}
