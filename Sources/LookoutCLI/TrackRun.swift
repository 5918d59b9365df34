import ArgumentParser
import Logging
import LookoutCore
import LookoutEvents
import LookoutInference
import LookoutPipeline
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// A pipeline with an `EventProcessor` beside it: what `lookout track` runs, and `lookout stream` with --tracker,
/// --rules or --db. Tracked frames go to --json (with ids) and --save-video (ids and trails); events to the store and
/// the rule file's sinks.
struct TrackRun {
    var sources: [StreamSource]
    var options: PipelineOptions
    var detector: Detector
    var tracking: TrackingFlags
    var json: String?
    var saveVideo: String?

    func run() async throws {
        let terminal = TerminalOutput(statusEnabled: StandardStreams.errorIsTerminal)
        let names = detector.model.classNames
        let processorOptions = try tracking.options(classNames: names)
        var pipelineOptions = options
        // Snapshots and annotated video need the frames' pixels after detection.
        pipelineOptions.deliversFrames =
            pipelineOptions.deliversFrames || saveVideo != nil || processorOptions.rules != nil
        let pipeline: Pipeline
        do { pipeline = try Pipeline(sources: sources, detector: detector, options: pipelineOptions) } catch {
            throw Console.fail(error)
        }
        let processor: EventProcessor
        do {
            processor = try EventProcessor(
                pipeline: pipeline, classNames: names, options: processorOptions, log: { terminal.note($0) })
        } catch { throw Console.fail(TrackingFlags.message(error)) }
        var writer: LineWriter?
        if let json {
            do { writer = try LineWriter(path: json) } catch { throw Console.fail(error) }
        }
        var video: TrackedVideoWriter?
        if let saveVideo {
            do {
                video = try TrackedVideoWriter(directory: saveVideo, sources: sources.map(\.description), names: names)
                {
                    terminal.note("error: \($0)")
                }
            } catch { throw Console.fail(error) }
        }
        let lines = writer
        let sink = video
        let reader = Task {
            for await frame in processor.results {
                lines?.write(frame.jsonLine(names: names))
                sink?.write(frame)
            }
        }
        let reporter = Task {
            for await event in pipeline.events { terminal.note(event.description) }
        }
        let quiet = Logger(label: "lookout") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: pipeline, successTerminationBehavior: .ignore,
                        failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(
                        service: processor, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup),
                ], gracefulShutdownSignals: [.sigterm], cancellationSignals: [], logger: quiet))
        let failure = await runWithInterrupts(group, pipeline: pipeline, metrics: nil, terminal: terminal)
        await reader.value
        await reporter.value
        video?.finish()
        terminal.clearStatus()
        let summary = pipeline.summary()
        StandardStreams.error(summary.text + "\n")
        let counts = processor.counts
        var line = "tracked \(counts.frames) frames"
        if processorOptions.rules != nil { line += ", \(counts.events) events" }
        if let store = processor.store {
            line += " (store \(store.path)"
            if let pending = try? store.pendingCount(), pending > 0 { line += ", \(pending) deliveries still owed" }
            line += ")"
        }
        StandardStreams.error(line + "\n")
        if let fatal = pipeline.fatalError { throw Console.fail(fatal) }
        if let failure { throw Console.fail(TrackingFlags.message(failure)) }
        if counts.unstoredEvents > 0 || summary.streams.contains(where: { $0.error != nil }) { throw ExitCode.failure }
    }
}
