import LookoutPipeline
import ServiceLifecycle

/// Samples the pipeline into its metrics once a second while the service runs.
struct PipelineMonitorService: Service {
    let pipeline: Pipeline
    let metrics: PipelineMetrics

    func run() async throws {
        let monitor = PipelineMonitor(pipeline: pipeline, metrics: metrics, status: nil)
        monitor.start()
        try? await gracefulShutdown()
        monitor.stop()
    }
}
