import CLookoutFFmpeg

/// Demuxes the best video stream of a file or URL into compressed packets for a hardware decoder (NVDEC's
/// `cuvidParseVideoData` takes H.264 and HEVC as Annex-B byte streams: start codes, parameter sets in-band).
///
/// What each codec's packets get:
/// - H.264: `h264_mp4toannexb`. Length-prefixed NAL units (mp4, mkv) become start-code-prefixed ones and the SPS/PPS
///   of the container's `avcC` go in front of each IDR picture that lacks them; a stream already in Annex-B
///   (MPEG-TS, RTSP, a raw .h264) passes through unchanged, as the filter itself checks (see `extradata`).
/// - HEVC: `hevc_mp4toannexb`, the same with the VPS/SPS/PPS of `hvcC` in front of IRAP pictures.
/// - AV1, VP9, VP8, MPEG-4 and the rest: no filter, the packets as read (VP9 superframes whole: FFmpeg's cuvid
///   decoder hands them to `cuvidParseVideoData` unsplit too). MPEG-4 Part 2's VOL header lives in `extradata`.
///
/// A local MP4/MOV file's H.264 or HEVC track is read without FFmpeg past the first packet (`MP4SampleReader`: one
/// `pread` per sample into a buffer allocated once, the filter's rules applied by `AnnexBConverter`), so that reading
/// allocates nothing per packet; the packets are the same bytes and time stamps as FFmpeg's
/// (`VideoInputOptions.readsMP4SamplesDirectly`).
///
/// Not thread-safe except through its `interrupt`, which any thread may trigger.
///
/// ```swift
/// let reader = try VideoPacketReader(url: "cam1.mp4")
/// while let packet = try reader.next() {
///     packet.withUnsafeBytes { bytes in /* cuvidParseVideoData(parser, …bytes…) */ }
/// }
/// ```
public final class VideoPacketReader {
    public let source: String
    /// What the stream is (`codec` is FFmpeg's codec name, e.g. "h264", "hevc", "av1").
    public let info: VideoStreamInfo
    /// Codec, sample format and coded size, for choosing a decoder (set while opening, from the first packet).
    public private(set) var parameters: VideoCodecParameters
    public let interrupt: VideoInterrupt
    /// The bitstream filter packets go through: "h264_mp4toannexb", "hevc_mp4toannexb", or nil (as read).
    public let bitstreamFilter: String?
    /// The codec's configuration as the filter gives it out (FFmpeg's `extradata`), empty when none. H.264 and HEVC:
    /// the parameter sets in Annex-B (SPS/PPS, VPS/SPS/PPS), which the filter also puts in front of IDR pictures that
    /// lack them, except in streams already in Annex-B, which it passes through untouched: where such a stream keeps
    /// its parameter sets out-of-band (RTSP's `sprop-parameter-sets`), hand these bytes to the parser before the first
    /// packet. Other codecs: the container's record as it is (`av1C`, an MPEG-4 VOL header).
    public let extradata: [UInt8]
    /// Seconds per tick of `VideoPacket.timestamp`, as a fraction.
    public let timeBase: (numerator: Int, denominator: Int)

    /// Bumped whenever the packet a `VideoPacket` lends is released.
    private(set) var generation: UInt64 = 0
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var filter: UnsafeMutablePointer<AVBSFContext>?
    private var input: UnsafeMutablePointer<AVPacket>?
    private var output: UnsafeMutablePointer<AVPacket>?
    private let streamIndex: Int32
    private let startTime: Int64?
    private let seconds: Double
    /// Reads a local MP4's samples itself from the second packet on (nil: FFmpeg reads every packet).
    private var direct: MP4SampleReader?
    /// The packet `next()` hands out, in `output` or in `direct`'s buffer.
    private var current: (base: UnsafeRawPointer?, count: Int, timestamp: Int64?, isKeyFrame: Bool) = (
        nil, 0, nil, false
    )
    /// `current` holds the first packet, read while opening, not yet handed out.
    private var pending = false
    private var draining = false
    private var ended = false

    /// Opens `url` (a path, or any URL FFmpeg reads: rtsp://, http://, udp://, …) as `VideoDecoder` does, and its
    /// best video stream, whether or not this FFmpeg build could decode it; reads the first packet.
    public init(
        url: String, options: VideoInputOptions = VideoInputOptions(), interrupt: VideoInterrupt = VideoInterrupt()
    ) throws(VideoError) {
        let opened = try VideoInput.open(
            url: url, options: options, interrupt: interrupt, requireDecoder: false,
            purpose: "cannot read video packets")
        var format: UnsafeMutablePointer<AVFormatContext>? = opened.format
        var filter: UnsafeMutablePointer<AVBSFContext>?
        var input = av_packet_alloc()
        var output = av_packet_alloc()
        var complete = false
        defer {
            if !complete {
                av_packet_free(&input)
                av_packet_free(&output)
                av_bsf_free(&filter)
                avformat_close_input(&format)
            }
        }
        let parameters = opened.stream.pointee.codecpar!
        let codecID = parameters.pointee.codec_id
        let filterName: String? =
            switch codecID {
            case AV_CODEC_ID_H264: "h264_mp4toannexb"
            case AV_CODEC_ID_HEVC: "hevc_mp4toannexb"
            default: nil
            }
        var status: Int32
        if let filterName {
            guard let found = av_bsf_get_by_name(filterName) else {
                throw VideoError(
                    .open, source: url,
                    message: "cannot read video packets: this FFmpeg build lacks the bitstream filter \(filterName)")
            }
            status = av_bsf_alloc(found, &filter)
        } else {
            status = av_bsf_get_null_filter(&filter)
        }
        guard status >= 0, let filter, input != nil, output != nil else {
            throw VideoError(.open, source: url, message: "cannot open (out of memory)")
        }
        status = avcodec_parameters_copy(filter.pointee.par_in, parameters)
        if status >= 0 {
            filter.pointee.time_base_in = opened.stream.pointee.time_base
            status = av_bsf_init(filter)
        }
        guard status >= 0 else {
            throw VideoDecoder.failure(
                .open, url, "cannot set up the bitstream filter \(filterName ?? "null")", "av_bsf_init", status, nil)
        }
        let tb = filter.pointee.time_base_out

        self.source = url
        self.interrupt = interrupt
        self.info = opened.info(codec: String(cString: avcodec_get_name(codecID)))
        self.bitstreamFilter = filterName
        let configuration = filter.pointee.par_out.pointee
        self.extradata =
            configuration.extradata.map {
                Array(UnsafeBufferPointer(start: $0, count: Int(configuration.extradata_size)))
            } ?? []
        self.timeBase = (Int(tb.num), Int(tb.den))
        self.seconds = tb.den != 0 ? Double(tb.num) / Double(tb.den) : 0
        self.startTime = opened.startTime
        self.streamIndex = opened.streamIndex
        self.format = format
        self.filter = filter
        self.input = input
        self.output = output
        // Placeholder until the first packet is parsed (all stored properties must be set before `advance`).
        self.parameters = VideoCodecParameters(
            codec: VideoCodec(codecID), pixelFormat: -1, codedWidth: 0, codedHeight: 0)
        complete = true
        // The first packet may still be on its way (a live stream): it gets the open timeout too.
        interrupt.setDeadline(secondsFromNow: options.openTimeout)
        defer { interrupt.setDeadline(secondsFromNow: nil) }
        pending = try advance()
        self.parameters = VideoPacketReader.parameters(
            codecID, parameters.pointee, first: pending ? output : nil)
        if options.readsMP4SamplesDirectly, pending, let output, let format = self.format,
            let codec: AnnexBConverter.Codec =
                codecID == AV_CODEC_ID_H264 ? .h264 : codecID == AV_CODEC_ID_HEVC ? .hevc : nil
        {
            direct = MP4SampleReader(
                path: url, format: format, stream: opened.stream, codec: codec, filteredParameterSets: extradata,
                first: output)
            // FFmpeg's demuxer is not read again: its context, index and buffers (and its file descriptor) go. The
            // first packet, still pending in `output`, holds its own reference to its bytes.
            if direct != nil { avformat_close_input(&self.format) }
        }
    }

    /// Whether the packets after the first come from the reader's own MP4 reads (else from FFmpeg's demuxer).
    public var readsSamplesDirectly: Bool { direct != nil }

    /// The container's pixel format (set when `avformat_find_stream_info` could decode a frame), else the parser's
    /// over the first packet; the parser's coded size, else the container's.
    private static func parameters(
        _ id: AVCodecID, _ container: AVCodecParameters, first: UnsafeMutablePointer<AVPacket>?
    )
        -> VideoCodecParameters
    {
        var width: Int32 = 0
        var height: Int32 = 0
        var parsed: Int32 = -1
        if let first, let data = first.pointee.data {
            _ = lk_parse_coded_format(id, data, first.pointee.size, &width, &height, &parsed)
        }
        return VideoCodecParameters(
            codec: VideoCodec(id), pixelFormat: container.format >= 0 ? container.format : parsed,
            codedWidth: Int(width > 0 ? width : container.width),
            codedHeight: Int(height > 0 ? height : container.height))
    }

    deinit {
        av_packet_free(&input)
        av_packet_free(&output)
        av_bsf_free(&filter)
        if format != nil { avformat_close_input(&format) }
    }

    /// The next packet of the video stream, filtered; nil at the end of the stream. Throws `.read` (with FFmpeg's
    /// text) when the container, the connection or the filter fails (after a filter error the next call goes on
    /// with the following packet), `.stalled`/`.stopped` when the interrupt fires.
    public func next() throws(VideoError) -> VideoPacket? {
        if pending {
            pending = false
        } else if try !advance() {
            return nil
        }
        return VideoPacket(
            reader: self, generation: generation, base: current.base, count: current.count,
            pts: current.timestamp.map { Double($0 - (startTime ?? 0)) * seconds }, timestamp: current.timestamp,
            isKeyFrame: current.isKeyFrame)
    }

    /// Puts the next filtered packet of the stream into `output`; false at the end.
    private func advance() throws(VideoError) -> Bool {
        guard let output else { return false }
        av_packet_unref(output)
        generation &+= 1
        current = (nil, 0, nil, false)
        if let direct {
            if interrupt.isStopped { throw VideoError(.stopped, source: source, message: "cannot read: stopped") }
            guard try direct.read(source: source, filter: bitstreamFilter ?? "null") else { return false }
            current = (direct.bytes.baseAddress, direct.bytes.count, direct.timestamp, direct.isKeyFrame)
            return true
        }
        guard let format, let filter, let input else { return false }
        while !ended {
            let received = av_bsf_receive_packet(filter, output)
            if received == 0 {
                let packet = output.pointee
                current = (
                    packet.data.map { UnsafeRawPointer($0) }, Int(packet.size),
                    packet.pts != VideoInput.noPTS ? packet.pts : nil, packet.flags & AV_PKT_FLAG_KEY != 0
                )
                return true
            }
            if received == FFmpeg.eof || (received == FFmpeg.eagain && draining) {
                ended = true
                break
            }
            if received != FFmpeg.eagain {
                throw VideoDecoder.failure(
                    .read, source, "cannot filter a packet (\(bitstreamFilter ?? "null"))", "av_bsf_receive_packet",
                    received, nil)
            }
            let read = av_read_frame(format, input)
            if read == FFmpeg.eof {
                draining = true
                _ = av_bsf_send_packet(filter, nil)
                continue
            }
            if read < 0 {
                throw VideoDecoder.failure(.read, source, "cannot read", "av_read_frame", read, interrupt)
            }
            guard input.pointee.stream_index == streamIndex else {
                av_packet_unref(input)
                continue
            }
            // On success the filter takes the packet's reference (no copy) and leaves `input` blank.
            let sent = av_bsf_send_packet(filter, input)
            if sent < 0 {
                av_packet_unref(input)
                throw VideoDecoder.failure(
                    .read, source, "cannot filter a packet (\(bitstreamFilter ?? "null"))", "av_bsf_send_packet",
                    sent, nil)
            }
        }
        return false
    }

    /// Seeks back to the start of the stream and resets the filter (looping a file): the packets come again, the
    /// first with its parameter sets.
    public func rewind() throws(VideoError) {
        guard let output else { return }
        av_packet_unref(output)
        generation &+= 1
        pending = false
        if let direct {
            direct.rewind()
            return
        }
        guard let format, let filter else { return }
        let status = av_seek_frame(format, streamIndex, startTime ?? 0, AVSEEK_FLAG_BACKWARD)
        guard status >= 0 else {
            throw VideoDecoder.failure(.read, source, "cannot seek to the start", "av_seek_frame", status, interrupt)
        }
        av_bsf_flush(filter)
        draining = false
        ended = false
    }

    /// Seconds from the stream's start for a `VideoPacket.timestamp` (as a decoded picture carries it back).
    public func seconds(fromTimestamp timestamp: Int64) -> Double {
        Double(timestamp - (startTime ?? 0)) * seconds
    }
}
