import CLookoutFFmpeg

/// Writes BGR frames into a video file (mp4, or what the extension names) with the best H.264 encoder this FFmpeg
/// has (libx264 in Debian's build), else MPEG-4 part 2, which every FFmpeg build has. Time stamps are the frames'
/// own, in milliseconds, so a live stream with drops keeps its timing.
public final class VideoEncoder {
    public let path: String
    public let width: Int
    public let height: Int
    /// The encoder used, e.g. "libx264" or "mpeg4".
    public private(set) var encoderName = ""

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var lastPTS: Int64 = -1
    /// Milliseconds per frame at the nominal rate: the duration of packets the encoder leaves without one (the mp4
    /// edit list would otherwise hide the last frame).
    private var frameMilliseconds: Int64 = 33
    private var finished = false

    /// Encoders tried in order.
    public static let preferredEncoders = ["libx264", "mpeg4"]

    public init(path: String, width: Int, height: Int, frameRate: Double = 30) throws(VideoError) {
        _ = FFmpeg.quietLogs
        self.path = path
        self.width = width
        self.height = height
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        var status = avformat_alloc_output_context2(&context, nil, nil, path)
        guard status >= 0, let context else {
            throw VideoDecoder.failure(.write, path, "cannot create", "avformat_alloc_output_context2", status, nil)
        }
        format = context
        var chosen: (UnsafePointer<AVCodec>, String)? = nil
        for name in VideoEncoder.preferredEncoders {
            if let encoder = avcodec_find_encoder_by_name(name) {
                chosen = (encoder, name)
                break
            }
        }
        do throws(VideoError) {
            guard let (encoder, name) = chosen else {
                throw VideoError(
                    .write, source: path, message: "cannot encode: this FFmpeg has neither libx264 nor mpeg4")
            }
            encoderName = name
            guard let stream = avformat_new_stream(context, nil), let codecContext = avcodec_alloc_context3(encoder)
            else {
                throw VideoError(.write, source: path, message: "cannot create (out of memory)")
            }
            self.stream = stream
            self.codec = codecContext
            codecContext.pointee.width = Int32(width)
            codecContext.pointee.height = Int32(height)
            codecContext.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            codecContext.pointee.time_base = AVRational(num: 1, den: 1000)
            let fps = frameRate > 0 && frameRate.isFinite ? frameRate : 30
            frameMilliseconds = max(1, Int64((1000 / fps).rounded()))
            codecContext.pointee.framerate = AVRational(num: Int32((fps * 1000).rounded()), den: 1000)
            codecContext.pointee.gop_size = Int32(max(1, fps.rounded()))
            codecContext.pointee.max_b_frames = 0
            if context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
                codecContext.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
            }
            var options: OpaquePointer? = nil
            defer { av_dict_free(&options) }
            if name == "libx264" {
                av_dict_set(&options, "preset", "veryfast", 0)
                av_dict_set(&options, "crf", "23", 0)
            } else {
                // MPEG-4 part 2 has no CRF; a fixed quantiser keeps quality independent of the bit rate.
                codecContext.pointee.flags |= AV_CODEC_FLAG_QSCALE
                codecContext.pointee.global_quality = 4 * FF_QP2LAMBDA
            }
            status = avcodec_open2(codecContext, encoder, &options)
            guard status >= 0 else {
                throw VideoDecoder.failure(
                    .write, path, "cannot open the \(name) encoder", "avcodec_open2", status, nil)
            }
            status = avcodec_parameters_from_context(stream.pointee.codecpar, codecContext)
            guard status >= 0 else {
                throw VideoDecoder.failure(
                    .write, path, "cannot configure the stream", "avcodec_parameters_from_context", status, nil)
            }
            stream.pointee.time_base = codecContext.pointee.time_base
            if context.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
                status = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
                guard status >= 0 else {
                    throw VideoDecoder.failure(.write, path, "cannot create", "avio_open", status, nil)
                }
            }
            status = avformat_write_header(context, nil)
            guard status >= 0 else {
                throw VideoDecoder.failure(
                    .write, path, "cannot write the header", "avformat_write_header", status, nil)
            }
            guard let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
                throw VideoError(.write, source: path, message: "cannot create (out of memory)")
            }
            self.frame = frame
            self.packet = packet
            frame.pointee.width = Int32(width)
            frame.pointee.height = Int32(height)
            frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            status = av_frame_get_buffer(frame, 0)
            guard status >= 0 else {
                throw VideoDecoder.failure(.write, path, "cannot allocate a frame", "av_frame_get_buffer", status, nil)
            }
        } catch {
            release()
            throw error
        }
    }

    deinit {
        if !finished { try? finish() }
        release()
    }

    private func release() {
        if scaler != nil { sws_freeContext(scaler) }
        scaler = nil
        if frame != nil { av_frame_free(&frame) }
        if packet != nil { av_packet_free(&packet) }
        if codec != nil { avcodec_free_context(&codec) }
        if let format {
            if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0, format.pointee.pb != nil {
                avio_closep(&format.pointee.pb)
            }
            avformat_free_context(format)
        }
        format = nil
    }

    /// Appends one frame of packed BGR rows `rowBytes` apart, shown at `seconds` (kept strictly increasing).
    public func append(bgr base: UnsafeRawPointer, rowBytes: Int, seconds: Double) throws(VideoError) {
        guard let frame, let codec, !finished else { return }
        var status = av_frame_make_writable(frame)
        guard status >= 0 else {
            throw VideoDecoder.failure(.write, path, "cannot encode", "av_frame_make_writable", status, nil)
        }
        status = lk_scale_from_bgr(
            &scaler, base.assumingMemoryBound(to: UInt8.self), Int32(rowBytes), Int32(width), Int32(height), frame)
        guard status >= 0 else { throw VideoDecoder.failure(.write, path, "cannot convert", "sws_scale", status, nil) }
        let pts = max(Int64((seconds * 1000).rounded()), lastPTS + 1)
        lastPTS = pts
        frame.pointee.pts = pts
        status = avcodec_send_frame(codec, frame)
        guard status >= 0 else {
            throw VideoDecoder.failure(.write, path, "cannot encode", "avcodec_send_frame", status, nil)
        }
        try drainPackets()
    }

    /// Flushes the encoder and writes the trailer; the file is complete afterwards.
    public func finish() throws(VideoError) {
        guard !finished, let codec, let format else { return }
        finished = true
        _ = avcodec_send_frame(codec, nil)
        try drainPackets()
        let status = av_write_trailer(format)
        guard status >= 0 else {
            throw VideoDecoder.failure(.write, path, "cannot finish", "av_write_trailer", status, nil)
        }
    }

    private func drainPackets() throws(VideoError) {
        guard let codec, let packet, let format, let stream else { return }
        while true {
            let status = avcodec_receive_packet(codec, packet)
            if status == FFmpeg.eagain || status == FFmpeg.eof { return }
            guard status >= 0 else {
                throw VideoDecoder.failure(.write, path, "cannot encode", "avcodec_receive_packet", status, nil)
            }
            if packet.pointee.duration <= 0 { packet.pointee.duration = frameMilliseconds }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            let written = av_interleaved_write_frame(format, packet)
            guard written >= 0 else {
                throw VideoDecoder.failure(.write, path, "cannot write", "av_interleaved_write_frame", written, nil)
            }
        }
    }
}
