import Foundation
import LookoutCUDABackend
import LookoutMedia
import LookoutTestSupport
import Testing

@Suite struct VideoDecoderTests {
    /// Decodes every frame; converts every `convertEvery`-th into a BGR buffer.
    func decodeAll(_ path: String, convertEvery: Int = 0) throws -> (info: VideoStreamInfo, frames: [DecodedFrame]) {
        let decoder = try VideoDecoder(url: path)
        var frames: [DecodedFrame] = []
        var buffer = [UInt8](repeating: 0, count: decoder.info.width * decoder.info.height * 3)
        while let frame = try decoder.next() {
            if convertEvery > 0 && frame.index % convertEvery == 0 {
                try buffer.withUnsafeMutableBytes { bytes in
                    try decoder.convert(into: bytes.baseAddress!, rowBytes: frame.width * 3)
                }
            }
            frames.append(frame)
        }
        #expect(decoder.decodeErrors == 0)
        return (decoder.info, frames)
    }

    @Test func the1080pFixtureDecodesEveryFrameWithMonotonicPTS() throws {
        let (info, frames) = try decodeAll(Fixtures.video1080p, convertEvery: 50)
        #expect(info.width == 1920 && info.height == 1080)
        #expect(info.codec == "h264")
        #expect(info.frameCount == 300)
        #expect(frames.count == 300)
        #expect(frames.map(\.index) == Array(0..<300))
        let pts = frames.compactMap(\.pts)
        #expect(pts.count == 300)
        #expect(zip(pts, pts.dropFirst()).allSatisfy { $0 < $1 })
        #expect(abs(pts[0]) < 1e-9)
        #expect(abs(pts[299] - 299.0 / 30) < 1e-6)
    }

    @Test func theSmallFixtureDecodesEveryFrame() throws {
        let (info, frames) = try decodeAll(Fixtures.video640, convertEvery: 1)
        #expect(info.width == 640 && info.height == 384)
        #expect(info.frameRate == 15)
        #expect(frames.count == 30)
        let pts = frames.compactMap(\.pts)
        #expect(zip(pts, pts.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func convertedPixelsAreTheFramesColours() throws {
        // The first frame's top-left is the panning photo; a solid-colour check would be brittle, so compare the
        // conversion against itself across buffers with padded rows: the padding must stay untouched.
        let decoder = try VideoDecoder(url: Fixtures.video640)
        let frame = try #require(try decoder.next())
        let rowBytes = frame.width * 3 + 16
        var padded = [UInt8](repeating: 0xAB, count: rowBytes * frame.height)
        var tight = [UInt8](repeating: 0, count: frame.width * 3 * frame.height)
        try padded.withUnsafeMutableBytes { try decoder.convert(into: $0.baseAddress!, rowBytes: rowBytes) }
        try tight.withUnsafeMutableBytes { try decoder.convert(into: $0.baseAddress!, rowBytes: frame.width * 3) }
        for y in [0, frame.height / 2, frame.height - 1] {
            #expect(
                Array(padded[(y * rowBytes)..<(y * rowBytes + frame.width * 3)])
                    == Array(tight[(y * frame.width * 3)..<((y + 1) * frame.width * 3)]))
            #expect(padded[y * rowBytes + frame.width * 3..<(y + 1) * rowBytes].allSatisfy { $0 == 0xAB })
        }
        #expect(Set(tight.prefix(3000)).count > 20)
    }

    @Test func nv12FramesCarryTheDecodersPlanesAndDecodeToTheBGRColours() throws {
        // NV12 is what the GPU-letterbox modes pool: the decoder's own Y and chroma (no colour conversion on the CPU).
        // Decoded with OpenCV's NV12 formula (the GPU letterbox's), it must give swscale's BGR within a level or two.
        let decoder = try VideoDecoder(url: Fixtures.video640)
        let frame = try #require(try decoder.next())
        let (w, h) = (frame.width, frame.height)
        var bgr = [UInt8](repeating: 0, count: w * h * 3)
        try bgr.withUnsafeMutableBytes { try decoder.convert(into: $0.baseAddress!, rowBytes: w * 3) }
        var nv12 = [UInt8](repeating: 0xAB, count: w * h * 3 / 2 + 64)
        try nv12.withUnsafeMutableBytes { try decoder.convertNV12(into: $0.baseAddress!, pitch: w) }
        #expect(nv12[(w * h * 3 / 2)...].allSatisfy { $0 == 0xAB }, "nothing past the frame is written")
        let decoded = PixelFormatReference.decodeToBGR(nv12, format: .nv12, width: w, height: h, pitch: w)
        var total = 0
        var worst = 0
        for (a, b) in zip(decoded, bgr) {
            let d = abs(Int(a) - Int(b))
            total += d
            worst = max(worst, d)
        }
        let mean = Double(total) / Double(bgr.count)
        #expect(mean < 1.5, "mean |Δ| \(mean), worst \(worst)")
    }

    @Test func encodedVideoDecodesBackWithEveryFrame() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.mp4"
        let encoder = try VideoEncoder(path: path, width: 160, height: 96, frameRate: 15)
        var pixels = [UInt8](repeating: 0, count: 160 * 96 * 3)
        for i in 0..<12 {
            for j in pixels.indices { pixels[j] = UInt8(truncatingIfNeeded: j / 7 + i * 20) }
            try pixels.withUnsafeBytes {
                try encoder.append(bgr: $0.baseAddress!, rowBytes: 160 * 3, seconds: Double(i) / 15)
            }
        }
        try encoder.finish()
        #expect(VideoEncoder.preferredEncoders.contains(encoder.encoderName))
        let (info, frames) = try decodeAll(path)
        #expect(info.width == 160 && info.height == 96)
        #expect(frames.count == 12)
    }

    @Test func aTruncatedFileFailsToOpenWithFFmpegsReason() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.video640))
        let path = dir + "/truncated.mp4"
        try bytes.prefix(bytes.count * 2 / 5).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: VideoError.self) { _ = try VideoDecoder(url: path) }
        #expect(error?.code == .open)
        #expect(error?.description.hasPrefix(path + ": cannot open (avformat_open_input: ") == true)
    }

    @Test func garbageIsNotAVideo() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/garbage.mp4"
        var generator = SystemRandomNumberGenerator()
        try Data((0..<50_000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(
            to: URL(fileURLWithPath: path))
        let error = #expect(throws: VideoError.self) { _ = try VideoDecoder(url: path) }
        #expect(error?.code == .open || error?.code == .noVideo)
    }

    @Test func aMissingFileSaysSo() {
        let error = #expect(throws: VideoError.self) { _ = try VideoDecoder(url: "/nonexistent/cam.mp4") }
        #expect(
            error?.description == "/nonexistent/cam.mp4: cannot open (avformat_open_input: No such file or directory)")
    }

    @Test func stopInterruptsABlockedOpen() async throws {
        // A TCP listener that accepts and never answers: the RTSP handshake blocks until the interrupt fires.
        let listener = try LoopbackListener()
        defer { listener.close() }
        let interrupt = VideoInterrupt()
        // A plain thread: the cooperative pool may be busy with other tests' blocking work.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.3)
            interrupt.stop()
        }
        let start = Date()
        var options = VideoInputOptions()
        options.openTimeout = 20
        let error = #expect(throws: VideoError.self) {
            _ = try VideoDecoder(url: "rtsp://127.0.0.1:\(listener.port)/live", options: options, interrupt: interrupt)
        }
        #expect(error?.code == .stopped)
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
