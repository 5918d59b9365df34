import Foundation
import Testing

@testable import LookoutMedia

/// `VideoPacketReader` hands H.264 out as the Annex-B access units a hardware decoder's parser takes.
struct VideoPacketReaderTests {
    static let small = Fixtures.video("shapes-640x384.mp4")
    /// `ffmpeg -i Tests/Fixtures/video/shapes-1080p.mp4 -c:v copy -bsf:v h264_mp4toannexb -f h264`, in ../shared.
    static let shared1080p = Fixtures.shared + "/fixtures/shapes/shapes-1080p.h264"

    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: shared1080p),
            "needs ../shared/fixtures/shapes/shapes-1080p.h264 (stays out of the repository)"))
    func the1080pPacketsAreTheFFmpegCLIsAnnexBStreamByteForByte() throws {
        let reader = try VideoPacketReader(url: Fixtures.video("shapes-1080p.mp4"))
        #expect(reader.bitstreamFilter == "h264_mp4toannexb")
        let packets = try AnnexB.packets(reader)
        #expect(packets.count == 300)
        let stream = packets.flatMap(\.bytes)
        let reference = try Fixtures.bytes(Self.shared1080p)
        #expect(stream.count == reference.count)
        #expect(stream == reference)
    }

    @Test func theSmallClipsParametersAreRead() throws {
        let reader = try VideoPacketReader(url: Self.small)
        #expect(reader.info.codec == "h264")
        #expect(reader.info.width == 640 && reader.info.height == 384)
        #expect(reader.info.frameCount == 30)
        #expect(reader.info == (try VideoDecoder(url: Self.small)).info)
        #expect(
            reader.parameters
                == VideoCodecParameters(
                    codec: .h264, bitDepth: 8, chroma: .yuv420, pixelFormat: "yuv420p", codedWidth: 640,
                    codedHeight: 384))
        #expect(AnnexB.startsWithStartCode(reader.extradata), "avcC's parameter sets, in Annex-B")
        #expect(AnnexB.nalTypes(reader.extradata, hevc: false) == [7, 8])
        #expect(reader.timeBase.numerator == 1 && reader.timeBase.denominator == 15360)
    }

    @Test func the1080pCodedHeightIsWholeMacroblocks() throws {
        let reader = try VideoPacketReader(url: Fixtures.video("shapes-1080p.mp4"))
        #expect(reader.info.width == 1920 && reader.info.height == 1080)
        #expect(reader.parameters.codedWidth == 1920 && reader.parameters.codedHeight == 1088)
    }

    @Test func everyPacketStartsWithAStartCodeAndTheFirstCarriesSPSAndPPSBeforeItsIDRSlice() throws {
        let reader = try VideoPacketReader(url: Self.small)
        let packets = try AnnexB.packets(reader)
        #expect(packets.count == 30)
        #expect(packets.allSatisfy { AnnexB.startsWithStartCode($0.bytes) })
        let first = try #require(packets.first)
        #expect(first.isKeyFrame)
        let types = AnnexB.nalTypes(first.bytes, hevc: false)
        let sps = try #require(types.firstIndex(of: 7))
        let pps = try #require(types.firstIndex(of: 8))
        let idr = try #require(types.firstIndex(of: 5))
        #expect(sps < idr && pps < idr)
        #expect(packets.dropFirst().allSatisfy { !AnnexB.nalTypes($0.bytes, hevc: false).contains(7) || $0.isKeyFrame })
        let pts = packets.compactMap(\.pts)
        #expect(pts.count == 30 && abs(pts[0]) < 1e-9)
        #expect(zip(pts, pts.dropFirst()).allSatisfy { abs($1 - $0 - 1.0 / 15) < 1e-6 })
        #expect(packets.map { $0.timestamp.map(reader.seconds(fromTimestamp:)) } == packets.map(\.pts))
    }

    @Test func theAnnexBStreamDecodesToTheSameFramesAsTheMP4() throws {
        let folder = try Fixtures.temporaryDirectory("annexb")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let raw = folder + "/shapes-640x384.h264"
        let stream = try AnnexB.packets(try VideoPacketReader(url: Self.small)).flatMap(\.bytes)
        #expect(FileManager.default.createFile(atPath: raw, contents: Data(stream)))

        // Already Annex-B: the filter passes the packets through, and the raw demuxer's extradata is SPS and PPS.
        let again = try VideoPacketReader(url: raw)
        #expect(again.info.container == "h264" && again.bitstreamFilter == "h264_mp4toannexb")
        #expect(AnnexB.nalTypes(again.extradata, hevc: false) == [7, 8])
        #expect(try AnnexB.packets(again).flatMap(\.bytes) == stream)

        let fromRaw = try Self.frameChecksums(raw)
        #expect(fromRaw.info.container == "h264")
        let fromMP4 = try Self.frameChecksums(Self.small)
        #expect(fromMP4.bgr.count == 30)
        #expect(fromRaw.bgr == fromMP4.bgr)
        #expect(fromRaw.nv12 == fromMP4.nv12)
        #expect(Set(fromMP4.bgr).count > 1, "the frames differ from one another")
    }

    /// CRC-32 of every frame's BGR and NV12.
    static func frameChecksums(_ path: String) throws -> (info: VideoStreamInfo, bgr: [UInt32], nv12: [UInt32]) {
        let decoder = try VideoDecoder(url: path)
        var bgr: [UInt32] = []
        var nv12: [UInt32] = []
        var buffer = [UInt8]()
        while let frame = try decoder.next() {
            buffer = [UInt8](repeating: 0, count: frame.width * frame.height * 3)
            try buffer.withUnsafeMutableBytes { bytes in
                try decoder.convert(into: bytes.baseAddress!, rowBytes: frame.width * 3)
                bgr.append(Checksum.crc32(UnsafeRawBufferPointer(bytes)))
            }
            let pitch = (frame.width + 1) & ~1
            buffer = [UInt8](repeating: 0, count: pitch * (frame.height + (frame.height + 1) / 2))
            try buffer.withUnsafeMutableBytes { bytes in
                try decoder.convertNV12(into: bytes.baseAddress!, pitch: pitch)
                nv12.append(Checksum.crc32(UnsafeRawBufferPointer(bytes)))
            }
        }
        #expect(decoder.decodeErrors == 0)
        return (decoder.info, bgr, nv12)
    }

    @Test func rewindGivesTheSameBytesAgain() throws {
        let reader = try VideoPacketReader(url: Self.small)
        let first = try AnnexB.packets(reader)
        #expect(try AnnexB.packets(reader).isEmpty, "at the end, the end again")
        try reader.rewind()
        let second = try AnnexB.packets(reader)
        #expect(second.count == first.count)
        #expect(second.map(\.bytes) == first.map(\.bytes))
        #expect(second.map(\.pts) == first.map(\.pts))
        #expect(second.map(\.isKeyFrame) == first.map(\.isKeyFrame))
    }

    @Test func rewindMidStreamStartsAgainFromTheFirstPacket() throws {
        let reader = try VideoPacketReader(url: Self.small)
        let all = try AnnexB.packets(reader)
        try reader.rewind()
        for _ in 0..<7 { _ = try reader.next() }
        try reader.rewind()
        #expect(try AnnexB.packets(reader).map(\.bytes) == all.map(\.bytes))
    }

    @Test func aPacketUsedAfterTheNextOneTraps() async {
        await #expect(processExitsWith: .signal(SIGILL)) {
            let reader = try VideoPacketReader(url: VideoPacketReaderTests.small)
            guard let stale = try reader.next() else { return }
            _ = try reader.next()
            _ = stale.withUnsafeBytes { $0.first }
        }
    }

    @Test func aMissingFileIsAOneLineErrorNamingIt() throws {
        let path = "/nonexistent/cam.mp4"
        let error = try #require(throws: VideoError.self) { try VideoPacketReader(url: path) }
        #expect(error.code == .open)
        #expect(error.description == "\(path): cannot open (avformat_open_input: No such file or directory)")
    }

    @Test func aFileThatIsNoVideoIsAOneLineErrorNamingIt() throws {
        let path = Fixtures.image("notes.txt")
        let error = try #require(throws: VideoError.self) { try VideoPacketReader(url: path) }
        #expect(error.code == .open)
        #expect(
            error.description == "\(path): cannot open (avformat_open_input: Invalid data found when processing input)")
        #expect(!error.description.contains("\n"))
    }

    @Test func stoppingMidStreamEndsReadingWithStopped() throws {
        let interrupt = VideoInterrupt()
        let reader = try VideoPacketReader(url: Self.small, interrupt: interrupt)
        _ = try AnnexB.packets(reader)
        try reader.rewind()
        _ = try reader.next()
        interrupt.stop()
        let error = try #require(throws: VideoError.self) { _ = try AnnexB.packets(reader) }
        #expect(error.code == .stopped)
        #expect(error.description == "\(Self.small): cannot read: stopped")
    }

    @Test func aStoppedInterruptStopsTheReader() throws {
        let interrupt = VideoInterrupt()
        interrupt.stop()
        let error = try #require(throws: VideoError.self) {
            try VideoPacketReader(url: Self.small, interrupt: interrupt)
        }
        #expect(error.code == .stopped)
        #expect(error.description == "\(Self.small): cannot open: stopped")
    }
}
