import CLookoutFFmpeg
import Testing

@testable import LookoutMedia

/// `AnnexBConverter` against FFmpeg's own `h264_mp4toannexb` and `hevc_mp4toannexb` on random streams: random
/// configurations (length sizes 1 to 4, with and without SPS or PPS) and packets of random NAL units (slices, IDR
/// slices with and without first_mb_in_slice = 0, in-band SPS/PPS/SEI, access unit delimiters), packet after packet
/// through one filter and one converter, so that the state they keep across packets is compared too.
struct AnnexBConverterTests {
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(next(256)) } }
    }

    /// `packets` through FFmpeg's filter `name` set up with `configuration`: its output parameter sets and each
    /// packet's output (nil where it failed).
    static func ffmpeg(_ name: String, _ codec: AVCodecID, configuration: [UInt8], packets: [[UInt8]]) throws
        -> (parameterSets: [UInt8], outputs: [[UInt8]?])
    {
        var filter: UnsafeMutablePointer<AVBSFContext>?
        try #require(av_bsf_alloc(av_bsf_get_by_name(name), &filter) >= 0)
        defer { av_bsf_free(&filter) }
        let parameters = try #require(filter?.pointee.par_in)
        parameters.pointee.codec_type = AVMEDIA_TYPE_VIDEO
        parameters.pointee.codec_id = codec
        let extradata = try #require(av_mallocz(configuration.count + 64)?.assumingMemoryBound(to: UInt8.self))
        extradata.update(from: configuration, count: configuration.count)
        parameters.pointee.extradata = extradata
        parameters.pointee.extradata_size = Int32(configuration.count)
        try #require(av_bsf_init(filter) >= 0)
        let out = try #require(filter?.pointee.par_out.pointee)
        let parameterSets = Array(UnsafeBufferPointer(start: out.extradata, count: Int(out.extradata_size)))
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        var outputs: [[UInt8]?] = []
        for bytes in packets {
            try #require(av_new_packet(packet, Int32(bytes.count)) >= 0)
            packet!.pointee.data.update(from: bytes, count: bytes.count)
            try #require(av_bsf_send_packet(filter, packet) >= 0)
            if av_bsf_receive_packet(filter, packet) >= 0 {
                outputs.append(
                    Array(UnsafeBufferPointer(start: packet!.pointee.data, count: Int(packet!.pointee.size))))
            } else {
                outputs.append(nil)
            }
            av_packet_unref(packet)
        }
        return (parameterSets, outputs)
    }

    static func converter(_ codec: AnnexBConverter.Codec, _ configuration: [UInt8], capacity: Int) throws
        -> AnnexBConverter
    {
        guard let converter = AnnexBConverter(codec: codec, configuration: configuration, capacity: capacity) else {
            Issue.record("no converter for \(configuration)")
            throw CancellationError()
        }
        return converter
    }

    /// Converts `bytes`; false when the converter threw `Malformed`.
    static func convert(_ converter: inout AnnexBConverter, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { packet in
            do {
                try converter.convert(packet)
                return true
            } catch {
                return false
            }
        }
    }

    /// `packets` through a converter: its parameter sets and each packet's output (nil where it threw).
    static func ours(_ codec: AnnexBConverter.Codec, configuration: [UInt8], packets: [[UInt8]]) throws
        -> (parameterSets: [UInt8], outputs: [[UInt8]?])
    {
        var converter = try Self.converter(codec, configuration, capacity: 16)
        var outputs: [[UInt8]?] = []
        for bytes in packets {
            if Self.convert(&converter, bytes) {
                outputs.append(Array(converter.bytes))
            } else {
                #expect(converter.count == 0)
                outputs.append(nil)
            }
        }
        return (converter.annexBParameterSets, outputs)
    }

    /// `units` length-prefixed with `lengthSize` bytes.
    static func prefixed(_ units: [[UInt8]], lengthSize: Int) -> [UInt8] {
        units.flatMap { unit in
            (0..<lengthSize).reversed().map { UInt8(truncatingIfNeeded: unit.count >> (8 * $0)) } + unit
        }
    }

    @Test func h264MatchesFFmpegsFilter() throws {
        var random = Random(state: 7)
        var compared = 0
        var failures = 0
        for stream in 0..<60 {
            let lengthSize = [1, 2, 3, 4][stream % 4]
            let spsCount = stream % 5 == 4 ? 0 : 1 + random.next(2)
            let ppsCount = stream % 7 == 6 ? 0 : 1 + random.next(2)
            var avcC: [UInt8] = [1, 66, 0, 30, 0xfc | UInt8(lengthSize - 1), 0xe0 | UInt8(spsCount)]
            for _ in 0..<spsCount {
                let sps = [0x67] + random.bytes(3 + random.next(8))
                avcC += [0, UInt8(sps.count)] + sps
            }
            avcC.append(UInt8(ppsCount))
            for _ in 0..<ppsCount {
                let pps = [0x68] + random.bytes(1 + random.next(4))
                avcC += [0, UInt8(pps.count)] + pps
            }
            var packets: [[UInt8]] = []
            for _ in 0..<40 {
                let units = (0..<(1 + random.next(4))).map { _ -> [UInt8] in
                    let type = [1, 1, 5, 5, 5, 6, 7, 8, 9][random.next(9)]
                    return [UInt8(0x60 | type)] + random.bytes(random.next(12))
                }
                var packet = Self.prefixed(units, lengthSize: lengthSize)
                // Now and then a NAL unit whose length runs past the packet.
                if random.next(25) == 0 { packet.removeLast(min(packet.count - 1, 1 + random.next(3))) }
                packets.append(packet)
            }
            let reference = try Self.ffmpeg("h264_mp4toannexb", AV_CODEC_ID_H264, configuration: avcC, packets: packets)
            let converted = try Self.ours(.h264, configuration: avcC, packets: packets)
            #expect(converted.parameterSets == reference.parameterSets, "stream \(stream)")
            for (i, (a, b)) in zip(converted.outputs, reference.outputs).enumerated() {
                #expect(a == b, "stream \(stream) (length size \(lengthSize)), packet \(i)")
                compared += 1
                if b == nil { failures += 1 }
            }
        }
        #expect(compared == 60 * 40 && failures > 10)
    }

    @Test func hevcMatchesFFmpegsFilter() throws {
        var random = Random(state: 11)
        for stream in 0..<40 {
            let lengthSize = [1, 2, 4][stream % 3]
            var hvcC: [UInt8] = [1] + [UInt8](repeating: 0, count: 20) + [0xfc | UInt8(lengthSize - 1)]
            let arrays: [UInt8] = stream % 6 == 5 ? [32, 33, 34, 39] : [32, 33, 34]
            hvcC.append(UInt8(arrays.count))
            for type in arrays {
                let count = 1 + random.next(2)
                hvcC += [0x80 | type, 0, UInt8(count)]
                for _ in 0..<count {
                    let unit = [type << 1, 1] + random.bytes(2 + random.next(6))
                    hvcC += [0, UInt8(unit.count)] + unit
                }
            }
            var packets: [[UInt8]] = []
            for _ in 0..<30 {
                let units = (0..<(1 + random.next(4))).map { _ -> [UInt8] in
                    let type = UInt8([1, 1, 19, 20, 21, 16, 32, 33, 34, 35, 39][random.next(11)])
                    return [type << 1, 1] + random.bytes(random.next(10))
                }
                packets.append(Self.prefixed(units, lengthSize: lengthSize))
            }
            let reference = try Self.ffmpeg("hevc_mp4toannexb", AV_CODEC_ID_HEVC, configuration: hvcC, packets: packets)
            let converted = try Self.ours(.hevc, configuration: hvcC, packets: packets)
            #expect(converted.parameterSets == reference.parameterSets, "stream \(stream)")
            #expect(converted.outputs == reference.outputs, "stream \(stream) (length size \(lengthSize))")
        }
    }

    @Test func aLengthPastThePacketThrowsAndTheNextPacketConverts() throws {
        let hvcC: [UInt8] = [1] + [UInt8](repeating: 0, count: 20) + [0xff, 1, 0xa0, 0, 1, 0, 3, 0x40, 1, 0xaa]
        var converter = try Self.converter(.hevc, hvcC, capacity: 0)
        #expect(converter.annexBParameterSets == [0, 0, 0, 1, 0x40, 1, 0xaa])
        let truncated: [UInt8] = [0, 0, 0, 9, 38, 1, 5]
        #expect(!Self.convert(&converter, truncated))
        #expect(converter.count == 0)
        let irap: [UInt8] = [0, 0, 0, 3, 38, 1, 5]
        #expect(Self.convert(&converter, irap))
        #expect(Array(converter.bytes) == [0, 0, 0, 1, 0x40, 1, 0xaa, 0, 0, 0, 1, 38, 1, 5])
        // Not an avcC/hvcC record: no converter (the stream is Annex-B already).
        let annexB = AnnexBConverter(codec: .h264, configuration: [0, 0, 0, 1, 0x67, 1], capacity: 0)
        if case .some = consume annexB { Issue.record("an Annex-B configuration got a converter") }
    }
}
