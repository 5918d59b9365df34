import LookoutCore

/// One input tensor of an infer request: fixed-size elements as little-endian bytes, or BYTES elements.
struct InputTensor: Sendable {
    var name: String
    var datatype: TensorDatatype
    var shape: [Int]
    /// The elements of a fixed-size type, little-endian, `elements × size` bytes.
    var raw: [UInt8] = []
    /// The elements of a BYTES tensor.
    var items: [[UInt8]] = []
}

/// An output the client asked for, and whether it wants it in the binary section.
struct RequestedOutput: Sendable {
    var name: String
    var binary: Bool
    /// Where to write it instead of the response (the shared-memory extension).
    var sharedMemory: SharedMemoryTensor? = nil
}

/// An infer request (`POST /v2/models/NAME/infer`): the JSON header and Triton's binary tensor data extension. Every
/// size the client gives is checked against the bytes it sent and against `limits` before anything is allocated.
struct InferRequest: Sendable {
    var id: String?
    var parameters: JSONValue?
    var inputs: [InputTensor] = []
    /// Nil when the request names no outputs (then every output is returned).
    var outputs: [RequestedOutput]?
    /// `parameters.binary_data_output`: every output in the binary section unless it says otherwise.
    var binaryOutput = false

    /// Elements of one tensor at most (shape products past it are refused before allocation).
    static let maxElements = 1 << 28
    /// The JSON header at most: a parsed JSON number takes far more memory than its text, so large tensors go in
    /// the binary section.
    static let maxJSONBytes = 32 << 20
    /// Nesting of the JSON header at most (the parser is recursive).
    static let maxDepth = 64

    /// Parses `body`; `headerLength` is the `Inference-Header-Content-Length` header (nil: the body is all JSON).
    /// Inputs in shared memory are read from `sharedMemory`'s regions, and outputs to be written there are checked.
    init(body: [UInt8], headerLength: String?, sharedMemory: SharedMemoryRegistry? = nil) throws(ServeError) {
        var jsonEnd = body.count
        if let headerLength {
            guard let n = Int(headerLength.trimmingSpaces), n >= 0, n <= body.count else {
                throw ServeError(
                    400,
                    "Inference-Header-Content-Length '\(headerLength)' is not a length within the body (\(body.count) bytes)"
                )
            }
            jsonEnd = n
        }
        guard jsonEnd <= Self.maxJSONBytes else {
            throw ServeError(
                400,
                "the JSON header is \(jsonEnd) bytes, over \(Self.maxJSONBytes >> 20) MiB: send large tensors in the binary section (parameters.binary_data_size)"
            )
        }
        let header = body[0..<jsonEnd]
        try Self.checkDepth(header)
        let json: JSONValue
        do { json = try JSONValue.parse(String(decoding: header, as: UTF8.self)) } catch {
            throw ServeError(400, "the request header is not JSON: \(error)")
        }
        guard case .object = json else { throw ServeError(400, "the request header must be a JSON object") }
        id = json["id"]?.stringValue
        if let parameters = json["parameters"] {
            guard case .object = parameters else { throw ServeError(400, "'parameters' must be an object") }
            self.parameters = parameters
            if let flag = parameters["binary_data_output"] {
                guard case .bool(let b) = flag else { throw ServeError(400, "'binary_data_output' must be a boolean") }
                binaryOutput = b
            }
        }
        guard let inputList = json["inputs"]?.arrayValue, !inputList.isEmpty else {
            throw ServeError(400, "'inputs' must be a non-empty array")
        }
        var offset = jsonEnd
        for input in inputList {
            inputs.append(try Self.input(input, body: body, offset: &offset, sharedMemory: sharedMemory))
        }
        guard offset == body.count else {
            throw ServeError(
                400,
                "\(body.count - offset) bytes of binary data past the inputs' binary_data_size (\(body.count - jsonEnd) sent)"
            )
        }
        if let outputList = json["outputs"] {
            guard let list = outputList.arrayValue else { throw ServeError(400, "'outputs' must be an array") }
            var requested: [RequestedOutput] = []
            for output in list {
                guard let name = output["name"]?.stringValue else {
                    throw ServeError(400, "every requested output needs a 'name'")
                }
                var binary = binaryOutput
                if let flag = output["parameters"]?["binary_data"] {
                    guard case .bool(let b) = flag else { throw ServeError(400, "'binary_data' must be a boolean") }
                    binary = b
                }
                var requestedOutput = RequestedOutput(name: name, binary: binary)
                requestedOutput.sharedMemory = try SharedMemoryTensor(
                    parameters: output["parameters"], what: "output '\(name)'")
                try requestedOutput.sharedMemory?.check(sharedMemory, what: "output '\(name)'")
                requested.append(requestedOutput)
            }
            outputs = requested
        }
    }

    private static func input(
        _ json: JSONValue, body: [UInt8], offset: inout Int, sharedMemory: SharedMemoryRegistry?
    ) throws(ServeError) -> InputTensor {
        guard let name = json["name"]?.stringValue else { throw ServeError(400, "every input needs a 'name'") }
        guard let typeName = json["datatype"]?.stringValue, let datatype = TensorDatatype(rawValue: typeName) else {
            throw ServeError(
                400, "input '\(name)': 'datatype' must be one of the protocol's types (UINT8, FP32, BYTES, …)")
        }
        guard let dims = json["shape"]?.arrayValue else {
            throw ServeError(400, "input '\(name)': 'shape' must be an array of integers")
        }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.intValue else {
                throw ServeError(400, "input '\(name)': 'shape' must be an array of integers")
            }
            shape.append(n)
        }
        let elements: Int
        do { elements = try TensorShape.elements(shape, maxElements: maxElements) } catch {
            throw ServeError(400, "input '\(name)': \(error.message)")
        }
        var tensor = InputTensor(name: name, datatype: datatype, shape: shape)
        if let location = try SharedMemoryTensor(parameters: json["parameters"], what: "input '\(name)'") {
            guard json["parameters"]?["binary_data_size"] == nil, json["data"] == nil else {
                throw ServeError(
                    400,
                    "input '\(name)': shared memory excludes 'data' and binary_data_size (the data is in the region)")
            }
            if let elementSize = datatype.size, location.byteSize != elements * elementSize {
                throw ServeError(
                    400,
                    "input '\(name)': shared_memory_byte_size \(location.byteSize) for shape \(shape) of \(typeName) (\(elements * elementSize) expected)"
                )
            }
            let bytes = try location.read(sharedMemory, what: "input '\(name)'")
            if datatype.size != nil {
                tensor.raw = bytes
            } else {
                tensor.items = try Self.byteItems(bytes[...], name: name)
                guard tensor.items.count == elements else {
                    throw ServeError(
                        400,
                        "input '\(name)': \(tensor.items.count) BYTES elements for shape \(shape) (\(elements) expected)"
                    )
                }
            }
            return tensor
        }
        if let sizeValue = json["parameters"]?["binary_data_size"] {
            guard let size = sizeValue.intValue, size >= 0 else {
                throw ServeError(400, "input '\(name)': 'binary_data_size' must be an integer, 0 or more")
            }
            guard size <= body.count - offset else {
                throw ServeError(
                    400,
                    "input '\(name)': binary_data_size \(size) but only \(body.count - offset) bytes of binary data remain"
                )
            }
            let bytes = body[offset..<(offset + size)]
            offset += size
            if let elementSize = datatype.size {
                guard size == elements * elementSize else {
                    throw ServeError(
                        400,
                        "input '\(name)': \(size) bytes for shape \(shape) of \(typeName) (\(elements * elementSize) expected)"
                    )
                }
                tensor.raw = Array(bytes)
            } else {
                tensor.items = try Self.byteItems(bytes, name: name)
                guard tensor.items.count == elements else {
                    throw ServeError(
                        400,
                        "input '\(name)': \(tensor.items.count) BYTES elements for shape \(shape) (\(elements) expected)"
                    )
                }
            }
            return tensor
        }
        guard let data = json["data"] else {
            throw ServeError(400, "input '\(name)': neither 'data' nor parameters.binary_data_size")
        }
        var flat: [JSONValue] = []
        flat.reserveCapacity(elements)
        try Self.flatten(data, into: &flat, limit: elements, name: name)
        guard flat.count == elements else {
            throw ServeError(400, "input '\(name)': \(flat.count) values for shape \(shape) (\(elements) expected)")
        }
        if datatype == .bytes {
            for value in flat {
                guard let s = value.stringValue else {
                    throw ServeError(400, "input '\(name)': BYTES data must be strings")
                }
                tensor.items.append(Array(s.utf8))
            }
        } else {
            tensor.raw = try TensorJSON.encode(flat, as: datatype, name: name)
        }
        return tensor
    }

    /// Triton's BYTES serialisation: each element a 4-byte little-endian length, then its bytes.
    static func byteItems(_ bytes: ArraySlice<UInt8>, name: String) throws(ServeError) -> [[UInt8]] {
        var items: [[UInt8]] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard bytes.endIndex - i >= 4 else {
                throw ServeError(400, "input '\(name)': a BYTES element's 4-byte length is cut off")
            }
            let n = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
            i += 4
            guard n <= bytes.endIndex - i else {
                throw ServeError(400, "input '\(name)': a BYTES element of \(n) bytes but \(bytes.endIndex - i) remain")
            }
            items.append(Array(bytes[i..<(i + n)]))
            i += n
        }
        return items
    }

    private static func flatten(_ value: JSONValue, into flat: inout [JSONValue], limit: Int, name: String)
        throws(ServeError)
    {
        if case .array(let items) = value {
            for item in items { try flatten(item, into: &flat, limit: limit, name: name) }
        } else {
            guard flat.count < limit else { throw ServeError(400, "input '\(name)': more values than its shape holds") }
            flat.append(value)
        }
    }

    /// Refuses a header nested deeper than `maxDepth` (brackets outside strings), before the recursive parser sees it.
    static func checkDepth(_ bytes: ArraySlice<UInt8>) throws(ServeError) {
        var depth = 0
        var inString = false
        var escaped = false
        for c in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { throw ServeError(400, "the request header nests deeper than \(maxDepth) levels") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
