import GRPCCore
import LookoutCore
import LookoutInference
import NIOPosix

/// The Open Inference Protocol's gRPC methods over a model repository, with the HTTP routes' semantics
/// (`InferenceRoutes`): the same parser checks, runner, metadata, statistics and repository. Errors carry the gRPC
/// status of `ServeError.rpcError` and a one-line message; a model known but not loaded is `UNAVAILABLE`.
struct GRPCInferenceHandlers: Inference_GRPCInferenceService.SimpleServiceProtocol {
    let repository: ModelRepository
    let version: String

    func serverLive(request: Inference_ServerLiveRequest, context: ServerContext) async throws
        -> Inference_ServerLiveResponse
    {
        .with { $0.live = true }
    }

    func serverReady(request: Inference_ServerReadyRequest, context: ServerContext) async throws
        -> Inference_ServerReadyResponse
    {
        .with { $0.ready = true }
    }

    /// Ready or not for a model of the repository; false for a name it does not hold (as Triton answers).
    func modelReady(request: Inference_ModelReadyRequest, context: ServerContext) async throws
        -> Inference_ModelReadyResponse
    {
        try Self.check(version: request.version, model: request.name)
        let ready = repository.index().first { $0.name == request.name }?.ready ?? false
        return .with { $0.ready = ready }
    }

    func serverMetadata(request: Inference_ServerMetadataRequest, context: ServerContext) async throws
        -> Inference_ServerMetadataResponse
    {
        .with {
            $0.name = "lookout"
            $0.version = version
            $0.extensions = ["parameters", "statistics", "model_configuration", "model_repository"]
        }
    }

    func modelMetadata(request: Inference_ModelMetadataRequest, context: ServerContext) async throws
        -> Inference_ModelMetadataResponse
    {
        let (entry, detector) = try loaded(request.name, version: request.version)
        let (inputs, outputs) = ModelMetadata.signature(kind: entry.kind, model: detector.model)
        func tensor(_ spec: TensorSpec) -> Inference_ModelMetadataResponse.TensorMetadata {
            .with {
                $0.name = spec.name
                $0.datatype = spec.datatype.rawValue
                $0.shape = spec.shape.map { Int64($0) }
            }
        }
        return .with {
            $0.name = entry.name
            $0.versions = [ModelMetadata.version]
            $0.platform = ModelMetadata.platform
            $0.inputs = inputs.map(tensor)
            $0.outputs = outputs.map(tensor)
        }
    }

    func modelConfig(request: Inference_ModelConfigRequest, context: ServerContext) async throws
        -> Inference_ModelConfigResponse
    {
        let (entry, detector) = try loaded(request.name, version: request.version)
        return .with { $0.config = GRPCModelConfig.config(entry, model: detector.model) }
    }

    func modelInfer(request: Inference_ModelInferRequest, context: ServerContext) async throws
        -> Inference_ModelInferResponse
    {
        let name = request.modelName
        let (entry, detector) = try loaded(name, version: request.modelVersion)
        let start = MonotonicClock.nanoseconds()
        do {
            // As over HTTP: the conversion, the model and the response block a thread for up to seconds, so NIO's
            // blocking pool runs them and the cooperative threads keep answering.
            let (response, batch) = try await NIOThreadPool.singleton.runIfActive {
                let parsed = try InferRequest(grpc: request)
                let (outputs, batch) = try ModelRunner.run(kind: entry.kind, detector: detector, request: parsed)
                return (try GRPCInferResponse.response(model: name, request: parsed, outputs: outputs), batch)
            }
            repository.record(name, success: true, nanoseconds: MonotonicClock.nanoseconds() &- start, batch: batch)
            return response
        } catch {
            repository.record(name, success: false, nanoseconds: MonotonicClock.nanoseconds() &- start, batch: 0)
            if let error = error as? ServeError { throw error.rpcError }
            throw RPCError(code: .internalError, message: "model '\(name)': \(error)")
        }
    }

    /// Every model's statistics for an empty name, else the named model's.
    func modelStatistics(request: Inference_ModelStatisticsRequest, context: ServerContext) async throws
        -> Inference_ModelStatisticsResponse
    {
        let names: [String]
        if request.name.isEmpty {
            names = repository.index().map(\.name)
        } else {
            try Self.check(version: request.version, model: request.name)
            names = [try Self.rpc { () throws(ServeError) in try repository.entry(request.name).name }]
        }
        return .with { $0.modelStats = names.map { GRPCModelConfig.statistics(name: $0, repository.statistics($0)) } }
    }

    func repositoryIndex(request: Inference_RepositoryIndexRequest, context: ServerContext) async throws
        -> Inference_RepositoryIndexResponse
    {
        let entries = repository.index().filter { !request.ready || $0.ready }
        return .with {
            $0.models = entries.map { e in
                .with {
                    $0.name = e.name
                    $0.version = ModelMetadata.version
                    $0.state = e.ready ? "READY" : "UNAVAILABLE"
                    $0.reason = e.ready ? "" : e.reason
                }
            }
        }
    }

    func repositoryModelLoad(request: Inference_RepositoryModelLoadRequest, context: ServerContext) async throws
        -> Inference_RepositoryModelLoadResponse
    {
        try Self.noParameters(request.parameters.keys, verb: "load")
        let name = request.modelName
        // Building an engine blocks for up to seconds.
        try await NIOThreadPool.singleton.runIfActive { [repository] in
            try Self.rpc { () throws(ServeError) in try repository.load(name) }
        }
        return .init()
    }

    func repositoryModelUnload(request: Inference_RepositoryModelUnloadRequest, context: ServerContext) async throws
        -> Inference_RepositoryModelUnloadResponse
    {
        // tritonclient always sends `unload_dependents`; no model here has dependents.
        try Self.noParameters(request.parameters.keys.filter { $0 != "unload_dependents" }, verb: "unload")
        try Self.rpc { () throws(ServeError) in try repository.unload(request.modelName) }
        return .init()
    }

    // MARK: Helpers

    /// The entry and detector of a loaded model: `NOT_FOUND` for a name (or version) the repository does not hold,
    /// `UNAVAILABLE` for one not loaded.
    func loaded(_ name: String, version: String) throws(RPCError) -> (ModelRepository.Entry, Detector) {
        try Self.check(version: version, model: name)
        let entry = try Self.rpc { () throws(ServeError) in try repository.entry(name) }
        guard entry.ready else {
            throw RPCError(code: .unavailable, message: "model '\(name)' is not ready: \(entry.reason)")
        }
        do { return try repository.detector(name) } catch {
            // Unloaded between the two looks.
            throw RPCError(code: .unavailable, message: error.message)
        }
    }

    /// Every model is version 1; an empty version means the latest.
    static func check(version: String, model: String) throws(RPCError) {
        guard version.isEmpty || version == ModelMetadata.version else {
            throw RPCError(
                code: .notFound,
                message: "unknown model: '\(model)' has no version \(version) (only \(ModelMetadata.version))")
        }
    }

    static func noParameters(_ keys: some Collection<String>, verb: String) throws(RPCError) {
        guard keys.isEmpty else {
            throw RPCError(
                code: .invalidArgument,
                message: "\(verb) parameters (\(keys.sorted().joined(separator: ", "))) are not supported")
        }
    }

    /// Runs `body`, its `ServeError` as the gRPC status.
    static func rpc<T>(_ body: () throws(ServeError) -> T) throws(RPCError) -> T {
        do { return try body() } catch { throw error.rpcError }
    }
}

extension ServeError {
    /// The gRPC status of an HTTP status, as Triton pairs them: 400 `INVALID_ARGUMENT`, 404 `NOT_FOUND`, 413
    /// `RESOURCE_EXHAUSTED`, 503 `UNAVAILABLE`, anything else `INTERNAL`.
    var rpcError: RPCError {
        let code: RPCError.Code =
            switch status {
            case 400: .invalidArgument
            case 404: .notFound
            case 413: .resourceExhausted
            case 503: .unavailable
            default: .internalError
            }
        return RPCError(code: code, message: message)
    }
}
