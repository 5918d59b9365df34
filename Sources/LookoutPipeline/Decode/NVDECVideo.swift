import LookoutCUDA
import LookoutCore
import LookoutMedia

/// A video decoded on NVDEC: libavformat demuxes it (files and live URLs as for the CPU decoder, through the same
/// interrupt), the packets go through the Annex-B bitstream filter to NVIDIA's parser, and each picture due for
/// display is mapped into an NV12 device surface, which is the frame: its slot of the stream's surface pool goes
/// through the batcher to the GPU letterbox, and back to NVDEC behind the letterbox's fence. Only the compressed
/// packets are in host memory.
final class NVDECVideo: OpenVideo {
    let reader: VideoPacketReader
    let decoder: NVDECDecoder
    /// As many surfaces as the stream may have mapped at once: its frames in flight.
    let pool: FramePool
    private var displayed: [NVDECDecoder.Picture] = []
    private var nextDisplayed = 0
    private var current: NVDECDecoder.Picture?
    private var flushed = false
    private var produced = 0

    /// Time stamps go to the parser as microseconds; this one says "none".
    static let noTimestamp = Int64.min

    /// Why NVDEC cannot decode `reader`'s stream here (one line), or nil when it can.
    static func refusal(reader: VideoPacketReader, hardware: HardwareDecoding) -> String? {
        let parameters = reader.parameters
        guard let codec = NVDECCodec(parameters.codec) else { return "NVDEC does not decode \(parameters.codec)" }
        // Unknown to FFmpeg (no parser for the codec in this build): the sequence header tells NVDEC's parser.
        let bitDepth = parameters.bitDepth ?? 8
        let chroma: NVDECChroma
        switch parameters.chroma ?? .yuv420 {
        case .yuv420: chroma = .yuv420
        case .yuv422: chroma = .yuv422
        case .yuv444: chroma = .yuv444
        case .monochrome: chroma = .monochrome
        }
        do {
            let caps = try hardware.nvdec.capabilities(
                codec: codec, chroma: chroma, bitDepth: bitDepth, context: hardware.context)
            if let refusal = caps.refusal(width: parameters.codedWidth, height: parameters.codedHeight) {
                return refusal
            }
        } catch {
            return "cuvidGetDecoderCaps failed: \(error)"
        }
        if bitDepth != 8 || chroma != .yuv420 {
            return "\(codec) \(chroma) \(bitDepth)-bit: Lookout's GPU letterbox reads 8-bit NV12 only"
        }
        return nil
    }

    init(
        reader: VideoPacketReader, hardware: HardwareDecoding, surfaces: Int, lowLatency: Bool,
        policy: PoolExhaustionPolicy
    ) throws(VideoError) {
        self.reader = reader
        let source = reader.source
        guard let codec = NVDECCodec(reader.parameters.codec) else {
            throw VideoError(.noVideo, source: source, message: "NVDEC does not decode \(reader.parameters.codec)")
        }
        do {
            decoder = try NVDECDecoder(
                nvdec: hardware.nvdec, context: hardware.context, codec: codec, outputSurfaces: surfaces,
                lowLatency: lowLatency)
            pool = try FramePool(
                surfaces: SurfaceReturn(decoder: decoder), count: decoder.outputSurfaces, policy: policy,
                context: hardware.context)
        } catch let error as NVDECError {
            throw VideoError(.open, source: source, message: "cannot start NVDEC: \(error)")
        } catch {
            throw VideoError(.open, source: source, message: "cannot start NVDEC: \(error)")
        }
        displayed.reserveCapacity(32)
        // Parameter sets a stream carries only out of band (an RTSP session description, say) come first.
        try feedParameterSets()
    }

    private func feedParameterSets() throws(VideoError) {
        guard !reader.extradata.isEmpty else { return }
        do {
            try reader.extradata.withUnsafeBytes { bytes in
                try decoder.decode(bytes, timestamp: NVDECVideo.noTimestamp)
            }
        } catch {
            throw VideoError(.decode, source: reader.source, message: "NVDEC: \(error)")
        }
    }

    var info: VideoStreamInfo { reader.info }
    var decodeErrors: Int { decoder.decodeErrors }
    var lastDecodeError: String? { decoder.lastDecodeError }

    func next() throws(VideoError) -> DecodedFrame? {
        while nextDisplayed == displayed.count {
            displayed.removeAll(keepingCapacity: true)
            nextDisplayed = 0
            if flushed { return nil }
            do {
                flushed = try !decoder.decodeNextPacket(from: reader)
            } catch let error as NVDECError {
                throw VideoError(.decode, source: reader.source, message: "NVDEC: \(error)")
            } catch let error as VideoError {
                throw error
            } catch {
                throw VideoError(.decode, source: reader.source, message: "NVDEC: \(error)")
            }
            decoder.takeDisplayed { displayed.append($0) }
        }
        let picture = displayed[nextDisplayed]
        nextDisplayed += 1
        current = picture
        guard let format = decoder.format else { return nil }
        defer { produced += 1 }
        return DecodedFrame(
            width: format.width, height: format.height,
            pts: picture.timestamp == NVDECVideo.noTimestamp ? nil : Double(picture.timestamp) / 1e6,
            index: produced, isKeyFrame: false)
    }

    func rewind() throws(VideoError) {
        // The parser takes the file again after the end-of-stream packet, as a new sequence of the same format.
        try reader.rewind()
        flushed = false
        displayed.removeAll(keepingCapacity: true)
        nextDisplayed = 0
    }

    func publish(_ frame: DecodedFrame, pts: Double?, into feed: FrameSink, convertNanoseconds: inout UInt64) throws
        -> Bool
    {
        guard let picture = current else { return false }
        current = nil
        var spent: UInt64 = 0
        let kept = try feed.writeSurface(pool: pool, width: frame.width, height: frame.height, pts: pts) {
            let start = MonotonicClock.nanoseconds()
            defer { spent = MonotonicClock.nanoseconds() &- start }
            guard let surface = try decoder.map(picture) else { return nil }
            return (surface.pointer, surface.pitch)
        }
        convertNanoseconds &+= spent
        return kept
    }
}

/// Where a surface pool hands NVDEC's surfaces back. Holds the decoder (not the video), so that the pool outlives
/// the video that made it while its frames are in flight, and the decoder outlives its last mapped surface.
final class SurfaceReturn: DeviceSurfaces {
    let decoder: NVDECDecoder

    init(decoder: NVDECDecoder) { self.decoder = decoder }

    func unmap(_ surface: DevicePointer) {
        // A failure here leaves one surface mapped: NVDEC then refuses maps past `outputSurfaces`, which the stream
        // reports as an error.
        try? decoder.unmap(surface)
    }
}

extension NVDECCodec {
    /// NVDEC's codec for a stream's, if NVDEC has one.
    package init?(_ codec: VideoCodec) {
        switch codec {
        case .h264: self = .h264
        case .hevc: self = .hevc
        case .av1: self = .av1
        case .vp9: self = .vp9
        case .vp8: self = .vp8
        case .mpeg4: self = .mpeg4
        case .other("mpeg2video"): self = .mpeg2
        case .other("mpeg1video"): self = .mpeg1
        case .other: return nil
        }
    }
}

extension NVDECDecoder {
    /// Parses `reader`'s next packet, its presentation time in microseconds (`NVDECVideo.noTimestamp` when it has
    /// none) as its pictures' time stamp; at the end of the stream, the end-of-stream packet, which brings out the
    /// pictures the parser still holds for reordering. False once that has been sent.
    package func decodeNextPacket(from reader: VideoPacketReader) throws -> Bool {
        guard let packet = try reader.next() else {
            try decode(UnsafeRawBufferPointer(start: nil, count: 0), timestamp: 0, endOfStream: true)
            return false
        }
        let timestamp = packet.pts.map { Int64(($0 * 1e6).rounded()) } ?? NVDECVideo.noTimestamp
        try packet.withUnsafeBytes { bytes in try decode(bytes, timestamp: timestamp) }
        return true
    }
}
