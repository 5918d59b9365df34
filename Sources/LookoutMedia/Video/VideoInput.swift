import CLookoutFFmpeg

/// A file or URL opened with libavformat and its best video stream found: the opening `VideoDecoder` and
/// `VideoPacketReader` share (the options, the interrupt callback, the open timeout, FFmpeg's own words in errors).
struct VideoInput {
    /// The caller's from here on, to close with `avformat_close_input`.
    var format: UnsafeMutablePointer<AVFormatContext>
    var streamIndex: Int32
    var stream: UnsafeMutablePointer<AVStream>
    /// The decoder `av_find_best_stream` chose, when one was required.
    var decoder: UnsafePointer<AVCodec>?
    /// Seconds per tick of the stream's time stamps.
    var timeBase: Double
    /// The stream's first time stamp, when the container gives one.
    var startTime: Int64?

    static let noPTS = Int64(bitPattern: 0x8000_0000_0000_0000)

    /// Opens `url` and finds its best video stream. `requireDecoder`: only a stream this FFmpeg build decodes (a
    /// reader of packets for a hardware decoder takes any). `purpose` starts the message when there is no such
    /// stream, e.g. "cannot decode".
    static func open(
        url: String, options: VideoInputOptions, interrupt: VideoInterrupt, requireDecoder: Bool, purpose: String
    ) throws(VideoError) -> VideoInput {
        _ = FFmpeg.quietLogs
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
        var complete = false
        defer {
            if !complete {
                optional = format
                avformat_close_input(&optional)
            }
        }
        status = avformat_find_stream_info(format, nil)
        guard status >= 0 else {
            throw VideoDecoder.failure(
                .open, url, "cannot read stream information", "avformat_find_stream_info", status, interrupt)
        }
        var decoder: UnsafePointer<AVCodec>? = nil
        let index: Int32
        if requireDecoder {
            index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        } else {
            index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        }
        guard index >= 0, !requireDecoder || decoder != nil else {
            let why =
                index == averrorDecoderNotFound
                ? "its video codec has no decoder in this FFmpeg build" : "it has no video stream"
            throw VideoError(.noVideo, source: url, message: "\(purpose): \(why)", averror: index)
        }
        guard let stream = format.pointee.streams[Int(index)] else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }
        let tb = stream.pointee.time_base
        complete = true
        return VideoInput(
            format: format, streamIndex: index, stream: stream, decoder: decoder,
            timeBase: tb.den != 0 ? Double(tb.num) / Double(tb.den) : 0,
            startTime: stream.pointee.start_time != noPTS ? stream.pointee.start_time : nil)
    }

    /// What the stream is, with `codec` as its name.
    func info(codec: String) -> VideoStreamInfo {
        func rate(_ r: AVRational) -> Double? { r.num > 0 && r.den > 0 ? Double(r.num) / Double(r.den) : nil }
        let parameters = stream.pointee.codecpar.pointee
        let duration: Double? =
            stream.pointee.duration > 0
            ? Double(stream.pointee.duration) * timeBase
            : (format.pointee.duration > 0 ? Double(format.pointee.duration) / Double(AV_TIME_BASE) : nil)
        return VideoStreamInfo(
            width: Int(parameters.width), height: Int(parameters.height),
            frameRate: rate(stream.pointee.avg_frame_rate) ?? rate(stream.pointee.r_frame_rate),
            frameCount: stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil, duration: duration,
            codec: codec, container: String(cString: format.pointee.iformat.pointee.name))
    }
}

/// AVERROR_DECODER_NOT_FOUND (FFERRTAG(0xF8,'D','E','C')), which Swift does not import.
let averrorDecoderNotFound: Int32 = -Int32(bitPattern: 0xF8 | (0x44 << 8) | (0x45 << 16) | (0x43 << 24))
