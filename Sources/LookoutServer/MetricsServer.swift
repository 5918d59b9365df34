import Hummingbird
import Logging
import LookoutPipeline
import NIOCore
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format (Hummingbird 2 over SwiftNIO): a `Service`, run beside the
/// pipeline or the inference server in one `ServiceGroup`; graceful shutdown or cancellation stops it.
public struct MetricsServer: Service {
    /// The exposition text, made at each scrape.
    public let text: @Sendable () -> String
    public let host: String
    public let port: Int
    /// Called with the bound port once the server listens (useful with port 0).
    public var onListening: @Sendable (Int) -> Void

    public init(
        host: String = "127.0.0.1", port: Int, text: @escaping @Sendable () -> String,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.text = text
        self.host = host
        self.port = port
        self.onListening = onListening
    }

    /// A pipeline's metrics (`PipelineMetrics`).
    public init(
        metrics: PipelineMetrics, host: String = "127.0.0.1", port: Int,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.init(host: host, port: port, text: { metrics.text() }, onListening: onListening)
    }

    public func run() async throws {
        let router = Router()
        let text = self.text
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text())))
        }
        var logger = Logger(label: "lookout.metrics")
        // Stopping the server at the end of a run is not an error worth a log line.
        logger.logLevel = .critical
        let onListening = self.onListening
        let port = self.port
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in
                // No address: the channel closed already (another service of the group failed); nothing listens.
                if let bound = channel.localAddress?.port { onListening(bound) }
            }, logger: logger)
        try await app.run()
    }
}
