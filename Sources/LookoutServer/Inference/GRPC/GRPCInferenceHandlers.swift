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
    let sharedMemory: SharedMemoryRegistry

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
            $0.extensions =
                ["parameters", "statistics", "model_configuration", "model_repository"]
                + (sharedMemory.allowed ? ["system_shared_memory"] : [])
                + (sharedMemory.cudaAvailable ? ["cuda_shared_memory"] : [])
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
        let batcher = try Self.rpc { () throws(ServeError) in try repository.batcher(request.name) }
        return .with { $0.config = GRPCModelConfig.config(entry, model: detector.model, batcher: batcher) }
    }

    func modelInfer(request: Inference_ModelInferRequest, context: ServerContext) async throws
        -> Inference_ModelInferResponse
    {
        try await infer(request)
    }

    /// Requests a stream may have unanswered at once (running, or answered but not yet written to a client that
    /// reads slowly): as many as the calls of one connection (`InferenceGRPCService.maxConcurrentStreams`), each of
    /// which may hold a request of up to 256 MiB. The stream is read no further until one more answer is written.
    static let streamInFlight = InferenceGRPCService.maxConcurrentStreams

    /// Triton's ModelStreamInfer for models that answer each request once: every request of the stream runs as
    /// ModelInfer does, concurrently (so a stream's requests batch together), and each answer is written as soon as
    /// it is ready, the response or its request's error in `error_message` (the stream goes on); clients match them
    /// by the request `id`. The stream ends once the client has closed its side and every request is answered.
    func modelStreamInfer(
        request: RPCAsyncSequence<Inference_ModelInferRequest, any Error>,
        response: RPCWriter<Inference_ModelStreamInferResponse>, context: ServerContext
    ) async throws {
        let (answers, answered) = AsyncStream<Inference_ModelStreamInferResponse>.makeStream()
        let (writes, wrote) = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { writer in
            // One writer: the answers leave in the order they are ready.
            writer.addTask {
                // However it ends (a write failing when the client has gone), the reader stops waiting for room.
                defer { wrote.finish() }
                for await answer in answers {
                    try await response.write(answer)
                    wrote.yield()
                }
            }
            defer { answered.finish() }
            var written = writes.makeAsyncIterator()
            var unwritten = 0
            try await withThrowingDiscardingTaskGroup { requests in
                for try await message in request {
                    if unwritten == Self.streamInFlight {
                        // nil: the writer has stopped (its error ends the call below).
                        guard await written.next() != nil else { break }
                        unwritten -= 1
                    }
                    unwritten += 1
                    requests.addTask {
                        do throws(RPCError) {
                            let inferred = try await infer(message)
                            answered.yield(.with { $0.inferResponse = inferred })
                        } catch {
                            answered.yield(.with { $0.errorMessage = error.message })
                        }
                    }
                }
            }
            answered.finish()
            try await writer.waitForAll()
        }
    }

    /// One inference request, as ModelInfer and each request of ModelStreamInfer run it; errors are `RPCError`s.
    private func infer(_ request: Inference_ModelInferRequest) async throws(RPCError) -> Inference_ModelInferResponse {
        let name = request.modelName
        _ = try loaded(name, version: request.modelVersion)
        _ = try Self.rpc { () throws(ServeError) in try repository.batcher(name) }
        let start = MonotonicClock.nanoseconds()
        do {
            // As over HTTP: the conversion (shared memory reads included) and the response run on NIO's blocking pool.
            return try await repository.answer(
                name, since: start, receive: { request },
                parse: { [sharedMemory] message in try InferRequest(grpc: message, sharedMemory: sharedMemory) },
                respond: { [sharedMemory] parsed, outputs in
                    try GRPCInferResponse.response(
                        model: name, request: parsed, outputs: outputs, sharedMemory: sharedMemory)
                })
        } catch {
            if let error = error as? ServeError { throw error.rpcError }
            if let error = error as? RPCError { throw error }
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

    // MARK: Shared memory (the registry the HTTP routes use)

    func systemSharedMemoryStatus(request: Inference_SystemSharedMemoryStatusRequest, context: ServerContext)
        async throws -> Inference_SystemSharedMemoryStatusResponse
    {
        let regions = try Self.rpc { () throws(ServeError) in
            try sharedMemory.status(request.name.isEmpty ? nil : request.name, kind: .system)
        }
        var response = Inference_SystemSharedMemoryStatusResponse()
        for region in regions {
            guard case .system(let key, let offset) = region.kind else { continue }
            response.regions[region.name] = .with {
                $0.name = region.name
                $0.key = key
                $0.offset = UInt64(offset)
                $0.byteSize = UInt64(region.byteSize)
            }
        }
        return response
    }

    func systemSharedMemoryRegister(request: Inference_SystemSharedMemoryRegisterRequest, context: ServerContext)
        async throws -> Inference_SystemSharedMemoryRegisterResponse
    {
        let offset = try Self.size(request.offset, "offset", region: request.name)
        let byteSize = try Self.size(request.byteSize, "byte_size", region: request.name)
        try Self.rpc { () throws(ServeError) in
            try sharedMemory.registerSystem(name: request.name, key: request.key, offset: offset, byteSize: byteSize)
        }
        return .init()
    }

    /// An empty name unregisters every system region (as Triton).
    func systemSharedMemoryUnregister(request: Inference_SystemSharedMemoryUnregisterRequest, context: ServerContext)
        async throws -> Inference_SystemSharedMemoryUnregisterResponse
    {
        try Self.rpc { () throws(ServeError) in
            try sharedMemory.unregister(request.name.isEmpty ? nil : request.name, kind: .system)
        }
        return .init()
    }

    func cudaSharedMemoryStatus(request: Inference_CudaSharedMemoryStatusRequest, context: ServerContext)
        async throws -> Inference_CudaSharedMemoryStatusResponse
    {
        let regions = try Self.rpc { () throws(ServeError) in
            try sharedMemory.status(request.name.isEmpty ? nil : request.name, kind: .cuda)
        }
        var response = Inference_CudaSharedMemoryStatusResponse()
        for region in regions {
            guard case .cuda(let deviceID) = region.kind else { continue }
            response.regions[region.name] = .with {
                $0.name = region.name
                $0.deviceID = UInt64(deviceID)
                $0.byteSize = UInt64(region.byteSize)
            }
        }
        return response
    }

    func cudaSharedMemoryRegister(request: Inference_CudaSharedMemoryRegisterRequest, context: ServerContext)
        async throws -> Inference_CudaSharedMemoryRegisterResponse
    {
        let byteSize = try Self.size(request.byteSize, "byte_size", region: request.name)
        guard let deviceID = Int(exactly: request.deviceID) else {
            throw RPCError(code: .invalidArgument, message: "region '\(request.name)': device_id out of range")
        }
        let handle = [UInt8](request.rawHandle)
        try Self.rpc { () throws(ServeError) in
            try sharedMemory.registerCUDA(name: request.name, handle: handle, deviceID: deviceID, byteSize: byteSize)
        }
        return .init()
    }

    func cudaSharedMemoryUnregister(request: Inference_CudaSharedMemoryUnregisterRequest, context: ServerContext)
        async throws -> Inference_CudaSharedMemoryUnregisterResponse
    {
        try Self.rpc { () throws(ServeError) in
            try sharedMemory.unregister(request.name.isEmpty ? nil : request.name, kind: .cuda)
        }
        return .init()
    }

    /// A uint64 size or offset of a register request, as an Int.
    static func size(_ value: UInt64, _ field: String, region: String) throws(RPCError) -> Int {
        guard let n = Int(exactly: value) else {
            throw RPCError(code: .invalidArgument, message: "region '\(region)': \(field) \(value) is out of range")
        }
        return n
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
