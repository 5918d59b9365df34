import Hummingbird
import Logging
import LookoutPipeline
import NIOCore
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format (Hummingbird 2 over SwiftNIO): a `Service`, run beside the
/// pipeline in one `ServiceGroup`; graceful shutdown or cancellation stops it.
public struct MetricsServer: Service {
    public let metrics: PipelineMetrics
    public let host: String
    public let port: Int
    /// Called with the bound port once the server listens (useful with port 0).
    public var onListening: @Sendable (Int) -> Void

    public init(
        metrics: PipelineMetrics, host: String = "127.0.0.1", port: Int,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.metrics = metrics
        self.host = host
        self.port = port
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router()
        let metrics = self.metrics
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        var logger = Logger(label: "lookout.metrics")
        // Stopping the server at the end of a run is not an error worth a log line.
        logger.logLevel = .critical
        let onListening = self.onListening
        let port = self.port
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) }, logger: logger)
        try await app.run()
    }
}
