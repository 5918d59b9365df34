import Hummingbird
import LookoutCore
import NIOCore

/// An infer response: the JSON header, then the outputs asked for in binary, in order
/// (`Inference-Header-Content-Length` gives the header's length when there are any).
struct InferResponse: Sendable {
    var header: String
    var binary: [UInt8] = []

    /// Outputs the request located in shared memory are written into `sharedMemory`'s regions; their entries carry
    /// the location and no data.
    init(model: String, request: InferRequest, outputs: [OutputTensor], sharedMemory: SharedMemoryRegistry? = nil)
        throws(ServeError)
    {
        var chosen: [(OutputTensor, Bool, SharedMemoryTensor?)] = []
        if let requested = request.outputs {
            for r in requested {
                guard let output = outputs.first(where: { $0.name == r.name }) else {
                    throw ServeError(
                        400,
                        "unknown output '\(r.name)'; the model has \(outputs.map { "'\($0.name)'" }.joined(separator: ", "))"
                    )
                }
                chosen.append((output, r.binary, r.sharedMemory))
            }
        } else {
            chosen = outputs.map { ($0, request.binaryOutput, nil) }
        }
        var list: [JSONValue] = []
        for (output, inBinary, location) in chosen {
            var fields: [(String, JSONValue)] = [
                ("name", .string(output.name)), ("datatype", .string(output.datatype.rawValue)),
                ("shape", .array(output.shape.map { .int($0) })),
            ]
            if let location {
                // As Triton answers over HTTP: name, datatype and shape only (its C++ client, perf_analyzer's,
                // reads any `parameters` of an output as binary data in the body).
                try location.write(output.bytes, sharedMemory, what: "output '\(output.name)'")
            } else if inBinary {
                let bytes = output.bytes
                fields.append(("parameters", .object([("binary_data_size", .int(bytes.count))])))
                binary += bytes
            } else {
                fields.append(("data", output.json))
            }
            list.append(.object(fields))
        }
        var top: [(String, JSONValue)] = [
            ("model_name", .string(model)), ("model_version", .string(ModelMetadata.version)),
        ]
        if let id = request.id { top.append(("id", .string(id))) }
        top.append(("outputs", .array(list)))
        header = JSONValue.object(top).render(pretty: false)
    }

    var http: Response {
        var buffer = ByteBuffer(string: header)
        if binary.isEmpty {
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
        }
        let headerLength = buffer.readableBytes
        buffer.writeBytes(binary)
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[HTTPFields.Element.Name("Inference-Header-Content-Length")!] = String(headerLength)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }
}
