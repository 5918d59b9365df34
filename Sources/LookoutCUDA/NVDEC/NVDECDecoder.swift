import CLookoutCUDA
import Synchronization

/// One video stream's hardware decoder. NVIDIA's parser takes the stream's packets (Annex-B for H.264 and HEVC)
/// and calls back, inside `decode`, when the sequence header is known (the decoder is created then, sized from the
/// parser's minimum of decode surfaces), when a picture can be decoded (queued on an NVDEC engine) and when one is
/// due for display (kept, in display order, for `takeDisplayed`). A displayed picture is then mapped: NVDEC
/// post-processes it into an NV12 output surface in device memory (`map`), which stays valid, and untouched by
/// later decoding, until `unmap`. At most `outputSurfaces` pictures are mapped at a time.
///
/// `decode`, `takeDisplayed` and `map` belong to the stream's thread; `unmap` may come from any thread (the
/// frame pool returns a surface wherever its last reader finished). Calls into NVDEC are serialised.
package final class NVDECDecoder: @unchecked Sendable {
    // `parser`, `displayed`, `failure`, `format` and the counters are the stream thread's (the parser calls back
    // on that thread, inside `decode`); `decoder` is set once, in the first sequence callback, under `calls`.
    /// A picture due for display.
    package struct Picture: Sendable {
        /// The decode surface it is in.
        package let index: Int32
        /// The time stamp given to `decode` with the packet it came from.
        package let timestamp: Int64
        let progressive: Bool
        let topFieldFirst: Bool
    }

    /// The stream as the parser's sequence header describes it.
    package struct Format: Sendable, Equatable {
        package var codec: NVDECCodec
        package var codedWidth: Int
        package var codedHeight: Int
        /// The displayed picture (the coded picture less its cropping), which the output surfaces hold.
        package var width: Int
        package var height: Int
        package var bitDepth: Int
        package var chroma: NVDECChroma
        package var progressive: Bool
        package var decodeSurfaces: Int
    }

    /// A mapped output surface: NV12, `height` rows of Y then `height / 2` rows of interleaved U V, `pitch` bytes
    /// apart.
    package struct MappedSurface: Sendable {
        package let pointer: DevicePointer
        package let pitch: Int
    }

    package let nvdec: NVDEC
    package let context: CUDAContext
    package let codec: NVDECCodec
    package let outputSurfaces: Int
    /// Where NVDEC's post-processing into output surfaces runs (`map` waits for it).
    let stream: CUDAStream
    private let extraDecodeSurfaces: Int
    private var parser: LookoutCUvideoparser?
    private var decoder: LookoutCUvideodecoder?
    private var lock: LookoutCUvideoctxlock?
    private let calls = Mutex<Void>(())
    private var displayed: [Picture] = []
    private var failure: NVDECError?
    package private(set) var format: Format?
    /// Pictures NVDEC refused to decode or map (corrupt data), and the last of its messages.
    package private(set) var decodeErrors = 0
    package private(set) var lastDecodeError: String?

    /// A parser and (from the first sequence header on) a decoder for `codec`. `outputSurfaces` is how many pictures
    /// may be mapped at once (the stream's frames in flight); `extraDecodeSurfaces` are added to the parser's minimum
    /// so that decoding runs ahead of display. `lowLatency` hands pictures out as soon as they are decoded (live
    /// streams) instead of two behind (files: the engine's queue stays full).
    package init(
        nvdec: NVDEC, context: CUDAContext, codec: NVDECCodec, outputSurfaces: Int, extraDecodeSurfaces: Int = 4,
        lowLatency: Bool = false
    ) throws(NVDECError) {
        self.nvdec = nvdec
        self.context = context
        self.codec = codec
        self.outputSurfaces = max(1, min(outputSurfaces, 64))
        self.extraDecodeSurfaces = max(0, extraDecodeSurfaces)
        displayed.reserveCapacity(32)
        do {
            stream = try CUDAStream(context: context)
            var lock: LookoutCUvideoctxlock? = nil
            try context.api.check(nvdec.api.cuvidCtxLockCreate(&lock, context.handle), "cuvidCtxLockCreate")
            self.lock = lock
        } catch {
            throw NVDECError(.cuda(error))
        }
        var parameters = LookoutCUVIDParserParams()
        parameters.codecType = codec.rawValue
        parameters.maxNumDecodeSurfaces = 1  // the sequence callback returns the real count
        parameters.clockRate = 0
        parameters.errorThreshold = 0
        parameters.maxDisplayDelay = lowLatency ? 0 : 2
        parameters.userData = Unmanaged.passUnretained(self).toOpaque()
        parameters.sequenceCallback = { user, format in
            guard let user, let format else { return 0 }
            return Unmanaged<NVDECDecoder>.fromOpaque(user).takeUnretainedValue().sequence(format.pointee)
        }
        parameters.decodePicture = { user, picture in
            guard let user, let picture else { return 0 }
            return Unmanaged<NVDECDecoder>.fromOpaque(user).takeUnretainedValue().decodePicture(picture)
        }
        parameters.displayPicture = { user, info in
            guard let user else { return 0 }
            // A null picture marks the end of the stream (with CUVID_PKT_NOTIFY_EOS, which Lookout does not ask for).
            guard let info else { return 1 }
            return Unmanaged<NVDECDecoder>.fromOpaque(user).takeUnretainedValue().display(info.pointee)
        }
        var parser: LookoutCUvideoparser? = nil
        let status = nvdec.api.cuvidCreateVideoParser(&parser, &parameters)
        if status != 0 {
            throw NVDECError(.cuda(context.api.error(status, call: "cuvidCreateVideoParser")))
        }
        self.parser = parser
    }

    deinit {
        if let parser { _ = nvdec.api.cuvidDestroyVideoParser(parser) }
        if let decoder {
            try? context.bind()
            _ = nvdec.api.cuvidDestroyDecoder(decoder)
        }
        if let lock { _ = nvdec.api.cuvidCtxLockDestroy(lock) }
    }

    /// Parses one packet (`bytes`, whose pictures carry `timestamp`), which decodes what it completes and queues
    /// the pictures due for display (`takeDisplayed`). `endOfStream` flushes the pictures still held for reordering.
    package func decode(_ bytes: UnsafeRawBufferPointer, timestamp: Int64, endOfStream: Bool = false)
        throws(NVDECError)
    {
        guard let parser else { return }
        var packet = LookoutCUVIDSourceDataPacket()
        packet.payload = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        packet.payloadSize = UInt(bytes.count)
        packet.timestamp = timestamp
        packet.flags = UInt(LookoutPacketTimestamp)
        if endOfStream { packet.flags |= UInt(LookoutPacketEndOfStream) }
        do {
            try context.bind()
        } catch {
            throw NVDECError(.cuda(error))
        }
        let status = calls.withLock { _ in nvdec.api.cuvidParseVideoData(parser, &packet) }
        if let failure {
            self.failure = nil
            throw failure
        }
        if status != 0 {
            // The parser refuses data it cannot make sense of: counted like a corrupt packet of the CPU decoder.
            decodeErrors += 1
            lastDecodeError = "\(context.api.error(status, call: "cuvidParseVideoData"))"
        }
    }

    /// Hands the pictures due for display, in display order, to `body`, and forgets them.
    package func takeDisplayed<E: Error>(_ body: (Picture) throws(E) -> Void) throws(E) {
        defer { displayed.removeAll(keepingCapacity: true) }
        for picture in displayed { try body(picture) }
    }

    /// Post-processes `picture` into an output surface and waits for it there; nil when NVDEC reports the picture
    /// corrupt beyond concealment (counted in `decodeErrors`, as concealed pictures are).
    package func map(_ picture: Picture) throws(NVDECError) -> MappedSurface? {
        guard let decoder else { return nil }
        var parameters = LookoutCUVIDProcParams()
        parameters.progressiveFrame = picture.progressive ? 1 : 0
        parameters.topFieldFirst = picture.topFieldFirst ? 1 : 0
        parameters.outputStream = stream.handle
        var pointer: UInt64 = 0
        var pitch: UInt32 = 0
        let status = calls.withLock { _ in
            nvdec.api.cuvidMapVideoFrame64(decoder, picture.index, &pointer, &pitch, &parameters)
        }
        if status != 0 {
            let error = context.api.error(status, call: "cuvidMapVideoFrame64")
            // Too many surfaces mapped is Lookout's own error, not the stream's.
            if error.code == .invalidValue || error.code == .outOfMemory { throw NVDECError(.cuda(error)) }
            decodeErrors += 1
            lastDecodeError = "\(error)"
            return nil
        }
        do {
            try stream.synchronize()
        } catch {
            _ = calls.withLock { _ in nvdec.api.cuvidUnmapVideoFrame64(decoder, pointer) }
            throw NVDECError(.cuda(error))
        }
        // The picture is decoded by now: NVDEC says whether its data was corrupt. A concealed picture is delivered
        // (as FFmpeg's concealed frames are) and counted; one NVDEC could not conceal is dropped and counted.
        var decoded = LookoutCUVIDGetDecodeStatus()
        let queried = calls.withLock { _ in nvdec.api.cuvidGetDecodeStatus(decoder, picture.index, &decoded) }
        if queried == 0, let corrupt = Self.corruption(Int(decoded.decodeStatus)) {
            decodeErrors += 1
            lastDecodeError = "picture at \(picture.timestamp): \(corrupt)"
            if Int(decoded.decodeStatus) == LookoutDecodeStatusError {
                _ = calls.withLock { _ in nvdec.api.cuvidUnmapVideoFrame64(decoder, pointer) }
                return nil
            }
        }
        return MappedSurface(pointer: DevicePointer(address: pointer), pitch: Int(pitch))
    }

    /// What a picture's decode status says about its data: nil when it decoded cleanly (or the status is unknown).
    static func corruption(_ status: Int) -> String? {
        switch status {
        case LookoutDecodeStatusError: "corrupt data NVDEC could not conceal (picture dropped)"
        case LookoutDecodeStatusErrorConcealed: "corrupt data, concealed by NVDEC"
        default: nil
        }
    }

    /// Returns a mapped output surface to NVDEC. The GPU work that reads it must have completed.
    package func unmap(_ surface: DevicePointer) throws(CUDAError) {
        guard let decoder else { return }
        try context.bind()
        let status = calls.withLock { _ in nvdec.api.cuvidUnmapVideoFrame64(decoder, surface.address) }
        try context.api.check(status, "cuvidUnmapVideoFrame64")
    }

    /// Copies a mapped surface's NV12 picture (`width` × `height`) to host memory at `destination`, rows `pitch`
    /// bytes apart (Y rows, then the interleaved U V rows), and waits for the copy: for checks against the CPU decoder.
    package func download(
        _ surface: MappedSurface, width: Int, height: Int, into destination: UnsafeMutableRawPointer, pitch: Int
    ) throws(CUDAError) {
        try context.bind()
        let rowBytes = (width + 1) & ~1
        precondition(rowBytes <= pitch && rowBytes <= surface.pitch, "a row is wider than its pitch")
        var descriptor = LookoutCUDAMemcpy2D()
        descriptor.srcMemoryType = 2  // CU_MEMORYTYPE_DEVICE
        descriptor.srcDevice = surface.pointer.address
        descriptor.srcPitch = surface.pitch
        descriptor.dstMemoryType = 1  // CU_MEMORYTYPE_HOST
        descriptor.dstHost = destination
        descriptor.dstPitch = pitch
        descriptor.WidthInBytes = rowBytes
        // The output surface is the displayed size rounded up to even: its chroma follows `evenHeight` luma rows.
        let evenHeight = (height + 1) & ~1
        descriptor.Height = height
        try context.api.check(context.api.cuMemcpy2DAsync(&descriptor, stream.handle), "cuMemcpy2DAsync")
        descriptor.srcDevice = surface.pointer.address &+ UInt64(surface.pitch * evenHeight)
        descriptor.dstHost = destination + pitch * height
        descriptor.Height = (height + 1) / 2
        try context.api.check(context.api.cuMemcpy2DAsync(&descriptor, stream.handle), "cuMemcpy2DAsync")
        try stream.synchronize()
    }

    // MARK: Parser callbacks (on the stream's thread, inside `decode`)

    /// The sequence header: creates the decoder the first time; the same format again keeps it. Returns the decode
    /// surfaces to the parser (0 stops it, with `failure` set).
    private func sequence(_ header: LookoutCUVIDEOFormat) -> Int32 {
        let area = header.displayArea
        let described = Format(
            codec: NVDECCodec(rawValue: header.codec) ?? codec, codedWidth: Int(header.codedWidth),
            codedHeight: Int(header.codedHeight), width: Int(area.right - area.left),
            height: Int(area.bottom - area.top), bitDepth: Int(header.bitDepthLumaMinus8) + 8,
            chroma: NVDECChroma(rawValue: header.chromaFormat) ?? .yuv420, progressive: header.progressiveSequence != 0,
            decodeSurfaces: Int(header.minNumDecodeSurfaces) + extraDecodeSurfaces)
        if let format {
            if format == described { return Int32(format.decodeSurfaces) }
            failure = NVDECError(
                .formatChanged(
                    "the stream changed from \(format.width)×\(format.height) \(format.bitDepth)-bit to \(described.width)×\(described.height) \(described.bitDepth)-bit"
                ))
            return 0
        }
        do {
            let caps = try nvdec.capabilities(
                codec: described.codec, chroma: described.chroma, bitDepth: described.bitDepth, context: context)
            if let refusal = caps.refusal(width: described.codedWidth, height: described.codedHeight) {
                failure = NVDECError(.unsupported(refusal))
                return 0
            }
            guard described.bitDepth == 8, described.chroma == .yuv420 else {
                failure = NVDECError(
                    .unsupported(
                        "\(described.codec) \(described.chroma) \(described.bitDepth)-bit: Lookout's GPU letterbox reads 8-bit NV12 only"
                    ))
                return 0
            }
            var info = LookoutCUVIDDecodeCreateInfo()
            info.width = UInt(described.codedWidth)
            info.height = UInt(described.codedHeight)
            info.numDecodeSurfaces = UInt(described.decodeSurfaces)
            info.codecType = described.codec.rawValue
            info.chromaFormat = described.chroma.rawValue
            info.creationFlags = UInt(LookoutCreatePreferCUVID)
            info.bitDepthMinus8 = UInt(described.bitDepth - 8)
            info.maxWidth = UInt(described.codedWidth)
            info.maxHeight = UInt(described.codedHeight)
            info.displayArea = LookoutCUVIDShortRect(
                left: Int16(area.left), top: Int16(area.top), right: Int16(area.right), bottom: Int16(area.bottom))
            info.outputFormat = Int32(LookoutSurfaceNV12)
            info.deinterlaceMode = Int32(described.progressive ? LookoutDeinterlaceWeave : LookoutDeinterlaceAdaptive)
            // Output surfaces hold the displayed picture, rounded up to even (4:2:0 chroma rows and columns).
            info.targetWidth = UInt((described.width + 1) & ~1)
            info.targetHeight = UInt((described.height + 1) & ~1)
            info.numOutputSurfaces = UInt(outputSurfaces)
            info.vidLock = lock
            try context.bind()
            var created: LookoutCUvideodecoder? = nil
            try context.api.check(nvdec.api.cuvidCreateDecoder(&created, &info), "cuvidCreateDecoder")
            // Inside `decode`, which holds `calls`.
            decoder = created
            format = described
            return Int32(described.decodeSurfaces)
        } catch {
            failure = NVDECError(.cuda(error))
            return 0
        }
    }

    private func decodePicture(_ picture: UnsafeMutableRawPointer) -> Int32 {
        guard let decoder else { return 0 }
        let status = nvdec.api.cuvidDecodePicture(decoder, picture)
        if status != 0 {
            decodeErrors += 1
            lastDecodeError = "\(context.api.error(status, call: "cuvidDecodePicture"))"
        }
        // Go on with the next picture either way: the stream recovers at its next keyframe.
        return 1
    }

    private func display(_ info: LookoutCUVIDParserDispInfo) -> Int32 {
        displayed.append(
            Picture(
                index: info.pictureIndex, timestamp: info.timestamp, progressive: info.progressiveFrame != 0,
                topFieldFirst: info.topFieldFirst != 0))
        return 1
    }
}

/// A failed NVDEC step: a CUDA status (with the driver's name and text), a stream NVDEC cannot decode here, or a
/// stream whose format changed under a decoder made for the old one.
package struct NVDECError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable {
        case cuda(CUDAError)
        case unsupported(String)
        case formatChanged(String)
    }
    package let kind: Kind

    package init(_ kind: Kind) { self.kind = kind }

    package var description: String {
        switch kind {
        case .cuda(let error): return "\(error)"
        case .unsupported(let why): return "NVDEC cannot decode it: \(why)"
        case .formatChanged(let what): return "\(what), which one NVDEC decoder does not follow"
        }
    }
}
