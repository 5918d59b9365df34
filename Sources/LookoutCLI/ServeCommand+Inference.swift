import Logging
import LookoutCUDA
import LookoutInference
import LookoutModel
import LookoutServer
import ServiceLifecycle

extension ServeCommand {
    /// `lookout serve --inference-only`: the KServe v2 / Open Inference Protocol server over a model repository, HTTP
    /// and gRPC side by side on one repository, until SIGTERM or Ctrl-C.
    func runInferenceServer() async throws {
        guard let folder = modelRepository else { throw Console.fail("--inference-only needs --model-repository DIR") }
        let port = httpPort ?? 8000
        guard (0...65535).contains(port) else { throw Console.fail("--http-port must be from 0 to 65535") }
        let grpc = grpcPort ?? 8001
        guard (-1...65535).contains(grpc) else {
            throw Console.fail("--grpc-port must be from 0 to 65535, or -1 for no gRPC server")
        }
        let metrics = metricsPort ?? 8002
        guard (-1...65535).contains(metrics) else {
            throw Console.fail("--metrics-port must be from 0 to 65535, or -1 for no metrics server")
        }
        // A port in use fails the command at once, naming the flag, before any model loads (as Triton does).
        let bindHost = host ?? "127.0.0.1"
        let fixed = [port, grpc, metrics].filter { $0 > 0 }
        if Set(fixed).count < fixed.count {
            throw Console.fail("--http-port, --grpc-port and --metrics-port must differ (\(port), \(grpc), \(metrics))")
        }
        for (flag, value) in [("--http-port", port), ("--grpc-port", grpc), ("--metrics-port", metrics)] where value > 0
        {
            if let problem = PortProbe.problem(host: bindHost, port: value) {
                throw Console.fail("\(flag) \(value): cannot listen on \(bindHost):\(value) (\(problem))")
            }
        }
        let deviceRequest: DeviceRequest
        do { deviceRequest = try DeviceRequest(parsing: device ?? "auto") } catch {
            throw Console.fail("--device: \(error)")
        }
        var batching = BatchingSettings()
        batching.maxBatchSize = maxBatchSize ?? batching.maxBatchSize
        batching.maxQueueDelayMicroseconds = maxQueueDelayMicroseconds ?? batching.maxQueueDelayMicroseconds
        batching.enabled = dynamicBatching
        guard (1...1024).contains(batching.maxBatchSize) else {
            throw Console.fail("--max-batch-size must be from 1 to 1024")
        }
        guard (0...60_000_000).contains(batching.maxQueueDelayMicroseconds) else {
            throw Console.fail("--max-queue-delay-us must be from 0 to 60000000 (60 s)")
        }
        let repository: ModelRepository
        do {
            repository = try ModelRepository(folder: folder, settings: batching) { path in
                let detector = try Detector(
                    model: try DetectionModel(path: path), device: deviceRequest, options: .fromEnvironment())
                Console.note("\(path): \(detector.deviceLine)")
                return detector
            }
        } catch { throw Console.fail(error.message) }
        for failure in repository.loadAll() { Console.note("model \(failure)") }
        let models = repository.index()
        Console.note("\(models.filter(\.ready).count) of \(models.count) models ready in \(folder)")
        // One registry for both protocols: a region registered over HTTP serves gRPC requests and the other way.
        let sharedMemory = Self.sharedMemoryRegistry(allowed: allowClientShm, device: deviceRequest)
        let service = InferenceService(
            repository: repository, host: host ?? "127.0.0.1", port: port, version: "0.1.0",
            sharedMemory: sharedMemory,
            onListening: { host, port in
                let shown = host == "0.0.0.0" ? "127.0.0.1" : host
                Console.note("inference server on http://\(shown):\(port)")
            })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: service)]
        if grpc >= 0 {
            let grpcService = InferenceGRPCService(
                repository: repository, host: host ?? "127.0.0.1", port: grpc, version: "0.1.0",
                sharedMemory: sharedMemory,
                onListening: { host, port in
                    let shown = host == "0.0.0.0" ? "127.0.0.1" : host
                    Console.note("inference gRPC server on \(shown):\(port)")
                })
            services.append(.init(service: grpcService))
        }
        if metrics >= 0 {
            let metricsHost = host ?? "127.0.0.1"
            let metricsServer = MetricsServer(
                host: metricsHost, port: metrics, text: { repository.metricsText() },
                onListening: { port in
                    let shown = metricsHost == "0.0.0.0" ? "127.0.0.1" : metricsHost
                    Console.note("inference metrics on http://\(shown):\(port)/metrics")
                })
            services.append(.init(service: metricsServer))
        }
        let quiet = Logger(label: "lookout") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [], logger: quiet))
        do { try await group.run() } catch { throw Console.fail(error) }
    }
}
