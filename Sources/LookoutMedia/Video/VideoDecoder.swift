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

    static let noPTS = VideoInput.noPTS

    /// Opens `url` (a path, or any URL FFmpeg reads: rtsp://, http://, udp://, …) and its best video stream.
    public init(
        url: String, options: VideoInputOptions = VideoInputOptions(), interrupt: VideoInterrupt = VideoInterrupt()
    )
        throws(VideoError)
    {
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
        let input = try VideoInput.open(
            url: url, options: options, interrupt: interrupt, requireDecoder: true, purpose: "cannot decode")
        var opened = Opened()
        opened.format = input.format
        var complete = false
        defer {
            if !complete {
                if opened.frame != nil { av_frame_free(&opened.frame) }
                if opened.packet != nil { av_packet_free(&opened.packet) }
                if opened.codec != nil { avcodec_free_context(&opened.codec) }
                if opened.format != nil { avformat_close_input(&opened.format) }
            }
        }
        opened.streamIndex = input.streamIndex
        guard let decoder = input.decoder, let codec = avcodec_alloc_context3(decoder) else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }
        opened.codec = codec
        var status = avcodec_parameters_to_context(codec, input.stream.pointee.codecpar)
        guard status >= 0 else {
            throw VideoDecoder.failure(
                .open, url, "cannot configure the decoder", "avcodec_parameters_to_context", status, nil)
        }
        codec.pointee.thread_count = Int32(max(0, options.decoderThreads))
        codec.pointee.pkt_timebase = input.stream.pointee.time_base
        status = avcodec_open2(codec, decoder, nil)
        guard status >= 0 else {
            throw VideoDecoder.failure(.open, url, "cannot open the decoder", "avcodec_open2", status, nil)
        }
        opened.frame = av_frame_alloc()
        opened.packet = av_packet_alloc()
        guard opened.frame != nil, opened.packet != nil else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }
        opened.timeBase = input.timeBase
        opened.startTime = input.startTime
        opened.info = input.info(codec: String(cString: decoder.pointee.name))
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
