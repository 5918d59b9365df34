import CLookoutFFmpeg

/// Demuxes and decodes one video stream with libavformat/libavcodec on the calling thread, and converts the
/// current frame with libswscale straight into a caller-owned BGR buffer (a leased frame-pool buffer: no
/// intermediate copy). Not thread-safe except through its `interrupt`, which any thread may trigger.
public final class VideoDecoder {
    public let source: String
    public let info: VideoStreamInfo
    public let interrupt: VideoInterrupt
    /// Decoder errors met so far (corrupt packets the decoder rejected and skipped).
    public private(set) var decodeErrors = 0
    /// The last of those, as FFmpeg words it.
    public private(set) var lastDecodeError: String?
    /// Frames produced so far.
    public private(set) var decodedCount = 0

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var nv12Scaler: OpaquePointer?
    private let streamIndex: Int32
    private let timeBase: Double
    private let startTime: Int64?
    private let maxConsecutiveErrors: Int
    private var consecutiveErrors = 0
    private var draining = false
    private var ended = false

    static let noPTS = Int64(bitPattern: 0x8000_0000_0000_0000)

    /// Opens `url` (a path, or any URL FFmpeg reads: rtsp://, http://, udp://, …) and its best video stream.
    public init(
        url: String, options: VideoInputOptions = VideoInputOptions(), interrupt: VideoInterrupt = VideoInterrupt()
    )
        throws(VideoError)
    {
        _ = FFmpeg.quietLogs
        let opened = try VideoDecoder.open(url: url, options: options, interrupt: interrupt)
        self.source = url
        self.interrupt = interrupt
        self.maxConsecutiveErrors = options.maxConsecutiveDecodeErrors
        self.format = opened.format
        self.codec = opened.codec
        self.frame = opened.frame
        self.packet = opened.packet
        self.streamIndex = opened.streamIndex
        self.timeBase = opened.timeBase
        self.startTime = opened.startTime
        self.info = opened.info
    }

    private struct Opened {
        var format: UnsafeMutablePointer<AVFormatContext>?
        var codec: UnsafeMutablePointer<AVCodecContext>?
        var frame: UnsafeMutablePointer<AVFrame>?
        var packet: UnsafeMutablePointer<AVPacket>?
        var streamIndex: Int32 = -1
        var timeBase = 0.0
        var startTime: Int64?
        var info = VideoStreamInfo(width: 0, height: 0, codec: "", container: "")
    }

    private static func open(url: String, options: VideoInputOptions, interrupt: VideoInterrupt) throws(VideoError)
        -> Opened
    {
        var opened = Opened()
        var complete = false
        defer {
            if !complete {
                if opened.frame != nil { av_frame_free(&opened.frame) }
                if opened.packet != nil { av_packet_free(&opened.packet) }
                if opened.codec != nil { avcodec_free_context(&opened.codec) }
                if opened.format != nil { avformat_close_input(&opened.format) }
            }
        }
        guard let context = avformat_alloc_context() else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }
        lk_interrupt_install(context, interrupt.state)
        var dictionary: OpaquePointer? = nil
        defer { av_dict_free(&dictionary) }
        var settings = options.extra
        if let transport = options.rtspTransport { settings["rtsp_transport"] = transport.rawValue }
        if options.lowLatency {
            let live = [
                "fflags": "nobuffer", "probesize": "500000", "analyzeduration": "500000",
                // RTP over UDP: hand packets on after 100 ms instead of holding them 500 ms for reordering.
                "max_delay": "100000",
            ]
            for (key, value) in live where settings[key] == nil { settings[key] = value }
        }
        for (key, value) in settings { av_dict_set(&dictionary, key, value, 0) }

        interrupt.setDeadline(secondsFromNow: options.openTimeout)
        defer { interrupt.setDeadline(secondsFromNow: nil) }
        var optional: UnsafeMutablePointer<AVFormatContext>? = context
        var status = avformat_open_input(&optional, url, nil, &dictionary)
        guard status >= 0, let format = optional else {
            // avformat_open_input frees the context on failure.
            throw VideoDecoder.failure(.open, url, "cannot open", "avformat_open_input", status, interrupt)
        }
        opened.format = format
        status = avformat_find_stream_info(format, nil)
        guard status >= 0 else {
            throw VideoDecoder.failure(
                .open, url, "cannot read stream information", "avformat_find_stream_info", status, interrupt)
        }
        var decoder: UnsafePointer<AVCodec>? = nil
        let index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        guard index >= 0, let decoder else {
            let why =
                index == averrorDecoderNotFound
                ? "its video codec has no decoder in this FFmpeg build" : "it has no video stream"
            throw VideoError(.noVideo, source: url, message: "cannot decode: \(why)", averror: index)
        }
        opened.streamIndex = index
        guard let stream = format.pointee.streams[Int(index)], let codec = avcodec_alloc_context3(decoder) else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }
        opened.codec = codec
        status = avcodec_parameters_to_context(codec, stream.pointee.codecpar)
        guard status >= 0 else {
            throw VideoDecoder.failure(
                .open, url, "cannot configure the decoder", "avcodec_parameters_to_context", status, nil)
        }
        codec.pointee.thread_count = Int32(max(0, options.decoderThreads))
        codec.pointee.pkt_timebase = stream.pointee.time_base
        status = avcodec_open2(codec, decoder, nil)
        guard status >= 0 else {
            throw VideoDecoder.failure(.open, url, "cannot open the decoder", "avcodec_open2", status, nil)
        }
        opened.frame = av_frame_alloc()
        opened.packet = av_packet_alloc()
        guard opened.frame != nil, opened.packet != nil else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }

        let tb = stream.pointee.time_base
        opened.timeBase = tb.den != 0 ? Double(tb.num) / Double(tb.den) : 0
        opened.startTime = stream.pointee.start_time != VideoDecoder.noPTS ? stream.pointee.start_time : nil
        func rate(_ r: AVRational) -> Double? { r.num > 0 && r.den > 0 ? Double(r.num) / Double(r.den) : nil }
        let parameters = stream.pointee.codecpar.pointee
        let duration: Double? =
            stream.pointee.duration > 0
            ? Double(stream.pointee.duration) * opened.timeBase
            : (format.pointee.duration > 0 ? Double(format.pointee.duration) / Double(AV_TIME_BASE) : nil)
        opened.info = VideoStreamInfo(
            width: Int(parameters.width), height: Int(parameters.height),
            frameRate: rate(stream.pointee.avg_frame_rate) ?? rate(stream.pointee.r_frame_rate),
            frameCount: stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil, duration: duration,
            codec: String(cString: decoder.pointee.name),
            container: String(cString: format.pointee.iformat.pointee.name))
        complete = true
        return opened
    }

    deinit { release() }

    private func release() {
        if scaler != nil { sws_freeContext(scaler) }
        scaler = nil
        if nv12Scaler != nil { sws_freeContext(nv12Scaler) }
        nv12Scaler = nil
        if frame != nil { av_frame_free(&frame) }
        if packet != nil { av_packet_free(&packet) }
        if codec != nil { avcodec_free_context(&codec) }
        if format != nil { avformat_close_input(&format) }
    }

    /// Decodes the next frame: nil at the end of the stream. Throws `.stalled`/`.stopped` when the interrupt fires,
    /// `.read` when the container or connection breaks, `.decode` after too many consecutive corrupt packets and
    /// `.truncated` at the end of a file that holds fewer frames than its container declares.
    public func next() throws(VideoError) -> DecodedFrame? {
        guard let format, let codec, let frame, let packet else { return nil }
        if ended { return nil }
        while true {
            let received = avcodec_receive_frame(codec, frame)
            if received == 0 {
                consecutiveErrors = 0
                defer { decodedCount += 1 }
                let pts = frame.pointee.best_effort_timestamp
                return DecodedFrame(
                    width: Int(frame.pointee.width), height: Int(frame.pointee.height),
                    pts: pts == VideoDecoder.noPTS ? nil : Double(pts - (startTime ?? 0)) * timeBase,
                    index: decodedCount, isKeyFrame: frame.pointee.key_frame != 0)
            }
            if received == FFmpeg.eof {
                ended = true
                // An edit list may hide a frame or two of an intact mp4; more missing means the data ran out.
                if let declared = info.frameCount, decodedCount + max(2, declared / 100) < declared,
                    info.container.hasPrefix("mov")
                {
                    throw VideoError(
                        .truncated, source: source,
                        message:
                            "truncated or damaged: decoded \(decodedCount) of the \(declared) frames the container declares"
                    )
                }
                return nil
            }
            if received != FFmpeg.eagain {
                try noteDecodeError(received, "avcodec_receive_frame")
                continue
            }
            if draining {
                // EAGAIN while draining cannot happen; treat as the end.
                ended = true
                return nil
            }
            let read = av_read_frame(format, packet)
            if read == FFmpeg.eof {
                draining = true
                _ = avcodec_send_packet(codec, nil)
                continue
            }
            if read < 0 {
                throw VideoDecoder.failure(.read, source, "cannot read", "av_read_frame", read, interrupt)
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != FFmpeg.eagain { try noteDecodeError(sent, "avcodec_send_packet") }
        }
    }

    private func noteDecodeError(_ code: Int32, _ call: String) throws(VideoError) {
        decodeErrors += 1
        consecutiveErrors += 1
        lastDecodeError = VideoError.text(call, code)
        if consecutiveErrors > maxConsecutiveErrors {
            throw VideoError(
                .decode, source: source,
                message: "cannot decode: \(consecutiveErrors) corrupt packets in a row (\(lastDecodeError ?? ""))",
                averror: code)
        }
    }

    /// Converts the frame `next()` returned into packed BGR at `base`, rows `rowBytes` apart (at least
    /// `width * 3`; the buffer holds `height` rows).
    public func convert(into base: UnsafeMutableRawPointer, rowBytes: Int) throws(VideoError) {
        guard let frame else { return }
        // Bicubic, as OpenCV's VideoCapture converts (Ultralytics' loop decodes with it).
        let status = lk_scale_to_bgr(
            &scaler, frame, base.assumingMemoryBound(to: UInt8.self), Int32(rowBytes), SWS_BICUBIC)
        if status < 0 {
            throw VideoError(
                .decode, source: source, message: VideoError.text("cannot convert the frame (sws_scale", status) + ")",
                averror: status)
        }
    }

    /// Writes the frame `next()` returned as NV12 at `base`: `height` rows of Y then `(height + 1) / 2` rows of
    /// interleaved U V, `pitch` bytes apart (at least the width rounded up to even). The decoder's own YUV 4:2:0 is
    /// copied as it is (no colour conversion on the CPU: the GPU letterbox converts, OpenCV's NV12 formula), at half
    /// the bytes of BGR.
    public func convertNV12(into base: UnsafeMutableRawPointer, pitch: Int) throws(VideoError) {
        guard let frame else { return }
        let status = lk_copy_to_nv12(&nv12Scaler, frame, base.assumingMemoryBound(to: UInt8.self), Int32(pitch))
        if status < 0 {
            throw VideoError(
                .decode, source: source,
                message: VideoError.text("cannot convert the frame to NV12 (sws_scale", status) + ")",
                averror: status)
        }
    }

    /// Seeks back to the first frame (looping a file).
    public func rewind() throws(VideoError) {
        guard let format, let codec else { return }
        let status = av_seek_frame(format, streamIndex, startTime ?? 0, AVSEEK_FLAG_BACKWARD)
        guard status >= 0 else {
            throw VideoDecoder.failure(.read, source, "cannot seek to the start", "av_seek_frame", status, interrupt)
        }
        avcodec_flush_buffers(codec)
        draining = false
        ended = false
    }

    static func failure(
        _ code: VideoError.Code, _ source: String, _ what: String, _ call: String, _ status: Int32,
        _ interrupt: VideoInterrupt?
    ) -> VideoError {
        switch interrupt?.fired {
        case 1: return VideoError(.stopped, source: source, message: "\(what): stopped", averror: status)
        case 2: return VideoError(.stalled, source: source, message: "\(what): timed out (no data)", averror: status)
        default:
            return VideoError(
                code, source: source, message: "\(what) (\(VideoError.text(call, status)))", averror: status)
        }
    }
}

/// AVERROR_DECODER_NOT_FOUND (FFERRTAG(0xF8,'D','E','C')), which Swift does not import.
let averrorDecoderNotFound: Int32 = -Int32(bitPattern: 0xF8 | (0x44 << 8) | (0x45 << 16) | (0x43 << 24))
