extension ONNXTensor {
    /// Decodes the payload into a `TensorValue`; this is the one copy the weights go through.
    package func value(context: @autoclosure () -> String) throws(ModelError) -> TensorValue {
        let type = try DataType(onnx: dataType, context: "\(context()) '\(name)'")
        var shape: [Int] = []
        for d in dims {
            guard d >= 0, d <= Int64(TensorValue.maxElements) else {
                throw .malformed("\(context()) '\(name)' has dimension \(d)")
            }
            shape.append(Int(d))
        }
        let count = try TensorValue.elementCount(shape, context: "\(context()) '\(name)'")
        func checkCount(_ n: Int) throws(ModelError) {
            guard n == count else {
                throw .malformed("\(context()) '\(name)' holds \(n) values but its shape \(shape) needs \(count)")
            }
        }
        switch payload {
        case .external:
            throw .unsupported("\(context()) '\(name)' uses external data, which is not supported")
        case .none:
            guard count == 0 else { throw ModelError(.missingTensor, "\(context()) '\(name)' has no data") }
            return type.isFloatingPoint
                ? TensorValue(dataType: type, shape: shape, floats: [])
                : TensorValue(dataType: type, shape: shape, ints: [])
        case .floats(let f):
            try checkCount(f.count)
            return TensorValue(dataType: type, shape: shape, floats: f)
        case .doubles(let d):
            try checkCount(d.count)
            return TensorValue(dataType: type, shape: shape, floats: d.map { Float($0) })
        case .int64s(let v), .uint64s(let v):
            try checkCount(v.count)
            return TensorValue(dataType: type, shape: shape, ints: v)
        case .int32s(let v):
            try checkCount(v.count)
            switch type {
            case .float16:
                return TensorValue(
                    dataType: type, shape: shape,
                    floats: v.map { Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) })
            case .bfloat16:
                return TensorValue(
                    dataType: type, shape: shape,
                    floats: v.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0) << 16) })
            default:
                return TensorValue(dataType: type, shape: shape, ints: v)
            }
        case .raw(let range):
            guard let bytes else { throw .malformed("\(context()) '\(name)' lost its bytes") }
            let size = type.byteSize
            guard range.count == count * size else {
                throw .malformed(
                    "\(context()) '\(name)' has \(range.count) bytes of data but shape \(shape) of \(type) needs \(count * size)"
                )
            }
            return bytes.withBytes { buffer in
                let raw = UnsafeRawBufferPointer(rebasing: buffer[range])
                return ONNXTensor.decodeRaw(raw, type: type, count: count, shape: shape)
            }
        }
    }

    static func decodeRaw(_ raw: UnsafeRawBufferPointer, type: DataType, count: Int, shape: [Int]) -> TensorValue {
        func ints<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
            (0..<count).map {
                Int64(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self))
            }
        }
        switch type {
        case .float:
            let floats = [Float](unsafeUninitializedCapacity: count) { out, n in
                if count > 0 { UnsafeMutableRawBufferPointer(out).copyMemory(from: raw) }
                n = count
            }
            return TensorValue(dataType: type, shape: shape, floats: floats)
        case .float16:
            let floats = (0..<count).map {
                Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))
            }
            return TensorValue(dataType: type, shape: shape, floats: floats)
        case .bfloat16:
            let floats = (0..<count).map {
                Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
            }
            return TensorValue(dataType: type, shape: shape, floats: floats)
        case .double:
            let floats = (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            return TensorValue(dataType: type, shape: shape, floats: floats)
        case .int64: return TensorValue(dataType: type, shape: shape, ints: ints(Int64.self))
        case .uint64: return TensorValue(dataType: type, shape: shape, ints: ints(UInt64.self))
        case .int32: return TensorValue(dataType: type, shape: shape, ints: ints(Int32.self))
        case .uint32: return TensorValue(dataType: type, shape: shape, ints: ints(UInt32.self))
        case .int16: return TensorValue(dataType: type, shape: shape, ints: ints(Int16.self))
        case .uint16: return TensorValue(dataType: type, shape: shape, ints: ints(UInt16.self))
        case .int8: return TensorValue(dataType: type, shape: shape, ints: ints(Int8.self))
        case .uint8, .bool: return TensorValue(dataType: type, shape: shape, ints: ints(UInt8.self))
        case .string: return TensorValue(dataType: type, shape: shape, ints: [])
        }
    }
}
