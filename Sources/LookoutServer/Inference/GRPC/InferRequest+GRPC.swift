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
    /// Inputs located in shared memory (the `shared_memory_region`, `shared_memory_byte_size`,
    /// `shared_memory_offset` parameters) are read from `sharedMemory`'s regions, and outputs to be written there are
    /// checked, as over HTTP.
    init(grpc message: Inference_ModelInferRequest, sharedMemory: SharedMemoryRegistry? = nil) throws(ServeError) {
        id = message.id.isEmpty ? nil : message.id
        parameters = try Self.json(message.parameters, what: "the request")
        guard !message.inputs.isEmpty else { throw ServeError(400, "the request has no inputs") }
        let raw = message.rawInputContents
        // Triton's rule: with raw contents, one entry for each input not in shared memory, in order.
        var rest = raw[...]
        for input in message.inputs {
            let parameters = try Self.json(input.parameters, what: "input '\(input.name)'")
            let location = try SharedMemoryTensor(parameters: parameters, what: "input '\(input.name)'")
            let entry = location == nil && !raw.isEmpty ? rest.popFirst() : nil
            if location == nil && !raw.isEmpty && entry == nil {
                throw ServeError(400, Self.rawCountMessage(raw.count, message.inputs.count))
            }
            inputs.append(try Self.input(input, raw: entry, location: location, sharedMemory: sharedMemory))
        }
        guard rest.isEmpty else { throw ServeError(400, Self.rawCountMessage(raw.count, message.inputs.count)) }
        if !message.outputs.isEmpty {
            var requested: [RequestedOutput] = []
            for output in message.outputs {
                let what = "output '\(output.name)'"
                var r = RequestedOutput(name: output.name, binary: true)
                r.sharedMemory = try SharedMemoryTensor(
                    parameters: try Self.json(output.parameters, what: what), what: what)
                try r.sharedMemory?.check(sharedMemory, what: what)
                requested.append(r)
            }
            outputs = requested
        }
        binaryOutput = true
    }

    private static func rawCountMessage(_ raw: Int, _ inputs: Int) -> String {
        "\(raw) raw_input_contents for \(inputs) inputs: send one per input not in shared memory, or none and every input's contents"
    }

    private static func input(
        _ message: Inference_ModelInferRequest.InferInputTensor, raw: Data?, location: SharedMemoryTensor?,
        sharedMemory: SharedMemoryRegistry?
    ) throws(ServeError) -> InputTensor {
        let name = message.name
        guard !name.isEmpty else { throw ServeError(400, "every input needs a name") }
        guard let datatype = TensorDatatype(rawValue: message.datatype) else {
            throw ServeError(
                400,
                "input '\(name)': datatype '\(message.datatype)' is not one of the protocol's types (UINT8, FP32, BYTES, …)"
            )
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
        if let location {
            guard !message.hasContents else {
                throw ServeError(400, "input '\(name)': shared memory excludes contents (the data is in the region)")
            }
            if let size = datatype.size, location.byteSize != elements * size {
                throw ServeError(
                    400,
                    "input '\(name)': shared_memory_byte_size \(location.byteSize) for shape \(shape) of \(datatype.rawValue) (\(elements * size) expected)"
                )
            }
            let bytes = try location.read(sharedMemory, what: "input '\(name)'")
            if datatype.size != nil {
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

    /// Parameters as the JSON object the HTTP request would carry (keys sorted); nil when there are none.
    static func json(_ parameters: [String: Inference_InferParameter], what: String) throws(ServeError) -> JSONValue? {
        guard !parameters.isEmpty else { return nil }
        var fields: [(String, JSONValue)] = []
        for key in parameters.keys.sorted() {
            fields.append((key, try json(parameters[key]!, name: "\(what): parameter '\(key)'")))
        }
        return .object(fields)
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
