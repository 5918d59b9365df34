#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A gRPC input's typed elements (`InferTensorContents`) as the little-endian bytes (or BYTES items) the model layer
/// takes. The field must be the datatype's (Triton's pairing: INT8, INT16, INT32 in `int_contents`; UINT8, UINT16,
/// UINT32 in `uint_contents`; …), hold exactly the shape's element count, and every value must fit the datatype;
/// FP16 and BF16 have no typed field and go in `raw_input_contents`.
enum TensorContents {
    static func decode(_ contents: Inference_InferTensorContents, into tensor: inout InputTensor, elements: Int)
        throws(ServeError)
    {
        let name = tensor.name
        let datatype = tensor.datatype
        let counts: [(String, Int)] = [
            ("bool_contents", contents.boolContents.count), ("int_contents", contents.intContents.count),
            ("int64_contents", contents.int64Contents.count), ("uint_contents", contents.uintContents.count),
            ("uint64_contents", contents.uint64Contents.count), ("fp32_contents", contents.fp32Contents.count),
            ("fp64_contents", contents.fp64Contents.count), ("bytes_contents", contents.bytesContents.count),
        ]
        guard let field = field(datatype) else {
            throw ServeError(
                400, "input '\(name)': \(datatype.rawValue) has no typed contents; send raw_input_contents")
        }
        for (other, count) in counts where other != field && count > 0 {
            throw ServeError(
                400, "input '\(name)': \(datatype.rawValue) data belongs in \(field), not \(other) (\(count) values)")
        }
        let count = counts.first { $0.0 == field }!.1
        guard count == elements else {
            throw ServeError(
                400, "input '\(name)': \(count) values for shape \(tensor.shape) (\(elements) expected) in \(field)")
        }
        func out<T: FixedWidthInteger>(_ values: some Sequence<T>) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(elements * MemoryLayout<T>.size)
            for v in values {
                let bits = v.littleEndian
                withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
            }
            return bytes
        }
        func narrowed<Wide: BinaryInteger, T: FixedWidthInteger>(_ values: [Wide], to: T.Type) throws(ServeError) -> [T]
        {
            var result: [T] = []
            result.reserveCapacity(values.count)
            for v in values {
                guard let n = T(exactly: v) else {
                    throw ServeError(400, "input '\(name)': \(v) is not a \(datatype.rawValue) value")
                }
                result.append(n)
            }
            return result
        }
        switch datatype {
        case .bool: tensor.raw = contents.boolContents.map { $0 ? 1 : 0 }
        case .int8: tensor.raw = out(try narrowed(contents.intContents, to: Int8.self))
        case .int16: tensor.raw = out(try narrowed(contents.intContents, to: Int16.self))
        case .int32: tensor.raw = out(contents.intContents)
        case .int64: tensor.raw = out(contents.int64Contents)
        case .uint8: tensor.raw = try narrowed(contents.uintContents, to: UInt8.self)
        case .uint16: tensor.raw = out(try narrowed(contents.uintContents, to: UInt16.self))
        case .uint32: tensor.raw = out(contents.uintContents)
        case .uint64: tensor.raw = out(contents.uint64Contents)
        case .fp32: tensor.raw = out(contents.fp32Contents.lazy.map(\.bitPattern))
        case .fp64: tensor.raw = out(contents.fp64Contents.lazy.map(\.bitPattern))
        case .bytes: tensor.items = contents.bytesContents.map { [UInt8]($0) }
        case .fp16, .bf16: break
        }
    }

    /// The `InferTensorContents` field of a datatype; nil for FP16 and BF16.
    static func field(_ datatype: TensorDatatype) -> String? {
        switch datatype {
        case .bool: "bool_contents"
        case .int8, .int16, .int32: "int_contents"
        case .int64: "int64_contents"
        case .uint8, .uint16, .uint32: "uint_contents"
        case .uint64: "uint64_contents"
        case .fp32: "fp32_contents"
        case .fp64: "fp64_contents"
        case .bytes: "bytes_contents"
        case .fp16, .bf16: nil
        }
    }
}
