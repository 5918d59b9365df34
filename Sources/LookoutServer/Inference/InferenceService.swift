import Hummingbird
import Logging
import LookoutCore
import NIOCore
import ServiceLifecycle

/// The Open Inference Protocol (KServe v2) over HTTP/REST as Triton implements it, for the models of a
/// `ModelRepository`: health, server and model metadata, model configuration, infer (JSON tensors and Triton's
/// binary tensor data extension), statistics and the repository API. A swift-service-lifecycle `Service`:
/// graceful shutdown or cancellation stops it.
public struct InferenceService: Service {
    package let repository: ModelRepository
    public let host: String
    public let port: Int
    /// The server's version in `GET /v2`.
    public let version: String
    /// Client shared-memory regions (Triton's shared-memory extensions; off unless the registry allows them).
    package let sharedMemory: SharedMemoryRegistry
    /// Called with the bound host and port once the server listens (port 0 picks a free one).
    public var onListening: @Sendable (String, Int) -> Void

    /// Body of an infer request at most (JSON header and binary data together): 256 MiB.
    public static let maxInferBytes = 256 << 20
    /// Body of any other request at most.
    public static let maxBodyBytes = 1 << 20

    package init(
        repository: ModelRepository, host: String = "127.0.0.1", port: Int = 8000, version: String,
        sharedMemory: SharedMemoryRegistry = SharedMemoryRegistry(allowed: false),
        onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) {
        self.repository = repository
        self.host = host
        self.port = port
        self.version = version
        self.sharedMemory = sharedMemory
        self.onListening = onListening
    }

    public func run() async throws {
        // Every region is unmapped at shutdown (one still in use when its request finishes).
        defer { sharedMemory.unregisterAll() }
        let router = Router()
        router.add(middleware: JSONErrors(methods: { _ in [] }))
        InferenceRoutes(repository: repository, version: version, sharedMemory: sharedMemory).add(to: router)
        var logger = Logger(label: "lookout.inference")
        logger.logLevel = .critical
        let host = self.host
        let onListening = self.onListening
        let app = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestDeadline(seconds: 120)], idleTimeout: .seconds(120))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in
                // No address: the channel closed already (another service of the group failed); nothing listens.
                if let port = channel.localAddress?.port { onListening(host, port) }
            }, logger: logger)
        // Graceful shutdown: the batchers refuse new requests and run the queued ones at once; those are answered
        // before the service returns.
        do {
            try await withGracefulShutdownHandler {
                try await app.run()
            } onGracefulShutdown: {
                repository.close()
            }
        } catch {
            await repository.drain()
            throw error
        }
        await repository.drain()
    }
}
