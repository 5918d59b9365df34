import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A gRPC `ModelInfer` answer: the outputs asked for (every output when none is named), in order, their elements in
/// `raw_output_contents` (little-endian, one entry per output), as Triton answers and tritonclient's `as_numpy` reads.
enum GRPCInferResponse {
    static func response(model: String, request: InferRequest, outputs: [OutputTensor]) throws(ServeError)
        -> Inference_ModelInferResponse
    {
        var chosen = outputs
        if let requested = request.outputs {
            chosen = []
            for r in requested {
                guard let output = outputs.first(where: { $0.name == r.name }) else {
                    throw ServeError(
                        400,
                        "unknown output '\(r.name)'; the model has \(outputs.map { "'\($0.name)'" }.joined(separator: ", "))"
                    )
                }
                chosen.append(output)
            }
        }
        var response = Inference_ModelInferResponse()
        response.modelName = model
        response.modelVersion = ModelMetadata.version
        response.id = request.id ?? ""
        for output in chosen {
            response.outputs.append(
                .with {
                    $0.name = output.name
                    $0.datatype = output.datatype.rawValue
                    $0.shape = output.shape.map { Int64($0) }
                })
            response.rawOutputContents.append(Data(output.bytes))
        }
        return response
    }
}
