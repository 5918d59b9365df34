import CLookoutFFmpeg

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `VideoPacketReader`'s own way through a local MP4/MOV file's H.264 or HEVC track: each sample read with one
/// `pread` into a buffer allocated once (the largest sample's size, from the sample table) and converted to Annex-B
/// by `AnnexBConverter` into another, where FFmpeg's demuxer and bitstream filter allocate a few buffers per packet.
///
/// It takes over from FFmpeg only where it gives the same packets: the sample table must match FFmpeg's index of the
/// stream entry by entry (file offset, size, keyframe, no discarded samples, decode times a constant apart, so edit
/// lists that drop or repeat samples keep FFmpeg), the converter's parameter sets must be the filter's, and the first
/// packet, converted here, must be FFmpeg's first packet byte for byte, with its time stamp.
final class MP4SampleReader {
    private let fd: Int32
    private let samples: [MP4SampleTable.Sample]
    /// Added to a sample's decode time plus composition offset: FFmpeg's presentation time stamp.
    private let timestampShift: Int64
    private var converter: AnnexBConverter
    private let input: UnsafeMutableRawBufferPointer
    /// The next sample to read.
    private var next = 0
    /// The file ended inside a sample (truncated): nothing more comes.
    private var truncated = false

    /// The reader for `stream` of the opened file `path`, positioned after its first packet, which FFmpeg read and
    /// filtered into `first`; nil when the file is not one it reads as FFmpeg does (see the type's comment).
    init?(
        path: String, format: UnsafeMutablePointer<AVFormatContext>, stream: UnsafeMutablePointer<AVStream>,
        codec: AnnexBConverter.Codec, filteredParameterSets: [UInt8], first: UnsafeMutablePointer<AVPacket>
    ) {
        guard let demuxer = format.pointee.iformat?.pointee.name, String(cString: demuxer).contains("mp4"),
            let configuration = stream.pointee.codecpar?.pointee, let extradata = configuration.extradata,
            first.pointee.pts != VideoInput.noPTS
        else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
            let table = try? MP4SampleTable(fd: fd, trackID: UInt32(truncatingIfNeeded: stream.pointee.id)),
            Self.matchesIndex(table.samples, stream),
            let converter = AnnexBConverter(
                codec: codec,
                configuration: Array(UnsafeBufferPointer(start: extradata, count: Int(configuration.extradata_size))),
                capacity: 2 * table.largestSample + 4 * filteredParameterSets.count + 64)
        else {
            close(fd)
            return nil
        }
        self.fd = fd
        self.samples = table.samples
        self.converter = converter
        self.input = .allocate(byteCount: max(table.largestSample, 1), alignment: 16)
        let sample = table.samples[0]
        self.timestampShift = first.pointee.pts - (sample.decodeTime + sample.compositionOffset)
        // The filter's parameter sets, then the first packet again, here: the same bytes and key flag as FFmpeg's,
        // or FFmpeg keeps the file. The converter's state after it is the filter's after FFmpeg's first packet.
        guard self.converter.annexBParameterSets == filteredParameterSets,
            (try? read(source: path, filter: "")) == true,
            sample.isSync == (first.pointee.flags & AV_PKT_FLAG_KEY != 0),
            let data = first.pointee.data, self.converter.count == Int(first.pointee.size),
            memcmp(self.converter.bytes.baseAddress!, data, self.converter.count) == 0
        else { return nil }
    }

    deinit {
        close(fd)
        input.deallocate()
    }

    /// FFmpeg's index of `stream` (built from the same sample table, with edit lists applied) has the table's samples,
    /// in order, at the same places, none discarded, with decode times a constant apart from the table's.
    private static func matchesIndex(_ samples: [MP4SampleTable.Sample], _ stream: UnsafeMutablePointer<AVStream>)
        -> Bool
    {
        guard avformat_index_get_entries_count(stream) == samples.count else { return false }
        var shift: Int64?
        for (i, sample) in samples.enumerated() {
            guard let entry = avformat_index_get_entry(stream, Int32(i))?.pointee else { return false }
            let keyFrame = entry.flags & AVINDEX_KEYFRAME != 0
            let discard = entry.flags & AVINDEX_DISCARD_FRAME != 0
            guard entry.pos == sample.offset, Int(entry.size) == sample.size, keyFrame == sample.isSync, !discard,
                sample.size > 0
            else { return false }
            let apart = entry.timestamp - sample.decodeTime
            if shift == nil { shift = apart }
            guard apart == shift else { return false }
        }
        return true
    }

    /// The packet of the last `read()`: Annex-B bytes, FFmpeg's presentation time stamp, whether it is a sync sample.
    var bytes: UnsafeRawBufferPointer { converter.bytes }
    private(set) var timestamp: Int64 = 0
    private(set) var isKeyFrame = false

    /// Reads and converts the next sample; false at the end. Throws `.read` for a sample whose NAL unit lengths run
    /// past it (the next call goes on with the following sample) or that the file ends inside (nothing follows).
    func read(source: String, filter: String) throws(VideoError) -> Bool {
        guard next < samples.count, !truncated else { return false }
        let sample = samples[next]
        next += 1
        let got = MP4SampleTable.read(fd, input.baseAddress!, count: sample.size, at: sample.offset)
        guard got == sample.size else {
            truncated = true
            throw VideoError(
                .read, source: source,
                message: "cannot read: sample \(next) of \(samples.count) (\(sample.size) bytes at \(sample.offset)) "
                    + (got < 0 ? "could not be read" : "is past the end of the file"))
        }
        timestamp = sample.decodeTime + sample.compositionOffset + timestampShift
        isKeyFrame = sample.isSync
        do {
            try converter.convert(UnsafeRawBufferPointer(rebasing: input[0..<sample.size]))
        } catch {
            throw VideoError(
                .read, source: source,
                message: "cannot filter a packet (\(filter)): sample \(next)'s NAL unit lengths run past its end")
        }
        return true
    }

    /// Back to the first sample, the converter's state as new (a looping file).
    func rewind() {
        next = 0
        truncated = false
        converter.reset()
    }
}
