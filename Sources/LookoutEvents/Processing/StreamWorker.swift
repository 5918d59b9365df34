import LookoutCore
import LookoutMedia
import LookoutPipeline
import LookoutYOLO

/// The per-stream state a worker thread owns: the tracker, the rules, track summaries and the peak frames of open
/// events (copies kept only for frames that are an open event's best so far).
final class StreamState: @unchecked Sendable {
    // Owned by one worker thread after it is made (the tracker and the rules are not thread-safe).
    let stream: Int
    let source: String
    let tracker: ByteTracker
    var engine: RuleEngine?
    /// The version of the rules `engine` was made from (`EventProcessor.replaceRules` makes a new one).
    var rulesVersion = 0
    var summaries: [Int: StoreBatch.TrackSummary] = [:]
    /// Per open event, the frame of its peak so far (undrawn: events peaking in the same frame share one copy of it;
    /// arrays are copy-on-write) and its box there, drawn when the event closes.
    var peakImages: [String: (image: BGRImage, box: [Float], frame: Int)] = [:]
    var framesSinceFlush = 0

    init(stream: Int, source: String, tracker: ByteTracker, engine: RuleEngine?, rulesVersion: Int = 0) {
        self.stream = stream
        self.source = source
        self.tracker = tracker
        self.engine = engine
        self.rulesVersion = rulesVersion
    }
}

/// What a worker hands the writer for one frame.
struct WorkerOutput: Sendable {
    var batch: StoreBatch
    var frame: TrackedFrame?
    /// The worker's last output (the writer stops after one from each worker).
    var closesStream = false
}

/// Tracking, rules and snapshots for the streams of one worker thread.
struct StreamWork {
    let classNames: [String]
    let options: EventProcessorOptions
    let sinkNames: [String]

    /// Processes one frame of `state`'s stream.
    func process(_ result: FrameResult, state: StreamState, now: Int64) -> WorkerOutput {
        let objects = state.tracker.update(result.detections)
        var batch = StoreBatch()
        batch.time = now
        var opened: [Event] = []
        let seconds = result.pts ?? Double(result.frame) / 30
        for o in objects {
            let name = classNames.indices.contains(o.classIndex) ? classNames[o.classIndex] : "\(o.classIndex)"
            if var s = state.summaries[o.id] {
                s.lastFrame = result.frame
                s.lastTime = now
                s.frames += 1
                s.className = name
                s.peakConfidence = max(s.peakConfidence, o.confidence)
                state.summaries[o.id] = s
            } else {
                state.summaries[o.id] = StoreBatch.TrackSummary(
                    stream: state.stream, trackID: o.id, className: name, firstFrame: result.frame,
                    lastFrame: result.frame, firstTime: now, lastTime: now, frames: 1, peakConfidence: o.confidence)
            }
        }
        state.framesSinceFlush += 1
        if state.framesSinceFlush >= 30 {
            flushSummaries(state, into: &batch)
        }
        if let every = options.storeDetectionsEvery, every > 0, result.frame % every == 0 {
            for o in objects {
                batch.detections.append(
                    StoreBatch.DetectionRow(
                        stream: state.stream, frame: result.frame, time: now, trackID: o.id, classIndex: o.classIndex,
                        confidence: o.confidence, box: [o.x1, o.y1, o.x2, o.y2]))
            }
        }
        if let engine = state.engine {
            let out = engine.process(
                RuleEngine.Frame(
                    frame: result.frame, seconds: seconds, wallTime: now, width: result.width, height: result.height,
                    objects: objects))
            for event in out.opened {
                let rule = engine.rules.first { $0.name == event.rule }
                let jpeg = snapshot(result.pixels, event: event)
                batch.opened.append(StoreBatch.Opened(event: event, snapshot: jpeg, sinks: rule?.sinks ?? sinkNames))
                opened.append(event)
            }
            // One copy of the frame however many events peak in it (a 1080p frame is 6 MB; at 64 streams a copy per
            // event and frame outran the pipeline).
            var frameCopy: BGRImage? = nil
            for peak in out.peaks {
                guard let pixels = result.pixels else { break }
                if frameCopy == nil { frameCopy = pixels.image() }
                state.peakImages[peak.id] = (frameCopy!, peak.box, result.frame)
            }
            for event in out.closed { close(event, state: state, into: &batch) }
            for change in out.counts {
                batch.counts[
                    StoreBatch.CountKey(
                        stream: state.stream, kind: change.kind, name: change.name, direction: change.direction),
                    default: 0] += change.delta
            }
        }
        let frame = TrackedFrame(
            stream: result.stream, frame: result.frame, pts: result.pts, name: result.name, width: result.width,
            height: result.height, detections: result.detections, objects: objects, events: opened,
            pixels: result.pixels, latencyMilliseconds: result.latencyMilliseconds)
        return WorkerOutput(batch: batch, frame: frame)
    }

    /// A frame passed on without tracking (a late frame of a stream that has ended).
    func untracked(_ result: FrameResult) -> TrackedFrame {
        TrackedFrame(
            stream: result.stream, frame: result.frame, pts: result.pts, name: result.name, width: result.width,
            height: result.height, detections: result.detections, objects: [], events: [], pixels: result.pixels,
            latencyMilliseconds: result.latencyMilliseconds)
    }

    /// The stream ended: close its open events, write its summaries.
    func finish(_ state: StreamState, now: Int64) -> StoreBatch {
        var batch = StoreBatch()
        batch.time = now
        for event in state.engine?.finish() ?? [] { close(event, state: state, into: &batch) }
        flushSummaries(state, into: &batch)
        return batch
    }

    /// New rules for `state`'s stream: the old rules' open events close (as at the end of a stream), and the stream
    /// goes on under `rules`.
    func replaceRules(_ state: StreamState, with rules: RuleSet?, version: Int, now: Int64) -> StoreBatch {
        var batch = StoreBatch()
        batch.time = now
        for event in state.engine?.finish() ?? [] { close(event, state: state, into: &batch) }
        state.engine = rules.map {
            RuleEngine(
                set: $0, stream: state.stream, source: state.source, classNames: classNames,
                forgetAfter: options.tracker.maxFramesLost)
        }
        state.rulesVersion = version
        return batch
    }

    private func close(_ event: Event, state: StreamState, into batch: inout StoreBatch) {
        batch.updated.append(event)
        if let peak = state.peakImages.removeValue(forKey: event.id) {
            var image = peak.image
            draw(peak.box, label: "", on: &image)
            if let jpeg = try? ImageEncoder.encode(image, as: .jpeg, quality: options.snapshotQuality) {
                batch.snapshots.append((event.id, peak.frame, jpeg))
            }
        }
    }

    private func flushSummaries(_ state: StreamState, into batch: inout StoreBatch) {
        // Tracks seen since the last flush are written (the upsert adds their frames and keeps their first sighting);
        // tracks not seen since were written then and are forgotten.
        state.summaries = state.summaries.filter { $0.value.frames > 0 }
        batch.tracks += state.summaries.values.sorted { $0.trackID < $1.trackID }
        for (id, var s) in state.summaries {
            s.frames = 0
            state.summaries[id] = s
        }
        state.framesSinceFlush = 0
    }

    /// The frame with the event's box drawn, as JPEG (nil without pixels).
    private func snapshot(_ pixels: FramePixels?, event: Event) -> [UInt8]? {
        guard let pixels, let box = event.box else { return nil }
        var image = pixels.image()
        draw(box, label: "\(event.className ?? "") #\(event.trackID.map(String.init) ?? "-") \(event.rule)", on: &image)
        return try? ImageEncoder.encode(image, as: .jpeg, quality: options.snapshotQuality)
    }

    private func draw(_ box: [Float], label: String, on image: inout BGRImage) {
        Annotator().draw(
            [Annotator.Box(x1: box[0], y1: box[1], x2: box[2], y2: box[3], classIndex: 0, label: label)], on: &image)
    }
}
