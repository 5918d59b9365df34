import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceLifecycle

/// The Open Inference Protocol (KServe v2) over gRPC as Triton implements it (`inference.GRPCInferenceService`,
/// plaintext HTTP/2), for the models of a `ModelRepository`, beside `InferenceService`'s HTTP. A
/// swift-service-lifecycle `Service`: graceful shutdown stops accepting calls and finishes those running, for
/// `shutdownGrace` at most; cancellation stops it at once.
public struct InferenceGRPCService: Service {
    package let repository: ModelRepository
    public let host: String
    public let port: Int
    /// The server's version in `ServerMetadata`.
    public let version: String
    /// Client shared-memory regions: the HTTP service's registry (one set of regions for both protocols).
    package let sharedMemory: SharedMemoryRegistry
    /// Called with the bound host and port once the server listens (port 0 picks a free one).
    public var onListening: @Sendable (String, Int) -> Void

    /// A request message at most: 256 MiB, as an HTTP infer body (a larger one is refused with `RESOURCE_EXHAUSTED`
    /// before it is buffered whole).
    public static let maxRequestBytes = InferenceService.maxInferBytes
    /// Calls running at once on one connection at most (each may hold a request of up to `maxRequestBytes`).
    public static let maxConcurrentStreams = 16
    /// The HTTP/2 flow-control window the server keeps open per connection and stream.
    public static let windowBytes = 16 << 20

    package init(
        repository: ModelRepository, host: String = "127.0.0.1", port: Int = 8001, version: String,
        sharedMemory: SharedMemoryRegistry = SharedMemoryRegistry(allowed: false),
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) {
        self.repository = repository
        self.sharedMemory = sharedMemory
        self.host = host
        self.port = port
        self.version = version
        self.onListening = onListening
    }

    public func run() async throws {
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":")
            ? .ipv6(host: host, port: port) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: .plaintext,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = Self.maxRequestBytes
                config.http2.maxConcurrentStreams = Self.maxConcurrentStreams
                // Inputs are whole images (6 MB for a 1080p UINT8 frame): HTTP/2's default 64 KiB window made the
                // client wait for a window update every few frames (a 4.9 MB tensor took ~60 ms more than over
                // HTTP/1.1 on loopback); a window of 16 MiB and 1 MiB frames take a request in one go.
                config.http2.targetWindowSize = Self.windowBytes
                config.http2.maxFrameSize = 1 << 20
            })
        let server = GRPCServer(
            transport: transport,
            services: [GRPCInferenceHandlers(repository: repository, version: version, sharedMemory: sharedMemory)])
        let host = self.host
        let onListening = self.onListening
        let grace = Self.shutdownGrace
        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask {
                try await withGracefulShutdownHandler {
                    try await withThrowingDiscardingTaskGroup { group in
                        group.addTask { try await server.serve() }
                        let bound = try await transport.listeningAddress
                        onListening(host, bound.ipv4?.port ?? bound.ipv6?.port ?? port)
                    }
                } onGracefulShutdown: {
                    server.beginGracefulShutdown()
                }
            }
            // Once graceful shutdown has waited `grace`, calls still open (a ModelStreamInfer stream its client keeps
            // open) are cancelled.
            outer.addTask {
                try await gracefulShutdown()
                try await Task.sleep(for: grace)
            }
            // The server's end (or its error), or the grace's: either way the other task stops.
            try await outer.next()
            outer.cancelAll()
        }
    }

    /// How long graceful shutdown waits for open calls before it cancels them (Triton's `--exit-timeout-secs`).
    public static let shutdownGrace = Duration.seconds(10)
}
