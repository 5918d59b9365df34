import Hummingbird
import LookoutCore
import NIOCore

/// Triton's shared-memory endpoints over HTTP (`/v2/systemsharedmemory/…`, `/v2/cudasharedmemory/…`): register,
/// unregister one or all, status of one or all, on a `SharedMemoryRegistry`.
struct SharedMemoryRoutes: Sendable {
    let registry: SharedMemoryRegistry

    func add(to router: Router<BasicRequestContext>) {
        for (kind, prefix) in [(SharedMemoryKind.system, "/v2/systemsharedmemory"), (.cuda, "/v2/cudasharedmemory")] {
            router.get(RouterPath(prefix + "/status")) { [registry] _, _ in
                Self.status(try registry.status(nil, kind: kind))
            }
            router.get(RouterPath(prefix + "/region/:region/status")) { [registry] _, context in
                Self.status(try registry.status(try Self.name(context), kind: kind))
            }
            router.post(RouterPath(prefix + "/unregister")) { [registry] request, _ in
                _ = try await Self.body(request)
                try registry.unregister(nil, kind: kind)
                return InferenceRoutes.json(.object([]))
            }
            router.post(RouterPath(prefix + "/region/:region/unregister")) { [registry] request, context in
                _ = try await Self.body(request)
                try registry.unregister(try Self.name(context), kind: kind)
                return InferenceRoutes.json(.object([]))
            }
            router.post(RouterPath(prefix + "/region/:region/register")) { [registry] request, context in
                let name = try Self.name(context)
                let body = try await Self.body(request)
                switch kind {
                case .system:
                    try registry.registerSystem(
                        name: name, key: try Self.string(body, "key", name),
                        offset: try Self.integer(body, "offset", name, default: 0),
                        byteSize: try Self.integer(body, "byte_size", name))
                case .cuda:
                    guard let text = body["raw_handle"]?["b64"]?.stringValue else {
                        throw ServeError(
                            400,
                            "failed to register CUDA shared memory region '\(name)': 'raw_handle' must be {\"b64\": …}")
                    }
                    guard let handle = Base64Decoding.decode(text) else {
                        throw ServeError(
                            400, "failed to register CUDA shared memory region '\(name)': raw_handle.b64 is not base64")
                    }
                    try registry.registerCUDA(
                        name: name, handle: handle, deviceID: try Self.integer(body, "device_id", name, default: 0),
                        byteSize: try Self.integer(body, "byte_size", name))
                }
                return InferenceRoutes.json(.object([]))
            }
        }
    }

    static func name(_ context: BasicRequestContext) throws(ServeError) -> String {
        guard let name = context.parameters.get("region"), !name.isEmpty else {
            throw ServeError(400, "a shared memory region needs a name")
        }
        return name
    }

    /// The request's JSON object (an empty body is `{}`).
    static func body(_ request: Request) async throws -> JSONValue {
        var request = request
        let buffer = try await request.collectBody(upTo: InferenceService.maxBodyBytes)
        guard buffer.readableBytes > 0 else { return .object([]) }
        try InferRequest.checkDepth(Array(buffer.readableBytesView)[...])
        let value: JSONValue
        do { value = try JSONValue.parse(String(buffer: buffer)) } catch {
            throw ServeError(400, "request body: \(error)")
        }
        guard case .object = value else { throw ServeError(400, "request body: expected a JSON object") }
        return value
    }

    static func string(_ body: JSONValue, _ key: String, _ name: String) throws(ServeError) -> String {
        guard let value = body[key]?.stringValue else {
            throw ServeError(400, "failed to register shared memory region '\(name)': '\(key)' must be a string")
        }
        return value
    }

    static func integer(_ body: JSONValue, _ key: String, _ name: String, default value: Int? = nil)
        throws(ServeError) -> Int
    {
        guard let field = body[key] else {
            if let value { return value }
            throw ServeError(400, "failed to register shared memory region '\(name)': '\(key)' is missing")
        }
        guard case .int(let n) = field else {
            throw ServeError(400, "failed to register shared memory region '\(name)': '\(key)' must be an integer")
        }
        return n
    }

    /// Triton's status array: `name`, `key`, `offset`, `byte_size` for system regions; `name`, `device_id`,
    /// `byte_size` for CUDA regions.
    static func status(_ regions: [SharedMemoryRegion]) -> Response {
        InferenceRoutes.json(
            .array(
                regions.map { region in
                    switch region.kind {
                    case .system(let key, let offset):
                        .object([
                            ("name", .string(region.name)), ("key", .string(key)), ("offset", .int(offset)),
                            ("byte_size", .int(region.byteSize)),
                        ])
                    case .cuda(let deviceID):
                        .object([
                            ("name", .string(region.name)), ("device_id", .int(deviceID)),
                            ("byte_size", .int(region.byteSize)),
                        ])
                    }
                }))
    }
}
