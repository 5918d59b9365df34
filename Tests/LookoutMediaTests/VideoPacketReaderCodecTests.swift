import Foundation
import Testing

@testable import LookoutMedia

/// `VideoPacketReader` over clips the ffmpeg CLI encodes at test time (HEVC at three bit depths, H.264 4:2:2, VP9):
/// its packets are byte for byte what the CLI's own stream copy writes, and it tells the codec, depth and chroma.
@Suite(.serialized) struct VideoPacketReaderCodecTests {
    struct Clip: Sendable, CustomTestStringConvertible {
        var name: String
        /// Encoder arguments after `-i shapes-640x384.mp4`.
        var encode: [String]
        /// The reference: `-c:v copy` then these.
        var reference: [String]
        var codec: VideoCodec
        var filter: String?
        var bitDepth: Int
        var chroma: ChromaSubsampling
        var pixelFormat: String
        var testDescription: String { name }
    }

    static let hevcReference = ["-bsf:v", "hevc_mp4toannexb", "-f", "hevc"]
    static func x265(_ pixelFormat: String, _ parameters: String, frames: Int) -> [String] {
        [
            "-frames:v", "\(frames)", "-c:v", "libx265", "-pix_fmt", pixelFormat, "-x265-params",
            "\(parameters):log-level=error", "-tag:v", "hvc1",
        ]
    }

    static let clips: [Clip] = [
        Clip(
            name: "hevc-8bit.mp4", encode: x265("yuv420p", "bframes=0", frames: 30), reference: hevcReference,
            codec: .hevc, filter: "hevc_mp4toannexb", bitDepth: 8, chroma: .yuv420, pixelFormat: "yuv420p"),
        Clip(
            name: "hevc-8bit-bframes.mp4", encode: x265("yuv420p", "bframes=3", frames: 30), reference: hevcReference,
            codec: .hevc, filter: "hevc_mp4toannexb", bitDepth: 8, chroma: .yuv420, pixelFormat: "yuv420p"),
        Clip(
            name: "hevc-10bit.mp4", encode: x265("yuv420p10le", "bframes=0", frames: 10), reference: hevcReference,
            codec: .hevc, filter: "hevc_mp4toannexb", bitDepth: 10, chroma: .yuv420, pixelFormat: "yuv420p10le"),
        Clip(
            name: "hevc-12bit.mp4", encode: x265("yuv420p12le", "bframes=0", frames: 10), reference: hevcReference,
            codec: .hevc, filter: "hevc_mp4toannexb", bitDepth: 12, chroma: .yuv420, pixelFormat: "yuv420p12le"),
        Clip(
            name: "hevc-444.mp4", encode: x265("yuv444p", "bframes=0", frames: 10), reference: hevcReference,
            codec: .hevc, filter: "hevc_mp4toannexb", bitDepth: 8, chroma: .yuv444, pixelFormat: "yuv444p"),
        Clip(
            name: "h264-422.mp4", encode: ["-frames:v", "10", "-c:v", "libx264", "-pix_fmt", "yuv422p"],
            reference: ["-bsf:v", "h264_mp4toannexb", "-f", "h264"], codec: .h264, filter: "h264_mp4toannexb",
            bitDepth: 8, chroma: .yuv422, pixelFormat: "yuv422p"),
        // Passed through as read: the rawvideo muxer writes the copied packets back to back.
        Clip(
            name: "vp9.webm", encode: ["-frames:v", "10", "-c:v", "libvpx-vp9", "-deadline", "realtime"],
            reference: ["-f", "rawvideo"], codec: .vp9, filter: nil, bitDepth: 8, chroma: .yuv420,
            pixelFormat: "yuv420p"),
    ]

    @Test(arguments: clips)
    func packetsAreTheCLIsStreamCopyByteForByte(_ clip: Clip) throws {
        let folder = try Fixtures.temporaryDirectory("packets")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = folder + "/" + clip.name
        try FFmpegCLI.run(["-i", Fixtures.video("shapes-640x384.mp4")] + clip.encode + [video])
        try FFmpegCLI.run(["-i", video, "-c:v", "copy"] + clip.reference + [video + ".ref"])

        let reader = try VideoPacketReader(url: video)
        #expect(reader.bitstreamFilter == clip.filter)
        #expect(
            reader.parameters
                == VideoCodecParameters(
                    codec: clip.codec, bitDepth: clip.bitDepth, chroma: clip.chroma, pixelFormat: clip.pixelFormat,
                    codedWidth: 640, codedHeight: 384))
        let packets = try AnnexB.packets(reader)
        #expect(packets.first?.isKeyFrame == true)
        #expect(packets.flatMap(\.bytes) == (try Fixtures.bytes(video + ".ref")))
        if clip.filter != nil {
            #expect(packets.allSatisfy { AnnexB.startsWithStartCode($0.bytes) })
        }
    }

    @Test func theFirstHEVCPacketCarriesVPSSPSAndPPSBeforeItsIRAPPicture() throws {
        let folder = try Fixtures.temporaryDirectory("hevc")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = folder + "/hevc.mp4"
        try FFmpegCLI.run(
            ["-i", Fixtures.video("shapes-640x384.mp4")] + Self.x265("yuv420p", "bframes=0", frames: 30) + [video])
        let reader = try VideoPacketReader(url: video)
        #expect(reader.info.codec == "hevc")
        // x265's hvcC carries its prefix SEI (type 39) after the parameter sets.
        #expect(
            AnnexB.nalTypes(reader.extradata, hevc: true).prefix(3) == [32, 33, 34], "hvcC's parameter sets, in Annex-B"
        )
        let packets = try AnnexB.packets(reader)
        #expect(packets.count == 30)
        let types = AnnexB.nalTypes(try #require(packets.first).bytes, hevc: true)
        let vps = try #require(types.firstIndex(of: 32))
        let sps = try #require(types.firstIndex(of: 33))
        let pps = try #require(types.firstIndex(of: 34))
        // IRAP pictures are NAL types 16 to 23 (IDR_W_RADL 19, IDR_N_LP 20).
        let irap = try #require(types.firstIndex { (16...23).contains($0) })
        #expect(vps < sps && sps < pps && pps < irap)

        try reader.rewind()
        #expect(try AnnexB.packets(reader).map(\.bytes) == packets.map(\.bytes))
    }

    @Test func aFileWithoutVideoIsAOneLineErrorNamingIt() throws {
        let folder = try Fixtures.temporaryDirectory("audio")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let audio = folder + "/tone.wav"
        try FFmpegCLI.run(["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2", audio])
        let error = try #require(throws: VideoError.self) { try VideoPacketReader(url: audio) }
        #expect(error.code == .noVideo)
        #expect(error.description == "\(audio): cannot read video packets: it has no video stream")
        // The decoder shares the opening, in its own words.
        let decoderError = try #require(throws: VideoError.self) { try VideoDecoder(url: audio) }
        #expect(decoderError.code == .noVideo)
        #expect(decoderError.description == "\(audio): cannot decode: it has no video stream")
    }
}
