import Hummingbird
import Logging
import NIOCore

/// `--metrics-port`: serves `GET /metrics` in the Prometheus text format (Hummingbird 2 over SwiftNIO).
public enum MetricsServer {
    /// Runs until the calling task is cancelled. `onListening` gets the bound port (useful with port 0).
    public static func run(
        metrics: PipelineMetrics, host: String = "127.0.0.1", port: Int,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        var logger = Logger(label: "lookout.metrics")
        // Cancelling the server (the end of a run) logs a CancellationError at error level.
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) }, logger: logger)
        // `run()`, not `runService()`: the pipeline owns SIGINT (Ctrl-C drains and prints a summary).
        try await app.run()
    }
}
