#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The samples of one track of an MP4/MOV file, from its sample table (ISO/IEC 14496-12 `stbl`): where each lies in
/// the file, its size, its decode time and composition offset, and whether it is a sync sample. With it
/// `VideoPacketReader` reads a file's video samples itself, straight into a buffer it owns, instead of through
/// FFmpeg's demuxer (whose packets are allocated one by one).
///
/// Only what a progressive MP4's track needs: one sample description, `stsz` (not `stz2`), `stco` or `co64`, and
/// no fragments (`mvex`); anything else is `Unsupported`, and the reader keeps FFmpeg's demuxer. Edit lists are not
/// applied here: the reader checks the table against FFmpeg's index of the same stream before it uses it.
struct MP4SampleTable {
    struct Sample: Equatable {
        var offset: Int64
        var size: Int
        /// Decode time in the track's timescale, from 0.
        var decodeTime: Int64
        /// Composition (presentation) time minus decode time (`ctts`), 0 without B-frames.
        var compositionOffset: Int64
        var isSync: Bool
    }

    /// Why a file's table cannot be used (the reader then reads through FFmpeg).
    struct Unsupported: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    let trackID: UInt32
    let samples: [Sample]
    /// The largest sample's size in bytes.
    let largestSample: Int

    /// Box types as their four characters read big-endian.
    private static func fourCC(_ text: StaticString) -> UInt32 {
        text.withUTF8Buffer { $0.reduce(0) { $0 << 8 | UInt32($1) } }
    }

    /// Reads the `moov` box of the open file `fd` and the sample table of track `trackID`.
    init(fd: Int32, trackID: UInt32) throws(Unsupported) {
        let moov = try Self.readMovieBox(fd: fd)
        var stbl: Range<Int>?
        for trak in Self.boxes(moov, in: 0..<moov.count) where trak.type == Self.fourCC("trak") {
            guard let tkhd = Self.child("tkhd", of: trak.payload, in: moov) else { continue }
            let version = moov[tkhd.lowerBound]
            let idAt = tkhd.lowerBound + (version == 1 ? 20 : 12)
            guard idAt + 4 <= tkhd.upperBound, Self.u32(moov, idAt) == trackID else { continue }
            stbl = try Self.path(["mdia", "minf", "stbl"], from: trak.payload, in: moov)
            break
        }
        guard let stbl else { throw Unsupported("no track \(trackID) in moov") }
        self.trackID = trackID
        (samples, largestSample) = try Self.samples(moov, stbl: stbl)
    }

    // MARK: Boxes

    private static func readMovieBox(fd: Int32) throws(Unsupported) -> [UInt8] {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Unsupported("cannot stat the file") }
        let fileSize = Int64(status.st_size)
        var at: Int64 = 0
        var header = [UInt8](repeating: 0, count: 16)
        while at + 8 <= fileSize {
            guard read(fd, &header, count: 16, at: at) >= 8 else { throw Unsupported("cannot read a box header") }
            var size = Int64(u32(header, 0))
            let type = u32(header, 4)
            var headerSize: Int64 = 8
            if size == 1 {
                size = Int64(bitPattern: u64(header, 8))
                headerSize = 16
            } else if size == 0 {
                size = fileSize - at
            }
            guard size >= headerSize, at + size <= fileSize else { throw Unsupported("a box runs past the file") }
            if type == fourCC("moov") {
                // A movie box of a long film is a few MB; anything far larger is not a file worth reading this way.
                guard size - headerSize <= 256 << 20 else { throw Unsupported("moov of \(size) bytes") }
                var moov = [UInt8](repeating: 0, count: Int(size - headerSize))
                guard read(fd, &moov, count: moov.count, at: at + headerSize) == moov.count else {
                    throw Unsupported("cannot read moov")
                }
                if boxes(moov, in: 0..<moov.count).contains(where: { $0.type == fourCC("mvex") }) {
                    throw Unsupported("a fragmented MP4 (mvex)")
                }
                return moov
            }
            at += size
        }
        throw Unsupported("no moov box")
    }

    /// `count` bytes of `fd` from `offset` into `buffer`; the bytes read (short at the end of the file), -1 on error.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + Int64(done)))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return -1 }
            if n == 0 { break }
            done += n
        }
        return done
    }

    private static func read(_ fd: Int32, _ buffer: inout [UInt8], count: Int, at offset: Int64) -> Int {
        buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, count: count, at: offset) }
    }

    /// The boxes directly inside `range` of `data`: type and payload.
    private static func boxes(_ data: [UInt8], in range: Range<Int>) -> [(type: UInt32, payload: Range<Int>)] {
        var found: [(type: UInt32, payload: Range<Int>)] = []
        var at = range.lowerBound
        while at + 8 <= range.upperBound {
            var size = Int(u32(data, at))
            var header = 8
            if size == 1 {
                guard at + 16 <= range.upperBound else { break }
                size = Int(truncatingIfNeeded: u64(data, at + 8))
                header = 16
            } else if size == 0 {
                size = range.upperBound - at
            }
            guard size >= header, size <= range.upperBound - at else { break }
            found.append((u32(data, at + 4), (at + header)..<(at + size)))
            at += size
        }
        return found
    }

    private static func child(_ type: StaticString, of range: Range<Int>, in data: [UInt8]) -> Range<Int>? {
        let code = fourCC(type)
        return boxes(data, in: range).first { $0.type == code }?.payload
    }

    private static func path(_ types: [StaticString], from range: Range<Int>, in data: [UInt8]) throws(Unsupported)
        -> Range<Int>
    {
        var range = range
        for type in types {
            guard let next = child(type, of: range, in: data) else { throw Unsupported("no \(type) box") }
            range = next
        }
        return range
    }

    private static func u32(_ data: [UInt8], _ at: Int) -> UInt32 {
        UInt32(data[at]) << 24 | UInt32(data[at + 1]) << 16 | UInt32(data[at + 2]) << 8 | UInt32(data[at + 3])
    }

    private static func u64(_ data: [UInt8], _ at: Int) -> UInt64 {
        UInt64(u32(data, at)) << 32 | UInt64(u32(data, at + 4))
    }

    // MARK: The sample table

    /// A full box's entries: its payload after version/flags (4 bytes) and `skip` more bytes, checked to hold `count`
    /// entries of `entrySize` bytes each (`count` read at `countAt` from the payload's start).
    private static func entries(
        _ data: [UInt8], _ box: Range<Int>, countAt: Int = 4, entrySize: Int, name: String
    ) throws(Unsupported) -> (count: Int, start: Int) {
        guard box.count >= countAt + 4 else { throw Unsupported("\(name) is truncated") }
        let count = Int(u32(data, box.lowerBound + countAt))
        let start = box.lowerBound + countAt + 4
        guard count <= (box.upperBound - start) / max(entrySize, 1) else { throw Unsupported("\(name) is truncated") }
        return (count, start)
    }

    private static func samples(_ data: [UInt8], stbl: Range<Int>) throws(Unsupported) -> ([Sample], Int) {
        func box(_ type: StaticString) -> Range<Int>? { child(type, of: stbl, in: data) }
        guard let stsz = box("stsz") else { throw Unsupported("no stsz (stz2 is not read)") }
        guard let stsc = box("stsc"), let stts = box("stts") else { throw Unsupported("no stsc or stts") }
        let chunkOffsets: [Int64]
        if let stco = box("stco") {
            let (count, start) = try entries(data, stco, entrySize: 4, name: "stco")
            chunkOffsets = (0..<count).map { Int64(u32(data, start + 4 * $0)) }
        } else if let co64 = box("co64") {
            let (count, start) = try entries(data, co64, entrySize: 8, name: "co64")
            chunkOffsets = (0..<count).map { Int64(bitPattern: u64(data, start + 8 * $0)) }
        } else {
            throw Unsupported("no stco or co64")
        }

        // Sizes.
        guard stsz.count >= 12 else { throw Unsupported("stsz is truncated") }
        let fixedSize = Int(u32(data, stsz.lowerBound + 4))
        let (sampleCount, sizesStart) = try entries(
            data, stsz, countAt: 8, entrySize: fixedSize == 0 ? 4 : 0, name: "stsz")
        guard sampleCount > 0 else { throw Unsupported("no samples") }
        var samples = [Sample](
            repeating: Sample(offset: 0, size: fixedSize, decodeTime: 0, compositionOffset: 0, isSync: true),
            count: sampleCount)
        if fixedSize == 0 {
            for i in 0..<sampleCount { samples[i].size = Int(u32(data, sizesStart + 4 * i)) }
        }

        // Offsets: chunk by chunk, the samples of a chunk back to back.
        let (runs, runsStart) = try entries(data, stsc, entrySize: 12, name: "stsc")
        var sample = 0
        for run in 0..<runs {
            let at = runsStart + 12 * run
            let firstChunk = Int(u32(data, at))
            let perChunk = Int(u32(data, at + 4))
            guard u32(data, at + 8) == 1 else { throw Unsupported("more than one sample description") }
            let endChunk = run + 1 < runs ? Int(u32(data, at + 12)) : chunkOffsets.count + 1
            guard firstChunk >= 1, endChunk >= firstChunk, endChunk <= chunkOffsets.count + 1 else {
                throw Unsupported("stsc names chunks past stco")
            }
            for chunk in firstChunk..<endChunk {
                var offset = chunkOffsets[chunk - 1]
                for _ in 0..<perChunk where sample < sampleCount {
                    samples[sample].offset = offset
                    offset += Int64(samples[sample].size)
                    sample += 1
                }
            }
        }
        guard sample == sampleCount else { throw Unsupported("stsc places \(sample) of \(sampleCount) samples") }

        // Decode times.
        let (deltas, deltasStart) = try entries(data, stts, entrySize: 8, name: "stts")
        sample = 0
        var time: Int64 = 0
        for run in 0..<deltas {
            let count = Int(u32(data, deltasStart + 8 * run))
            let delta = Int64(u32(data, deltasStart + 8 * run + 4))
            for _ in 0..<count where sample < sampleCount {
                samples[sample].decodeTime = time
                time += delta
                sample += 1
            }
        }
        guard sample == sampleCount else { throw Unsupported("stts times \(sample) of \(sampleCount) samples") }

        // Composition offsets (signed in version 1; version 0 writers put negative ones there too).
        if let ctts = box("ctts") {
            let (runs, start) = try entries(data, ctts, entrySize: 8, name: "ctts")
            sample = 0
            for run in 0..<runs {
                let count = Int(u32(data, start + 8 * run))
                let offset = Int64(Int32(bitPattern: u32(data, start + 8 * run + 4)))
                for _ in 0..<count where sample < sampleCount {
                    samples[sample].compositionOffset = offset
                    sample += 1
                }
            }
        }

        // Sync samples: all of them without `stss`.
        if let stss = box("stss") {
            let (count, start) = try entries(data, stss, entrySize: 4, name: "stss")
            for i in 0..<sampleCount { samples[i].isSync = false }
            for i in 0..<count {
                let number = Int(u32(data, start + 4 * i))
                if number >= 1 && number <= sampleCount { samples[number - 1].isSync = true }
            }
        }
        return (samples, samples.lazy.map(\.size).max() ?? 0)
    }
}
