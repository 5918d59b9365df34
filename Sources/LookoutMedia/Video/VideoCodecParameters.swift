import CLookoutFFmpeg

/// The compression of a video stream, as a hardware decoder chooses by it (NVDEC's `cudaVideoCodec`).
public enum VideoCodec: Sendable, Hashable, CustomStringConvertible {
    case h264
    case hevc
    case av1
    case vp9
    case vp8
    case mpeg4
    /// Any other codec, by FFmpeg's name for it (e.g. "mpeg2video", "mjpeg").
    case other(String)

    init(_ id: AVCodecID) {
        switch id {
        case AV_CODEC_ID_H264: self = .h264
        case AV_CODEC_ID_HEVC: self = .hevc
        case AV_CODEC_ID_AV1: self = .av1
        case AV_CODEC_ID_VP9: self = .vp9
        case AV_CODEC_ID_VP8: self = .vp8
        case AV_CODEC_ID_MPEG4: self = .mpeg4
        default: self = .other(String(cString: avcodec_get_name(id)))
        }
    }

    /// FFmpeg's name: "h264", "hevc", "av1", "vp9", "vp8", "mpeg4", or the other codec's.
    public var description: String {
        switch self {
        case .h264: "h264"
        case .hevc: "hevc"
        case .av1: "av1"
        case .vp9: "vp9"
        case .vp8: "vp8"
        case .mpeg4: "mpeg4"
        case .other(let name): name
        }
    }
}

/// How the chroma planes are sampled against luma.
public enum ChromaSubsampling: String, Sendable, Hashable, CaseIterable {
    /// Half width, half height (nearly every camera and file).
    case yuv420 = "4:2:0"
    /// Half width, full height.
    case yuv422 = "4:2:2"
    /// Full resolution (or RGB-coded).
    case yuv444 = "4:4:4"
    /// Luma only.
    case monochrome = "4:0:0"
}

/// What a hardware decoder needs to know to take a stream, before it sees a packet: the codec, the sample format
/// and the coded size.
public struct VideoCodecParameters: Sendable, Equatable {
    public var codec: VideoCodec
    /// Bits per luma sample (8, 10, 12); nil when FFmpeg could not tell (no decoder nor parser for the codec in this
    /// build).
    public var bitDepth: Int?
    /// nil when FFmpeg could not tell.
    public var chroma: ChromaSubsampling?
    /// FFmpeg's name of the decoded pixel format, e.g. "yuv420p", "yuv420p10le"; nil when unknown.
    public var pixelFormat: String?
    /// The size the bitstream codes, before the cropping that gives `VideoStreamInfo.width`/`height`: whole
    /// macroblocks for H.264 (1088 rows for 1080p), whole coding blocks for HEVC, as the codec's parser reads them
    /// from the first packet. For codecs this FFmpeg build has no parser for, the container's size.
    public var codedWidth: Int
    public var codedHeight: Int

    public init(
        codec: VideoCodec, bitDepth: Int?, chroma: ChromaSubsampling?, pixelFormat: String?, codedWidth: Int,
        codedHeight: Int
    ) {
        self.codec = codec
        self.bitDepth = bitDepth
        self.chroma = chroma
        self.pixelFormat = pixelFormat
        self.codedWidth = codedWidth
        self.codedHeight = codedHeight
    }

    /// From FFmpeg's pixel format (-1 = unknown): bit depth and chroma from its descriptor.
    init(codec: VideoCodec, pixelFormat format: Int32, codedWidth: Int, codedHeight: Int) {
        var depth: Int?
        var chroma: ChromaSubsampling?
        var name: String?
        if format >= 0, let descriptor = av_pix_fmt_desc_get(AVPixelFormat(format)) {
            let d = descriptor.pointee
            name = String(cString: d.name)
            depth = Int(d.comp.0.depth)
            if d.nb_components <= 2 && d.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 {
                chroma = .monochrome
            } else {
                switch (d.log2_chroma_w, d.log2_chroma_h) {
                case (1, 1): chroma = .yuv420
                case (1, 0): chroma = .yuv422
                case (0, 0): chroma = .yuv444
                default: chroma = nil
                }
            }
        }
        self.init(
            codec: codec, bitDepth: depth, chroma: chroma, pixelFormat: name, codedWidth: codedWidth,
            codedHeight: codedHeight)
    }
}
