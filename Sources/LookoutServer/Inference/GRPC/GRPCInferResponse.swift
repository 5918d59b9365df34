import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A gRPC `ModelInfer` answer: the outputs asked for (every output when none is named), in order, their elements in
/// `raw_output_contents` (little-endian, one entry per output), as Triton answers and tritonclient's `as_numpy` reads.
enum GRPCInferResponse {
    /// Outputs the request located in shared memory are written into `sharedMemory`'s regions; their entries carry
    /// the location as parameters and an empty `raw_output_contents` entry (which keeps the others' indices).
    static func response(
        model: String, request: InferRequest, outputs: [OutputTensor], sharedMemory: SharedMemoryRegistry? = nil
    ) throws(ServeError) -> Inference_ModelInferResponse {
        var chosen = outputs.map { ($0, SharedMemoryTensor?.none) }
        if let requested = request.outputs {
            chosen = []
            for r in requested {
                guard let output = outputs.first(where: { $0.name == r.name }) else {
                    throw ServeError(
                        400,
                        "unknown output '\(r.name)'; the model has \(outputs.map { "'\($0.name)'" }.joined(separator: ", "))"
                    )
                }
                chosen.append((output, r.sharedMemory))
            }
        }
        var response = Inference_ModelInferResponse()
        response.modelName = model
        response.modelVersion = ModelMetadata.version
        response.id = request.id ?? ""
        for (output, location) in chosen {
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = output.name
            tensor.datatype = output.datatype.rawValue
            tensor.shape = output.shape.map { Int64($0) }
            let bytes = output.bytes
            if let location {
                try location.write(bytes, sharedMemory, what: "output '\(output.name)'")
                tensor.parameters["shared_memory_region"] = .with { $0.stringParam = location.region }
                tensor.parameters["shared_memory_byte_size"] = .with { $0.int64Param = Int64(bytes.count) }
                if location.offset != 0 {
                    tensor.parameters["shared_memory_offset"] = .with { $0.int64Param = Int64(location.offset) }
                }
                response.rawOutputContents.append(Data())
            } else {
                response.rawOutputContents.append(Data(bytes))
            }
            response.outputs.append(tensor)
        }
        return response
    }
}
