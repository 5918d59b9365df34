/// One compressed access unit of a `VideoPacketReader`, lent: its bytes stay in the reader's packet (no copy) and
/// are valid until the reader's next `next()` or `rewind()`; using the packet after that is a programming error
/// (trapped, never a read of freed memory).
public struct VideoPacket: ~Copyable {
    /// Presentation time in seconds from the stream's start (packets come in decode order, so with B-frames this is
    /// not monotonic); nil when the packet carries none.
    public let pts: Double?
    /// The same presentation time in ticks of `VideoPacketReader.timeBase`, as a hardware decoder's packet time
    /// stamp carries it through to the decoded picture (`VideoPacketReader.seconds(fromTimestamp:)` converts back).
    public let timestamp: Int64?
    /// The packet starts a picture the decoder can begin at (IDR or other random-access point).
    public let isKeyFrame: Bool
    /// Bytes in the packet.
    public let count: Int

    private let reader: VideoPacketReader
    private let generation: UInt64
    private let base: UnsafeRawPointer?

    init(
        reader: VideoPacketReader, generation: UInt64, base: UnsafeRawPointer?, count: Int, pts: Double?,
        timestamp: Int64?, isKeyFrame: Bool
    ) {
        self.reader = reader
        self.generation = generation
        self.base = base
        self.count = count
        self.pts = pts
        self.timestamp = timestamp
        self.isKeyFrame = isKeyFrame
    }

    /// Lends the packet's bytes (an H.264/HEVC packet: Annex-B, start codes before every NAL unit).
    public func withUnsafeBytes<Result: ~Copyable, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        precondition(
            reader.generation == generation, "a VideoPacket was used after its reader's next next() or rewind()")
        return try body(UnsafeRawBufferPointer(start: count > 0 ? base : nil, count: count))
    }
}
