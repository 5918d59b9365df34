/// Length-prefixed H.264/HEVC samples (MP4's `avcC`/`hvcC` framing) to Annex-B, by the rules of FFmpeg's
/// `h264_mp4toannexb` and `hevc_mp4toannexb` filters, so that `VideoPacketReader` gives the same bytes whether a
/// packet came through FFmpeg or from its own MP4 reads:
///
/// - H.264 (FFmpeg 5.1's rules): a 4-byte start code before SPS/PPS units and a unit that starts the output, a 3-byte
///   one before the others; the configuration's SPS and PPS before the first IDR slice of an IDR picture that brings
///   none of its own (only the PPS when it brought an SPS; the configuration's SPS before an in-band PPS that came
///   without one); units of length 0 dropped; the state kept across packets changes only when a packet converts.
/// - HEVC: a 4-byte start code before every NAL unit; the configuration's VPS/SPS/PPS (and SEI) before the packet's
///   first IRAP NAL unit (types 16 to 23).
///
/// The output goes into a buffer the converter owns and grows only when a packet is larger than any before it.
/// Malformed packets (a NAL unit's length past the packet's end) are errors for both codecs, where FFmpeg's HEVC
/// filter gives out what is there.
struct AnnexBConverter: ~Copyable {
    enum Codec { case h264, hevc }

    /// Not length-prefixed NAL units as the configuration says (a NAL unit runs past the packet).
    struct Malformed: Error {}

    let codec: Codec
    let lengthSize: Int
    /// The configuration's parameter sets in Annex-B (the filter's output `extradata`).
    private let parameterSets: [UInt8]
    /// H.264: where the configuration's SPS units and its PPS units are in `parameterSets` (nil: none of that kind).
    private let sps: Range<Int>?
    private let pps: Range<Int>?
    // H.264's state across packets, as the filter keeps it.
    private var newIDR = true
    private var idrSPSSeen = false
    private var idrPPSSeen = false

    private var buffer: UnsafeMutableRawBufferPointer
    /// Bytes of the last converted packet at the start of `buffer`.
    private(set) var count = 0

    /// A converter for a stream whose container configuration is `configuration` (the `avcC`/`hvcC` record as
    /// FFmpeg's `extradata` holds it); nil when it is not a length-prefixed configuration this converter reads (then
    /// the stream is Annex-B already, or malformed). `capacity`: the output bytes to reserve.
    init?(codec: Codec, configuration: [UInt8], capacity: Int) {
        guard let parsed = Self.parameterSets(codec, configuration) else { return nil }
        self.codec = codec
        (lengthSize, parameterSets, sps, pps) = parsed
        buffer = .allocate(byteCount: max(capacity, 64), alignment: 16)
    }

    /// The NAL length size and the parameter sets in Annex-B of an `avcC`/`hvcC` record (with, for H.264, where its
    /// SPS units and PPS units are in them); nil when the record is not one.
    private static func parameterSets(_ codec: Codec, _ configuration: [UInt8])
        -> (lengthSize: Int, annexB: [UInt8], sps: Range<Int>?, pps: Range<Int>?)?
    {
        var annexB: [UInt8] = []
        var sps: Range<Int>?
        var pps: Range<Int>?
        var at: Int
        let lengthSize: Int
        func unit(_ size: Int) -> Bool {
            guard at + size <= configuration.count else { return false }
            annexB += [0, 0, 0, 1]
            annexB += configuration[at..<(at + size)]
            at += size
            return true
        }
        func be16(_ i: Int) -> Int { Int(configuration[i]) << 8 | Int(configuration[i + 1]) }
        switch codec {
        case .h264:
            // avcC: version, profile, compatibility, level, length size − 1, SPS count, SPS units (16-bit sizes),
            // PPS count, PPS units.
            guard configuration.count >= 6, configuration[0] == 1 else { return nil }
            lengthSize = Int(configuration[4] & 3) + 1
            at = 6
            for _ in 0..<Int(configuration[5] & 0x1f) {
                guard at + 2 <= configuration.count else { return nil }
                at += 2
                guard unit(be16(at - 2)) else { return nil }
            }
            if !annexB.isEmpty { sps = 0..<annexB.count }
            if at < configuration.count {
                let count = Int(configuration[at])
                at += 1
                let start = annexB.count
                for _ in 0..<count {
                    guard at + 2 <= configuration.count else { return nil }
                    at += 2
                    guard unit(be16(at - 2)) else { return nil }
                }
                if count > 0 { pps = start..<annexB.count }
            }
        case .hevc:
            // hvcC: 21 bytes of profile and format, length size − 1, array count, arrays of (type, count, units).
            guard configuration.count >= 23, configuration[0] == 1 else { return nil }
            lengthSize = Int(configuration[21] & 3) + 1
            at = 23
            for _ in 0..<Int(configuration[22]) {
                guard at + 3 <= configuration.count else { return nil }
                let count = be16(at + 1)
                at += 3
                for _ in 0..<count {
                    guard at + 2 <= configuration.count else { return nil }
                    at += 2
                    guard unit(be16(at - 2)) else { return nil }
                }
            }
        }
        return (lengthSize, annexB, sps, pps)
    }

    deinit { buffer.deallocate() }

    /// The configuration's parameter sets in Annex-B (what the filter's `extradata` is).
    var annexBParameterSets: [UInt8] { parameterSets }

    /// The last converted packet's bytes (valid until the next `convert`).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

    /// Forgets the state across packets (a seek: the filter's flush).
    mutating func reset() {
        newIDR = true
        idrSPSSeen = false
        idrPPSSeen = false
    }

    /// Converts one packet into `bytes`. Throws `Malformed` (and `bytes` is empty) when a NAL unit's length runs
    /// past the packet; the state across packets keeps what the units before it changed, as the filter's does.
    mutating func convert(_ packet: UnsafeRawBufferPointer) throws(Malformed) {
        count = 0
        do {
            switch codec {
            case .h264: try convertH264(packet)
            case .hevc: try convertHEVC(packet)
            }
        } catch {
            count = 0
            throw error
        }
    }

    /// Calls `body` with each NAL unit's bytes (the range in `packet` after its length), in order; throws at the
    /// first that runs past the packet. H.264's filter fails an empty packet; HEVC's gives it out empty.
    private static func forEachUnit(
        _ packet: UnsafeRawBufferPointer, lengthSize: Int, emptyIsMalformed: Bool, _ body: (Range<Int>) -> Void
    ) throws(Malformed) {
        if packet.isEmpty && emptyIsMalformed { throw Malformed() }
        var at = 0
        while at < packet.count {
            guard at + lengthSize <= packet.count else { throw Malformed() }
            var size = 0
            for i in 0..<lengthSize { size = size << 8 | Int(packet[at + i]) }
            at += lengthSize
            guard size <= packet.count - at else { throw Malformed() }
            body(at..<(at + size))
            at += size
        }
    }

    private mutating func convertH264(_ packet: UnsafeRawBufferPointer) throws(Malformed) {
        let (sps, pps, idr, slice): (UInt8, UInt8, UInt8, UInt8) = (7, 8, 5, 1)
        // The state changes only when the whole packet converts.
        var (newIDR, spsSeen, ppsSeen) = (self.newIDR, idrSPSSeen, idrPPSSeen)
        try Self.forEachUnit(packet, lengthSize: lengthSize, emptyIsMalformed: true) { unit in
            // Units of length 0 are dropped.
            guard !unit.isEmpty else { return }
            let type = packet[unit.lowerBound] & 0x1f
            if type == sps {
                spsSeen = true
                newIDR = true
            } else if type == pps {
                ppsSeen = true
                newIDR = true
                // An in-band PPS without an SPS before it gets the configuration's SPS in front.
                if !spsSeen, let configured = self.sps {
                    append(parameterSets: configured)
                    spsSeen = true
                }
            }
            // An IDR slice with first_mb_in_slice 0 (the byte after the header, 0 past the packet) starts a picture.
            let next = unit.lowerBound + 1 < packet.count ? packet[unit.lowerBound + 1] : 0
            if !newIDR && type == idr && next & 0x80 != 0 { newIDR = true }
            if newIDR && type == idr && !spsSeen && !ppsSeen {
                append(parameterSets: 0..<parameterSets.count)
                newIDR = false
            } else if newIDR && type == idr && spsSeen && !ppsSeen, let configured = self.pps {
                append(parameterSets: configured)
            }
            append(unit: unit, of: packet, longStartCode: type == sps || type == pps)
            if !newIDR && type == slice {
                newIDR = true
                spsSeen = false
                ppsSeen = false
            }
        }
        (self.newIDR, idrSPSSeen, idrPPSSeen) = (newIDR, spsSeen, ppsSeen)
    }

    private mutating func convertHEVC(_ packet: UnsafeRawBufferPointer) throws(Malformed) {
        var gotIRAP = false
        try Self.forEachUnit(packet, lengthSize: lengthSize, emptyIsMalformed: false) { unit in
            // The byte after the length, as the filter peeks it (0 past the packet).
            let type = ((unit.lowerBound < packet.count ? packet[unit.lowerBound] : 0) >> 1) & 0x3f
            let isIRAP = (16...23).contains(type)
            if isIRAP && !gotIRAP { append(parameterSets: 0..<parameterSets.count) }
            gotIRAP = gotIRAP || isIRAP
            append(unit: unit, of: packet, longStartCode: true)
        }
    }

    /// Appends `parameterSets[sets]` (start codes included).
    private mutating func append(parameterSets sets: Range<Int>) {
        reserve(count + sets.count)
        parameterSets.withUnsafeBytes { all in
            buffer.baseAddress!.advanced(by: count).copyMemory(
                from: all.baseAddress!.advanced(by: sets.lowerBound), byteCount: sets.count)
        }
        count += sets.count
    }

    /// Appends a start code (4 bytes when `longStartCode` or nothing is in the output yet, else 3) and the unit.
    private mutating func append(unit: Range<Int>, of packet: UnsafeRawBufferPointer, longStartCode: Bool) {
        let startCode = longStartCode || count == 0 ? 4 : 3
        reserve(count + startCode + unit.count)
        let out = buffer.baseAddress!.advanced(by: count).assumingMemoryBound(to: UInt8.self)
        out[0] = 0
        out[1] = 0
        if startCode == 4 {
            out[2] = 0
            out[3] = 1
        } else {
            out[2] = 1
        }
        count += startCode
        if !unit.isEmpty {
            buffer.baseAddress!.advanced(by: count).copyMemory(
                from: packet.baseAddress!.advanced(by: unit.lowerBound), byteCount: unit.count)
        }
        count += unit.count
    }

    /// Grows `buffer` (keeping its first `count` bytes) to hold `bytes`, doubling.
    private mutating func reserve(_ bytes: Int) {
        guard bytes > buffer.count else { return }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, buffer.count * 2), alignment: 16)
        grown.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: count)
        buffer.deallocate()
        buffer = grown
    }
}
