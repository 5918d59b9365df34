import CLookoutAllocCounter
import CLookoutFFmpeg
import Testing

@testable import LookoutMedia

/// Reading through FFmpeg (every source but a local MP4's H.264/HEVC track, which `MP4SampleReaderTests` covers),
/// the reader allocates nothing per packet of its own: reading a file costs the heap allocations of FFmpeg's own
/// calls (the demuxer's packet buffer, the filter's output), counted here against the same calls made directly.
struct VideoPacketReaderAllocationTests {
    static let clip = Fixtures.video("shapes-640x384.mp4")

    /// Allocations of this thread while `body` runs.
    static func allocations(_ body: () throws -> Void) rethrows -> UInt64 {
        let before = lookout_thread_alloc_count()
        try body()
        return lookout_thread_alloc_count() - before
    }

    @Test func steadyStateReadingAllocatesNoMoreThanFFmpegsOwnCalls() throws {
        try #require(lookout_alloc_counter_active() != 0)
        var options = VideoInputOptions()
        options.readsMP4SamplesDirectly = false
        let reader = try VideoPacketReader(url: Self.clip, options: options)
        var bytes = 0
        // The first packet, read while opening, also warms up whatever Swift sets up on first use.
        if let first = try reader.next() { bytes += first.withUnsafeBytes { $0.count } }
        let ours = try Self.allocations {
            while let packet = try reader.next() { bytes += packet.withUnsafeBytes { $0.count } }
        }
        let direct = try Self.readDirectly()
        #expect(bytes > 0)
        print("VideoPacketReader: \(ours) allocations over 29 packets; FFmpeg's calls alone: \(direct)")
        #expect(ours == direct)
    }

    /// Allocations of the calls `next()` makes, made directly from the second packet on: unref the last packet,
    /// receive from the filter, else read a packet and send it (at the end of the file, the filter's flush).
    static func readDirectly() throws -> UInt64 {
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
        var packets = 0
        var start: UInt64?
        var draining = false
        while true {
            if packets == 1 && start == nil { start = lookout_thread_alloc_count() }
            av_packet_unref(output)
            let received = av_bsf_receive_packet(filter, output)
            if received == 0 {
                packets += 1
                continue
            }
            if draining { break }
            if av_read_frame(format, input) < 0 {
                draining = true
                _ = av_bsf_send_packet(filter, nil)
                continue
            }
            _ = av_bsf_send_packet(filter, input)
        }
        let end = lookout_thread_alloc_count()
        try #require(packets == 30)
        return end - (start ?? end)
    }
}
