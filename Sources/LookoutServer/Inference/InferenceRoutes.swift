import Hummingbird
import LookoutCore
import NIOCore
import NIOPosix

/// The protocol's routes (`/v2/...`) over a model repository.
struct InferenceRoutes: Sendable {
    let repository: ModelRepository
    let version: String
    let sharedMemory: SharedMemoryRegistry

    func add(to router: Router<BasicRequestContext>) {
        SharedMemoryRoutes(registry: sharedMemory).add(to: router)
        let extensions =
            [
                "binary_tensor_data", "parameters", "statistics", "model_configuration", "model_repository",
            ] + (sharedMemory.allowed ? ["system_shared_memory"] : [])
            + (sharedMemory.cudaAvailable ? ["cuda_shared_memory"] : [])
        router.get("/v2/health/live") { _, _ in Self.json(.object([])) }
        router.get("/v2/health/ready") { _, _ in Self.json(.object([])) }
        router.get("/v2") { [version, extensions] _, _ in
            Self.json(
                .object([
                    ("name", .string("lookout")), ("version", .string(version)),
                    ("extensions", .array(extensions.map { .string($0) })),
                ]))
        }
        router.get("/v2/models/stats") { [repository] _, _ in
            let names = repository.index().map(\.name)
            return Self.json(
                .object([
                    (
                        "model_stats",
                        .array(names.map { ModelMetadata.statistics(name: $0, repository.statistics($0)) })
                    )
                ]))
        }
        for prefix in ["/v2/models/:name", "/v2/models/:name/versions/:version"] {
            router.get(RouterPath(prefix)) { [repository] _, context in
                let (entry, detector) = try repository.detector(try Self.model(context))
                return Self.json(ModelMetadata.metadata(entry, model: detector.model))
            }
            router.get(RouterPath(prefix + "/ready")) { [repository] _, context in
                let name = try Self.model(context)
                guard try repository.entry(name).ready else {
                    throw ServeError(400, "model '\(name)' is not ready")
                }
                return Self.json(.object([]))
            }
            router.get(RouterPath(prefix + "/config")) { [repository] _, context in
                let name = try Self.model(context)
                let (entry, detector) = try repository.detector(name)
                return Self.json(
                    ModelMetadata.config(entry, model: detector.model, batcher: try repository.batcher(name)))
            }
            router.get(RouterPath(prefix + "/stats")) { [repository] _, context in
                let name = try repository.entry(try Self.model(context)).name
                return Self.json(
                    .object([
                        ("model_stats", .array([ModelMetadata.statistics(name: name, repository.statistics(name))]))
                    ]
                    ))
            }
            router.post(RouterPath(prefix + "/infer")) { [repository, sharedMemory] request, context in
                try await Self.infer(request, context: context, repository: repository, sharedMemory: sharedMemory)
            }
        }
        router.post("/v2/repository/index") { [repository] request, _ in
            var request = request
            let body = try await request.collectBody(upTo: InferenceService.maxBodyBytes)
            var readyOnly = false
            if body.readableBytes > 0 {
                let value: JSONValue
                do { value = try JSONValue.parse(String(buffer: body)) } catch {
                    throw ServeError(400, "request body: \(error)")
                }
                if case .bool(let b) = value["ready"] { readyOnly = b }
            }
            let entries = repository.index().filter { !readyOnly || $0.ready }
            return Self.json(
                .array(
                    entries.map { e in
                        var fields: [(String, JSONValue)] = [
                            ("name", .string(e.name)), ("version", .string(ModelMetadata.version)),
                            ("state", .string(e.ready ? "READY" : "UNAVAILABLE")),
                        ]
                        if !e.ready { fields.append(("reason", .string(e.reason))) }
                        return .object(fields)
                    }))
        }
        router.post("/v2/repository/models/:name/load") { [repository] request, context in
            var request = request
            _ = try await request.collectBody(upTo: InferenceService.maxBodyBytes)
            try repository.load(try Self.model(context))
            return Self.json(.object([]))
        }
        router.post("/v2/repository/models/:name/unload") { [repository] request, context in
            var request = request
            _ = try await request.collectBody(upTo: InferenceService.maxBodyBytes)
            try repository.unload(try Self.model(context))
            return Self.json(.object([]))
        }
    }

    /// The model named in the path; a version other than 1 is unknown.
    static func model(_ context: BasicRequestContext) throws(ServeError) -> String {
        let name = context.parameters.get("name") ?? ""
        if let version = context.parameters.get("version"), version != ModelMetadata.version {
            throw ServeError(404, "unknown model: '\(name)' has no version \(version) (only \(ModelMetadata.version))")
        }
        return name
    }

    static func infer(
        _ request: Request, context: BasicRequestContext, repository: ModelRepository,
        sharedMemory: SharedMemoryRegistry
    ) async throws -> Response {
        let name = try model(context)
        _ = try repository.batcher(name)
        let start = MonotonicClock.nanoseconds()
        var request = request
        let headerLength = request.headers[HTTPFields.Element.Name("Inference-Header-Content-Length")!]
        let response = try await repository.answer(
            name, since: start,
            receive: { Array(try await request.collectBody(upTo: InferenceService.maxInferBytes).readableBytesView) },
            parse: { body in try InferRequest(body: body, headerLength: headerLength, sharedMemory: sharedMemory) },
            respond: { parsed, outputs in
                try InferResponse(model: name, request: parsed, outputs: outputs, sharedMemory: sharedMemory)
            })
        return response.http
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.render(pretty: false))))
    }
}
