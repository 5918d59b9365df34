import LookoutPipeline
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// How `stream` and `track` run their service group on a terminal: Ctrl-C once drains (the frames already decoded
/// are still detected), twice quits at once; a status line while it runs. Returns the error that ended the group.
func runWithInterrupts(
    _ group: ServiceGroup, pipeline: Pipeline, metrics: PipelineMetrics?, terminal: TerminalOutput
) async -> (any Error)? {
    let interrupts = Task {
        var count = 0
        for await _ in await UnixSignalsSequence(trapping: .sigint) {
            count += 1
            guard count == 1 else { Glibc.exit(130) }
            terminal.note("stopping: finishing the frames already decoded (Ctrl-C again to quit at once)")
            await group.triggerGracefulShutdown()
        }
    }
    var status: (@Sendable (String) -> Void)? = nil
    if terminal.statusEnabled { status = { line in terminal.status(line) } }
    let monitor = PipelineMonitor(pipeline: pipeline, metrics: metrics, status: status)
    monitor.start()
    var failure: (any Error)? = nil
    do { try await group.run() } catch { failure = error }
    monitor.stop()
    interrupts.cancel()
    return failure
}
