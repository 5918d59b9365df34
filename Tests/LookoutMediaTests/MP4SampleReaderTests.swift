import CLookoutAllocCounter
import CLookoutFFmpeg
import Foundation
import Testing

@testable import LookoutMedia

/// `VideoPacketReader` reading MP4 samples itself (`MP4SampleReader`): the same packets as FFmpeg's demuxer and
/// bitstream filter give (bytes, time stamps, key flags), on every layout of MP4 the ffmpeg CLI writes; FFmpeg kept
/// where the file is not one it reads; no allocation per packet; damaged samples are errors of their own packet.
@Suite(.serialized) struct MP4SampleReaderTests {
    struct Clip: Sendable, CustomTestStringConvertible {
        var name: String
        /// ffmpeg arguments after `-i shapes-640x384.mp4` (nil: the fixture itself).
        var encode: [String]?
        /// Whether the reader reads this file's samples itself.
        var direct: Bool
        var testDescription: String { name }
    }

    static let clips: [Clip] = [
        Clip(name: "shapes-640x384.mp4", encode: nil, direct: true),
        Clip(name: "shapes-1080p.mp4", encode: nil, direct: true),
        // B-frames: composition offsets (ctts) and the edit list that shifts them.
        Clip(
            name: "h264-bframes.mp4", encode: ["-frames:v", "40", "-c:v", "libx264", "-bf", "3", "-g", "12"],
            direct: true),
        Clip(
            name: "h264-faststart-audio.mp4",
            encode: [
                "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-frames:v", "30", "-c:v", "libx264", "-c:a",
                "aac", "-movflags", "+faststart", "-shortest",
            ], direct: true),
        Clip(
            name: "h264-slices.mp4",
            encode: ["-frames:v", "20", "-c:v", "libx264", "-x264-params", "slices=4", "-bf", "2"], direct: true),
        Clip(
            name: "h264-avc3.mp4", encode: ["-frames:v", "20", "-c:v", "libx264", "-tag:v", "avc3"], direct: true),
        Clip(
            name: "hevc-bframes.mp4",
            encode: [
                "-frames:v", "30", "-c:v", "libx265", "-x265-params", "bframes=3:keyint=10:log-level=error", "-tag:v",
                "hvc1",
            ], direct: true),
        Clip(
            name: "hevc-hev1.mp4",
            encode: ["-frames:v", "12", "-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hev1"],
            direct: true),
        // Fragmented and Matroska: FFmpeg reads them.
        Clip(
            name: "h264-fragmented.mp4",
            encode: ["-frames:v", "30", "-c:v", "libx264", "-g", "10", "-movflags", "frag_keyframe+empty_moov"],
            direct: false),
        Clip(name: "h264.mkv", encode: ["-frames:v", "20", "-c:v", "libx264"], direct: false),
    ]

    static func make(_ clip: Clip, in folder: String) throws -> String {
        guard let encode = clip.encode else { return Fixtures.video(clip.name) }
        let path = folder + "/" + clip.name
        var arguments = ["-i", Fixtures.video("shapes-640x384.mp4")]
        // A second input (audio) goes before the encoder arguments.
        if encode.first == "-f" {
            arguments += Array(encode.prefix(4))
            arguments += ["-map", "0:v", "-map", "1:a"] + encode.dropFirst(4)
        } else {
            arguments += encode
        }
        try FFmpegCLI.run(arguments + [path])
        return path
    }

    static func reader(_ path: String, direct: Bool) throws -> VideoPacketReader {
        var options = VideoInputOptions()
        options.readsMP4SamplesDirectly = direct
        return try VideoPacketReader(url: path, options: options)
    }

    static func same(_ a: [AnnexB.Packet], _ b: [AnnexB.Packet]) -> Bool {
        a.count == b.count
            && zip(a, b).allSatisfy {
                $0.bytes == $1.bytes && $0.isKeyFrame == $1.isKeyFrame && $0.timestamp == $1.timestamp
                    && $0.pts == $1.pts
            }
    }

    @Test(arguments: clips)
    func packetsAreFFmpegsByteForByte(_ clip: Clip) throws {
        let folder = try Fixtures.temporaryDirectory("mp4")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = try Self.make(clip, in: folder)
        let ours = try Self.reader(path, direct: true)
        let ffmpeg = try Self.reader(path, direct: false)
        #expect(ours.readsSamplesDirectly == clip.direct)
        #expect(!ffmpeg.readsSamplesDirectly)
        let reference = try AnnexB.packets(ffmpeg)
        let packets = try AnnexB.packets(ours)
        #expect(reference.count >= 12)
        #expect(Self.same(packets, reference), "\(packets.count) packets against FFmpeg's \(reference.count)")
        let differing = (0..<min(packets.count, reference.count)).first {
            packets[$0].bytes != reference[$0].bytes || packets[$0].timestamp != reference[$0].timestamp
        }
        if let i = differing {
            let (a, b) = (packets[i], reference[i])
            Issue.record(
                "packet \(i): \(a.bytes.count) bytes at \(a.timestamp ?? -1), FFmpeg's \(b.bytes.count) at \(b.timestamp ?? -1)"
            )
        }
        // A looping file: the same packets again, the first with its parameter sets.
        try ours.rewind()
        try ffmpeg.rewind()
        #expect(Self.same(try AnnexB.packets(ours), try AnnexB.packets(ffmpeg)))
    }

    @Test func readingAllocatesNothingPerPacket() throws {
        try #require(lookout_alloc_counter_active() != 0)
        for name in ["shapes-640x384.mp4", "shapes-1080p.mp4"] {
            let reader = try Self.reader(Fixtures.video(name), direct: true)
            try #require(reader.readsSamplesDirectly)
            // The first packet was read while opening.
            _ = try reader.next()
            var packets = 0
            var bytes = 0
            let before = lookout_thread_alloc_count()
            while let packet = try reader.next() {
                bytes += packet.withUnsafeBytes { $0.count }
                packets += 1
            }
            try reader.rewind()
            while let packet = try reader.next() { bytes += packet.count }
            let allocations = lookout_thread_alloc_count() - before
            print("\(name): \(allocations) allocations over \(packets) packets, a rewind and a second pass")
            #expect(bytes > 0 && packets > 20)
            #expect(allocations == 0)
        }
    }

    /// Sample `index` of `path`'s video track: where it is and how big.
    static func sample(_ path: String, _ index: Int) throws -> MP4SampleTable.Sample {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        return try MP4SampleTable(fd: fd, trackID: 1).samples[index]
    }

    /// The packets of `reader` (nil for each that threw) and the errors.
    static func packetsAndErrors(_ reader: VideoPacketReader) -> ([AnnexB.Packet?], [VideoError]) {
        var packets: [AnnexB.Packet?] = []
        var errors: [VideoError] = []
        for _ in 0..<10_000 {
            do {
                guard let packet = try reader.next() else { break }
                packets.append(
                    AnnexB.Packet(
                        bytes: packet.withUnsafeBytes { [UInt8]($0) }, isKeyFrame: packet.isKeyFrame, pts: packet.pts,
                        timestamp: packet.timestamp))
            } catch {
                packets.append(nil)
                errors.append(error)
            }
        }
        return (packets, errors)
    }

    @Test func aSampleWhoseNALLengthRunsPastItIsAnErrorOfItsOwnPacket() throws {
        let folder = try Fixtures.temporaryDirectory("mp4-corrupt")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/corrupt.mp4"
        var bytes = try Fixtures.bytes(Fixtures.video("shapes-640x384.mp4"))
        let damaged = try Self.sample(Fixtures.video("shapes-640x384.mp4"), 7)
        // Its first NAL unit's length: far past the sample.
        for i in 0..<4 { bytes[Int(damaged.offset) + i] = 0x7f }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let ours = try Self.reader(path, direct: true)
        #expect(ours.readsSamplesDirectly)
        let (packets, errors) = Self.packetsAndErrors(ours)
        let (reference, referenceErrors) = Self.packetsAndErrors(try Self.reader(path, direct: false))
        #expect(packets.count == reference.count)
        #expect(packets.firstIndex { $0 == nil } == 7 && reference.firstIndex { $0 == nil } == 7)
        #expect(errors.count == 1 && referenceErrors.count == 1)
        #expect(errors.first?.code == .read)
        #expect(
            errors.first?.description
                == "\(path): cannot filter a packet (h264_mp4toannexb): sample 8's NAL unit lengths run past its end")
        // Every other packet as FFmpeg gives it.
        for (i, (a, b)) in zip(packets, reference).enumerated() where i != 7 {
            #expect(a?.bytes == b?.bytes && a?.timestamp == b?.timestamp, "packet \(i)")
        }
    }

    @Test func aFileCutInsideASampleEndsWithOneError() throws {
        let folder = try Fixtures.temporaryDirectory("mp4-cut")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let whole = folder + "/whole.mp4"
        try FFmpegCLI.run(
            ["-i", Fixtures.video("shapes-640x384.mp4"), "-c", "copy", "-movflags", "+faststart", whole])
        let cutAt = try Self.sample(whole, 20)
        let path = folder + "/cut.mp4"
        let bytes = try Fixtures.bytes(whole)
        try Data(bytes[0..<(Int(cutAt.offset) + cutAt.size / 2)]).write(to: URL(fileURLWithPath: path))

        let reader = try Self.reader(path, direct: true)
        #expect(reader.readsSamplesDirectly)
        let (packets, errors) = Self.packetsAndErrors(reader)
        #expect(packets.count == 21 && packets.prefix(20).allSatisfy { $0 != nil } && packets[20] == nil)
        #expect(errors.map(\.code) == [.read])
        #expect(errors.first?.message.hasSuffix("is past the end of the file") == true)
        let reference = try AnnexB.packets(try Self.reader(whole, direct: false))
        #expect(zip(packets.prefix(20), reference).allSatisfy { $0?.bytes == $1.bytes })
    }
}
