import CLookoutAllocCounter
import CLookoutFFmpeg
import LookoutCore
import Testing

@testable import LookoutMedia

/// Heap allocations per packet of the NVDEC path's host side before the parser: libavformat's demuxer
/// (`av_read_frame`) and the `h264_mp4toannexb` filter, on the 1080p fixture after a warm-up, and the cost of looping
/// the file (`rewind`). The figures are printed for the allocation budget of `bench pipeline --decode nvdec`; what is
/// asserted holds for any FFmpeg: the reader adds nothing of its own to FFmpeg's calls.
struct PacketPathAllocationTests {
    static let clip = Fixtures.video("shapes-1080p.mp4")
    static let warmup = 30

    /// Allocations of FFmpeg's calls, made as `VideoPacketReader.advance` makes them, split by call, over the
    /// packets after the warm-up.
    struct Split {
        var packets = 0
        var read: UInt64 = 0
        var send: UInt64 = 0
        var receive: UInt64 = 0
        var unref: UInt64 = 0
        var total: UInt64 { read + send + receive + unref }
    }

    /// `body`'s result and the allocations this thread made while it ran.
    static func counted<R>(_ body: () -> R) -> (R, UInt64) {
        let before = lookout_thread_alloc_count()
        let result = body()
        return (result, lookout_thread_alloc_count() - before)
    }

    static func splitDirectly() throws -> Split {
        var format: UnsafeMutablePointer<AVFormatContext>? = nil
        var filter: UnsafeMutablePointer<AVBSFContext>? = nil
        var input = av_packet_alloc()
        var output = av_packet_alloc()
        defer {
            av_packet_free(&input)
            av_packet_free(&output)
            av_bsf_free(&filter)
            avformat_close_input(&format)
        }
        try #require(avformat_open_input(&format, clip, nil, nil) >= 0)
        try #require(avformat_find_stream_info(format, nil) >= 0)
        let stream = try #require(format?.pointee.streams[0])
        try #require(av_bsf_alloc(av_bsf_get_by_name("h264_mp4toannexb"), &filter) >= 0)
        try #require(avcodec_parameters_copy(filter!.pointee.par_in, stream.pointee.codecpar) >= 0)
        filter!.pointee.time_base_in = stream.pointee.time_base
        try #require(av_bsf_init(filter) >= 0)
        var split = Split()
        var packets = 0
        var draining = false
        while true {
            // From the call that releases the last warm-up packet on.
            let measured: UInt64 = packets >= warmup ? 1 : 0
            split.unref += measured * Self.counted { av_packet_unref(output) }.1
            let (received, receiving) = Self.counted { av_bsf_receive_packet(filter, output) }
            split.receive += measured * receiving
            if received == 0 {
                packets += 1
                if packets > warmup { split.packets += 1 }
                continue
            }
            if draining { break }
            let (read, reading) = Self.counted { av_read_frame(format, input) }
            split.read += measured * reading
            if read < 0 {
                draining = true
                split.send += Self.counted { av_bsf_send_packet(filter, nil) }.1
                continue
            }
            split.send += measured * Self.counted { av_bsf_send_packet(filter, input) }.1
        }
        try #require(packets == 300)
        return split
    }

    @Test func demuxAndAnnexBFilterAllocationsPerPacket() throws {
        try #require(lookout_alloc_counter_active() != 0)
        let split = try Self.splitDirectly()

        // Through FFmpeg, as every source but a local MP4 is read; the reader's own MP4 reads are counted after.
        var options = VideoInputOptions()
        options.readsMP4SamplesDirectly = false
        let reader = try VideoPacketReader(url: Self.clip, options: options)
        var packets = 0
        var bytes = 0
        while packets < Self.warmup, let packet = try reader.next() {
            bytes += packet.count
            packets += 1
        }
        let before = lookout_thread_alloc_count()
        var measured = 0
        while let packet = try reader.next() {
            bytes += packet.withUnsafeBytes { $0.count }
            measured += 1
        }
        let ours = lookout_thread_alloc_count() - before
        // A looping file: the seek back and the filter's flush, then a second pass over the warm-up's packets.
        let rewindStart = lookout_thread_alloc_count()
        try reader.rewind()
        let rewind = lookout_thread_alloc_count() - rewindStart
        let secondPassStart = lookout_thread_alloc_count()
        var again = 0
        while again < Self.warmup, let packet = try reader.next() {
            bytes += packet.count
            again += 1
        }
        let secondPass = lookout_thread_alloc_count() - secondPassStart

        func per(_ count: UInt64, _ n: Int) -> String {
            TextFormat.format("%.2f", Double(count) / Double(max(n, 1)))
        }
        print(
            "shapes-1080p.mp4, packets \(Self.warmup + 1)-300 (\(split.packets)): per packet av_read_frame "
                + "\(per(split.read, split.packets)), av_bsf_send_packet \(per(split.send, split.packets)), "
                + "av_bsf_receive_packet \(per(split.receive, split.packets)), av_packet_unref "
                + "\(per(split.unref, split.packets)); FFmpeg's calls \(per(split.total, split.packets)), "
                + "VideoPacketReader.next() \(per(ours, measured))")
        print(
            "rewind: \(rewind) allocations; the first \(again) packets after it: \(per(secondPass, again)) per packet")
        #expect(bytes > 0)
        #expect(measured == split.packets)
        #expect(ours == split.total)

        // The reader's own MP4 reads (the default for this file): nothing per packet, nothing to rewind.
        let direct = try VideoPacketReader(url: Self.clip)
        try #require(direct.readsSamplesDirectly)
        var directPackets = 0
        while directPackets < Self.warmup, try direct.next() != nil { directPackets += 1 }
        let directStart = lookout_thread_alloc_count()
        while try direct.next() != nil { directPackets += 1 }
        try direct.rewind()
        while try direct.next() != nil { directPackets += 1 }
        let directAllocations = lookout_thread_alloc_count() - directStart
        print(
            "VideoPacketReader reading the MP4 itself: \(directAllocations) allocations over packets "
                + "\(Self.warmup + 1)-300, a rewind and a second pass")
        #expect(directPackets == 600)
        #expect(directAllocations == 0)
    }
}
