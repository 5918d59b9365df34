import LookoutCore
import LookoutMedia

/// Decodes a video file or live stream into the stream's frame pool: with FFmpeg on CPU threads, or on NVDEC into
/// device surfaces when the pipeline decodes on the GPU and NVDEC takes the stream's codec and size. Files end at
/// their last frame (or loop); live streams re-open after an error, an end or a stall, with back-off, reporting
/// each event.
struct VideoFrameSource: Sendable {
    let source: StreamSource
    let url: String

    func run(_ feed: FrameSink) {
        let live = source.isLive
        let reconnect = source.reconnect
        var options = VideoInputOptions()
        options.decoderThreads = source.decoderThreads ?? feed.decoderThreads
        options.rtspTransport = source.rtspTransport
        options.lowLatency = live
        options.openTimeout = live ? reconnect.openTimeout : max(reconnect.openTimeout, 30)
        var attempt = 0
        var everOpened = false
        var lastFrameAt: UInt64? = nil
        var lastPTS: Double? = nil
        var ptsOffset = 0.0
        var needsOffset = false
        var reportedErrors = 0
        var published = 0
        var reportedFallback = false
        // Frames decoded (1-based) for the stride: Ultralytics keeps the Nth, 2Nth… (`grab` N times, `retrieve`).
        var decodedForStride = 0
        let stride = max(source.videoStride, 1)

        while !feed.isStopping {
            let interrupt = VideoInterrupt()
            feed.use(interrupt)
            let decoder: any OpenVideo
            do {
                decoder = try open(options: options, interrupt: interrupt, feed: feed) { reason in
                    if !reportedFallback { feed.report(.decodingOnCPU(reason: reason)) }
                    reportedFallback = true
                }
            } catch {
                if error.code == .stopped || feed.isStopping { break }
                guard live else {
                    feed.report(.failed(message: error.message))
                    break
                }
                attempt += 1
                if attempt == 1 { feed.report(.disconnected(reason: error.message)) }
                if let limit = reconnect.maxAttempts, attempt >= limit {
                    feed.report(
                        .failed(message: "\(error.message); gave up after \(attempt) attempt\(attempt == 1 ? "" : "s")")
                    )
                    break
                }
                let delay = reconnect.delay(attempt: attempt)
                feed.report(.reconnecting(attempt: attempt + 1, delay: delay))
                if !feed.sleep(delay) { break }
                continue
            }
            let info = decoder.info
            if !everOpened {
                feed.report(.opened(width: info.width, height: info.height, codec: info.codec, fps: info.frameRate))
                everOpened = true
            }
            let frameDuration = 1 / (info.frameRate ?? 30)
            var paceStart: (wall: UInt64, pts: Double)? = nil
            var awaitingFirstFrame = attempt > 0 || lastFrameAt != nil
            reportedErrors = 0

            reading: while !feed.isStopping {
                if live { interrupt.setDeadline(secondsFromNow: reconnect.stallTimeout) }
                do {
                    let decodeStart = MonotonicClock.nanoseconds()
                    guard let frame = try decoder.next() else {
                        if source.loop && !live {
                            try decoder.rewind()
                            ptsOffset = (lastPTS ?? 0) + frameDuration
                            needsOffset = true
                            paceStart = nil
                            continue
                        }
                        if live {
                            feed.report(.disconnected(reason: "the stream ended"))
                            break reading
                        }
                        noteDecodeErrors(decoder, feed, &reportedErrors)
                        return
                    }
                    let now = MonotonicClock.nanoseconds()
                    if awaitingFirstFrame {
                        awaitingFirstFrame = false
                        attempt = 0
                        if let lastFrameAt {
                            let downtime = Double(now - lastFrameAt) / 1e9
                            feed.stats.reconnects.add(1, ordering: .relaxed)
                            feed.stats.gaps.add(1, ordering: .relaxed)
                            feed.stats.gapMilliseconds.add(Int(downtime * 1000), ordering: .relaxed)
                            feed.report(.reconnected(downtime: downtime))
                            // Time stamps go on from the last frame across the gap.
                            ptsOffset = (lastPTS ?? 0) + downtime - (frame.pts ?? 0)
                        }
                    }
                    lastFrameAt = now
                    noteDecodeErrors(decoder, feed, &reportedErrors)
                    decodedForStride += 1
                    if decodedForStride % stride != 0 { continue }
                    if needsOffset, let p = frame.pts, let last = lastPTS, p + ptsOffset <= last {
                        ptsOffset = last + frameDuration - p
                    }
                    needsOffset = false
                    let pts = frame.pts.map { $0 + ptsOffset }
                    lastPTS = pts ?? lastPTS
                    if source.paced, let pts {
                        if let start = paceStart {
                            let due = start.wall &+ UInt64(max(0, pts - start.pts) * 1e9)
                            let wait = Double(Int64(bitPattern: due &- MonotonicClock.nanoseconds())) / 1e9
                            if wait > 0 && !feed.sleep(wait) { break reading }
                        } else {
                            paceStart = (MonotonicClock.nanoseconds(), pts)
                        }
                    }
                    // The frame counts as decoded from here: it is published or counted as dropped.
                    var convertNanoseconds: UInt64 = 0
                    let kept = try decoder.publish(frame, pts: pts, into: feed, convertNanoseconds: &convertNanoseconds)
                    guard kept else { continue }
                    // Demux + decode + conversion, without the waits for pacing or a pool buffer (a live stream's
                    // demux time includes waiting for its data).
                    feed.recordDecode(nanoseconds: (now &- decodeStart) &+ convertNanoseconds)
                    published += 1
                    if let limit = source.maxFrames, published >= limit { return }
                } catch let error as VideoError {
                    if error.code == .stopped || feed.isStopping { return }
                    if live {
                        if error.code == .stalled {
                            feed.report(.stalled(seconds: reconnect.stallTimeout))
                        } else {
                            feed.report(.disconnected(reason: error.message))
                        }
                        break reading
                    }
                    noteDecodeErrors(decoder, feed, &reportedErrors)
                    feed.report(.failed(message: error.message))
                    return
                } catch {
                    feed.report(.failed(message: "\(error)"))
                    return
                }
            }
            if !live || feed.isStopping { return }
            // Re-open at once after a loss; back-off applies when that fails.
            attempt = max(attempt, 1)
            feed.report(.reconnecting(attempt: attempt, delay: 0))
        }
    }

    /// Opens the video on NVDEC when the pipeline decodes on the GPU and NVDEC takes it (else `fallback` hears why
    /// and the CPU decodes it), or with FFmpeg's decoders.
    private func open(
        options: VideoInputOptions, interrupt: VideoInterrupt, feed: FrameSink, fallback: (String) -> Void
    ) throws(VideoError) -> any OpenVideo {
        if let hardware = feed.hardwareDecoding {
            let reader = try VideoPacketReader(url: url, options: options, interrupt: interrupt)
            switch NVDECVideo.refusal(reader: reader, hardware: hardware) {
            case .some(let reason):
                fallback(reason)
            case .none:
                return try NVDECVideo(
                    reader: reader, hardware: hardware, surfaces: feed.poolSize, lowLatency: source.isLive,
                    policy: source.dropsWhenBehind ? .report : .wait)
            }
        }
        return CPUVideo(decoder: try VideoDecoder(url: url, options: options, interrupt: interrupt))
    }

    /// Counts the decoder's new corrupt-packet errors; reports the first and then each power of ten, not a line per
    /// packet.
    private func noteDecodeErrors(_ decoder: any OpenVideo, _ feed: FrameSink, _ counted: inout Int) {
        guard decoder.decodeErrors > counted else { return }
        let before = feed.stats.decodeErrors.add(decoder.decodeErrors - counted, ordering: .relaxed).oldValue
        let total = before + decoder.decodeErrors - counted
        counted = decoder.decodeErrors
        var threshold = 1
        while threshold <= total {
            if before < threshold {
                feed.report(.decodeErrors(total: total, last: decoder.lastDecodeError ?? ""))
                return
            }
            threshold *= 10
        }
    }
}

/// An open video as `VideoFrameSource` drives it: frames one at a time, each published into the stream's sink.
protocol OpenVideo: AnyObject {
    var info: VideoStreamInfo { get }
    /// Corrupt packets or pictures the decoder skipped so far, and its words for the last.
    var decodeErrors: Int { get }
    var lastDecodeError: String? { get }
    /// The next frame in display order; nil at the end.
    func next() throws(VideoError) -> DecodedFrame?
    /// Back to the first frame (a looping file).
    func rewind() throws(VideoError)
    /// Publishes `frame` (the last `next()` returned) into `feed`; false when it was not kept. Adds the time spent
    /// converting or mapping it to `convertNanoseconds`.
    func publish(_ frame: DecodedFrame, pts: Double?, into feed: FrameSink, convertNanoseconds: inout UInt64) throws
        -> Bool
}

/// FFmpeg's decoder: frames converted into host pool buffers in the stage's layout.
final class CPUVideo: OpenVideo {
    let decoder: VideoDecoder

    init(decoder: VideoDecoder) { self.decoder = decoder }

    var info: VideoStreamInfo { decoder.info }
    var decodeErrors: Int { decoder.decodeErrors }
    var lastDecodeError: String? { decoder.lastDecodeError }
    func next() throws(VideoError) -> DecodedFrame? { try decoder.next() }
    func rewind() throws(VideoError) { try decoder.rewind() }

    func publish(_ frame: DecodedFrame, pts: Double?, into feed: FrameSink, convertNanoseconds: inout UInt64) throws
        -> Bool
    {
        let format = feed.preferredFormat
        var spent: UInt64 = 0
        let kept = try feed.write(width: frame.width, height: frame.height, format: format, pts: pts) {
            buffer, rowBytes in
            let start = MonotonicClock.nanoseconds()
            switch format {
            case .bgr: try decoder.convert(into: buffer.baseAddress!, rowBytes: rowBytes)
            case .nv12: try decoder.convertNV12(into: buffer.baseAddress!, pitch: rowBytes)
            }
            spent = MonotonicClock.nanoseconds() &- start
        }
        convertNanoseconds &+= spent
        return kept
    }
}
