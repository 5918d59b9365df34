import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension InferRequest {
    /// The request of a gRPC `ModelInfer`: every input's elements in `raw_input_contents` (one entry per input, the
    /// HTTP binary section's layout) or in its typed `contents`, checked as the HTTP parser checks them (datatype,
    /// shape within `maxElements`, bytes or values matching shape × datatype) before the model sees them. Request
    /// parameters become the JSON object the runner reads (`conf`, `iou`, `max_det`, `classes`, `color`).
    init(grpc message: Inference_ModelInferRequest) throws(ServeError) {
        id = message.id.isEmpty ? nil : message.id
        if !message.parameters.isEmpty {
            var fields: [(String, JSONValue)] = []
            for key in message.parameters.keys.sorted() {
                fields.append((key, try Self.json(message.parameters[key]!, name: "parameter '\(key)'")))
            }
            parameters = .object(fields)
        }
        guard !message.inputs.isEmpty else { throw ServeError(400, "the request has no inputs") }
        let raw = message.rawInputContents
        guard raw.isEmpty || raw.count == message.inputs.count else {
            throw ServeError(
                400,
                "\(raw.count) raw_input_contents for \(message.inputs.count) inputs: send one per input, or none and every input's contents"
            )
        }
        for (i, input) in message.inputs.enumerated() {
            inputs.append(try Self.input(input, raw: raw.isEmpty ? nil : raw[i]))
        }
        if !message.outputs.isEmpty {
            outputs = message.outputs.map { RequestedOutput(name: $0.name, binary: true) }
        }
        binaryOutput = true
    }

    private static func input(_ message: Inference_ModelInferRequest.InferInputTensor, raw: Data?) throws(ServeError)
        -> InputTensor
    {
        let name = message.name
        guard !name.isEmpty else { throw ServeError(400, "every input needs a name") }
        guard let datatype = TensorDatatype(rawValue: message.datatype) else {
            throw ServeError(
                400,
                "input '\(name)': datatype '\(message.datatype)' is not one of the protocol's types (UINT8, FP32, BYTES, …)"
            )
        }
        if message.parameters["shared_memory_region"] != nil {
            throw ServeError(400, "input '\(name)': shared memory is not supported over gRPC; send the tensor's data")
        }
        var shape: [Int] = []
        for d in message.shape {
            guard let n = Int(exactly: d) else { throw ServeError(400, "input '\(name)': dimension \(d) is too large") }
            shape.append(n)
        }
        let elements: Int
        do { elements = try TensorShape.elements(shape, maxElements: maxElements) } catch {
            throw ServeError(400, "input '\(name)': \(error.message)")
        }
        var tensor = InputTensor(name: name, datatype: datatype, shape: shape)
        if let raw {
            guard !message.hasContents else {
                throw ServeError(400, "input '\(name)': both raw_input_contents and contents; send one")
            }
            let bytes = [UInt8](raw)
            if let size = datatype.size {
                guard bytes.count == elements * size else {
                    throw ServeError(
                        400,
                        "input '\(name)': \(bytes.count) bytes of raw_input_contents for shape \(shape) of \(datatype.rawValue) (\(elements * size) expected)"
                    )
                }
                tensor.raw = bytes
            } else {
                tensor.items = try byteItems(bytes[...], name: name)
                guard tensor.items.count == elements else {
                    throw ServeError(
                        400,
                        "input '\(name)': \(tensor.items.count) BYTES elements for shape \(shape) (\(elements) expected)"
                    )
                }
            }
            return tensor
        }
        guard message.hasContents else {
            throw ServeError(400, "input '\(name)': no data (neither raw_input_contents nor contents)")
        }
        try TensorContents.decode(message.contents, into: &tensor, elements: elements)
        return tensor
    }

    /// A parameter's value as the JSON value the HTTP request would carry.
    static func json(_ parameter: Inference_InferParameter, name: String) throws(ServeError) -> JSONValue {
        switch parameter.parameterChoice {
        case .boolParam(let b): return .bool(b)
        case .int64Param(let n):
            guard let i = Int(exactly: n) else { throw ServeError(400, "\(name): \(n) is out of range") }
            return .int(i)
        case .uint64Param(let n):
            guard let i = Int(exactly: n) else { throw ServeError(400, "\(name): \(n) is out of range") }
            return .int(i)
        case .doubleParam(let d): return .double(d)
        case .stringParam(let s): return .string(s)
        case nil: throw ServeError(400, "\(name) has no value")
        }
    }
}
