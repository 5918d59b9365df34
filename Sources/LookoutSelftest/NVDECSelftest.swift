import LookoutCUDA
import LookoutCore
import LookoutMedia
import LookoutPipeline

/// NVDEC against FFmpeg's software decoder: every frame of each clip decoded both ways into NV12 must be identical
/// byte for byte (per-frame CRC-32 of the Y and interleaved U V rows). Ships in the binary (`lookout selftest --gpu
/// --pipeline`), since the GPU machine has no Swift toolchain.
package struct NVDECSelftest: Sendable {
    package var videos: [String]
    package var ordinal = 0
    package var log: @Sendable (String) -> Void = { print($0) }

    package init(videos: [String]) { self.videos = videos }

    /// One clip's comparison.
    package struct Outcome: Sendable {
        package var name: String
        package var passed: Bool
        package var lines: [String]
    }

    package func run() -> [Outcome] {
        let nvdec: NVDEC
        let context: CUDAContext
        switch (CUDA.load(), NVDEC.load()) {
        case (.success(let driver), .success(let loaded)):
            do { context = try CUDAContext(driver: driver, ordinal: ordinal) } catch {
                return [Outcome(name: "nvdec", passed: false, lines: ["FAIL nvdec: \(error)"])]
            }
            nvdec = loaded
        case (.failure(let error), _):
            return [Outcome(name: "nvdec", passed: false, lines: ["FAIL nvdec: \(error)"])]
        case (_, .failure(let error)):
            return [Outcome(name: "nvdec", passed: false, lines: ["FAIL nvdec: \(error)"])]
        }
        log("NVDEC: \(nvdec.path) on \(context.device)")
        return videos.map { video in
            do { return try compare(video, nvdec: nvdec, context: context) } catch {
                return Outcome(name: "nvdec \(video)", passed: false, lines: ["FAIL nvdec \(video): \(error)"])
            }
        }
    }

    /// CRC-32 of each frame's NV12 rows (pitch = the width rounded up to even) from FFmpeg, then from NVDEC.
    func compare(_ video: String, nvdec: NVDEC, context: CUDAContext) throws -> Outcome {
        var software: [UInt32] = []
        let cpu = try VideoDecoder(url: video)
        let width = cpu.info.width
        let height = cpu.info.height
        let pitch = (width + 1) & ~1
        let bytes = pitch * (height + (height + 1) / 2)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
        defer { buffer.deallocate() }
        while try cpu.next() != nil {
            try cpu.convertNV12(into: buffer.baseAddress!, pitch: pitch)
            software.append(Checksum.crc32(UnsafeRawBufferPointer(buffer)))
        }
        let reader = try VideoPacketReader(url: video)
        guard let codec = NVDECCodec(reader.parameters.codec) else {
            throw LookoutError(.invalidInput, "\(video): NVDEC does not decode \(reader.parameters.codec)")
        }
        let decoder = try NVDECDecoder(nvdec: nvdec, context: context, codec: codec, outputSurfaces: 2)
        var hardware: [UInt32] = []
        var ended = false
        while !ended {
            ended = try !decoder.decodeNextPacket(from: reader)
            try decoder.takeDisplayed { picture in
                guard let surface = try decoder.map(picture) else {
                    hardware.append(0)
                    return
                }
                defer { try? decoder.unmap(surface.pointer) }
                try decoder.download(surface, width: width, height: height, into: buffer.baseAddress!, pitch: pitch)
                hardware.append(Checksum.crc32(UnsafeRawBufferPointer(buffer)))
            }
        }
        let same = zip(software, hardware).filter { $0 == $1 }.count
        let firstDifference = zip(software, hardware).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        let passed = same == software.count && hardware.count == software.count && !software.isEmpty
        let name = "nvdec \(video)"
        let line =
            (passed ? "PASS " : "FAIL ")
            + "\(name): \(reader.parameters.codec) \(width)×\(height), \(same)/\(software.count) frames identical to FFmpeg's NV12 "
            + "(NVDEC gave \(hardware.count) frames, \(decoder.decodeErrors) decode errors"
            + (firstDifference.map { "; first difference at frame \($0)" } ?? "") + ")"
        return Outcome(name: name, passed: passed, lines: [line])
    }
}
