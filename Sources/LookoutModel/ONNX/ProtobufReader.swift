/// A bounds-checked reader of the protobuf wire format over borrowed bytes.
///
/// ONNX files are read with this instead of generated message types: only the fields Lookout needs are decoded,
/// and tensor payloads stay slices of the (memory-mapped) file until a backend copies them once.
struct ProtobufReader {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    struct Field {
        let number: Int
        let wireType: WireType
        /// For varint/fixed fields the value; unused for length-delimited ones.
        let scalar: UInt64
        /// For length-delimited fields the byte range within the reader's buffer.
        let range: Range<Int>
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int
    /// Whether this reader reads the whole buffer (the file), not one message inside it.
    let isTopLevel: Bool

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.isTopLevel = range == nil
        let r = range ?? 0..<bytes.count
        self.position = r.lowerBound
        self.end = r.upperBound
    }

    var isAtEnd: Bool { position >= end }

    mutating func readVarint() throws(ModelError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw .malformed("truncated varint at byte \(position)") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw .malformed("varint overflows 64 bits at byte \(position)") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .malformed("varint longer than 10 bytes at byte \(position)") }
        }
    }

    mutating func readFixed(_ count: Int) throws(ModelError) -> UInt64 {
        guard end - position >= count else { throw .malformed("truncated fixed-width field at byte \(position)") }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += count
        return value
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(ModelError) -> Field? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        let number = key >> 3
        guard number > 0, number < (1 << 29) else { throw .malformed("invalid field number \(number)") }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw .malformed("invalid wire type \(key & 7) for field \(number)")
        }
        switch wireType {
        case .varint:
            return Field(number: Int(number), wireType: wireType, scalar: try readVarint(), range: 0..<0)
        case .fixed64:
            return Field(number: Int(number), wireType: wireType, scalar: try readFixed(8), range: 0..<0)
        case .fixed32:
            return Field(number: Int(number), wireType: wireType, scalar: try readFixed(4), range: 0..<0)
        case .lengthDelimited:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                // At the top level the only way to run out of bytes is a file that ends early.
                let cause = isTopLevel ? "the file is truncated: " : ""
                throw .malformed("\(cause)field \(number) claims \(length) bytes but only \(end - position) remain")
            }
            let start = position
            position += Int(length)
            return Field(number: Int(number), wireType: wireType, scalar: 0, range: start..<position)
        case .startGroup, .endGroup:
            throw .malformed("deprecated group encoding in field \(number)")
        }
    }

    func string(_ field: Field) throws(ModelError) -> String {
        guard field.wireType == .lengthDelimited else { throw .malformed("field \(field.number) is not a string") }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.range]), as: UTF8.self)
    }

    func message(_ field: Field) throws(ModelError) -> ProtobufReader {
        guard field.wireType == .lengthDelimited else { throw .malformed("field \(field.number) is not a message") }
        return ProtobufReader(bytes, range: field.range)
    }

    /// Repeated int64 values, packed or one per field occurrence.
    func appendInt64s(_ field: Field, to array: inout [Int64]) throws(ModelError) {
        switch field.wireType {
        case .varint: array.append(Int64(bitPattern: field.scalar))
        case .lengthDelimited:
            var sub = ProtobufReader(bytes, range: field.range)
            while !sub.isAtEnd { array.append(Int64(bitPattern: try sub.readVarint())) }
        default: throw .malformed("field \(field.number) has wire type \(field.wireType) for integers")
        }
    }

    /// Repeated float values, packed or one per field occurrence.
    func appendFloats(_ field: Field, to array: inout [Float]) throws(ModelError) {
        switch field.wireType {
        case .fixed32: array.append(Float(bitPattern: UInt32(truncatingIfNeeded: field.scalar)))
        case .lengthDelimited:
            guard field.range.count % 4 == 0 else { throw .malformed("packed floats of odd length") }
            var sub = ProtobufReader(bytes, range: field.range)
            while !sub.isAtEnd { array.append(Float(bitPattern: UInt32(truncatingIfNeeded: try sub.readFixed(4)))) }
        default: throw .malformed("field \(field.number) has wire type \(field.wireType) for floats")
        }
    }

    /// Repeated double values, packed or one per field occurrence.
    func appendDoubles(_ field: Field, to array: inout [Double]) throws(ModelError) {
        switch field.wireType {
        case .fixed64: array.append(Double(bitPattern: field.scalar))
        case .lengthDelimited:
            guard field.range.count % 8 == 0 else { throw .malformed("packed doubles of odd length") }
            var sub = ProtobufReader(bytes, range: field.range)
            while !sub.isAtEnd { array.append(Double(bitPattern: try sub.readFixed(8))) }
        default: throw .malformed("field \(field.number) has wire type \(field.wireType) for doubles")
        }
    }
}
