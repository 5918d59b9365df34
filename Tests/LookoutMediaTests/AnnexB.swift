import Foundation
import Testing

@testable import LookoutMedia

/// Reading Annex-B byte streams in the packet reader's tests.
enum AnnexB {
    /// One packet as the tests look at it (a `VideoPacket` is only lent until the next `next()`).
    struct Packet {
        var bytes: [UInt8]
        var isKeyFrame: Bool
        var pts: Double?
        var timestamp: Int64?
    }

    /// Every packet left in `reader`, copied.
    static func packets(_ reader: VideoPacketReader) throws -> [Packet] {
        var packets: [Packet] = []
        while let packet = try reader.next() {
            let bytes = packet.withUnsafeBytes { [UInt8]($0) }
            packets.append(
                Packet(bytes: bytes, isKeyFrame: packet.isKeyFrame, pts: packet.pts, timestamp: packet.timestamp))
        }
        return packets
    }

    /// Whether `bytes` opens with a 3- or 4-byte start code.
    static func startsWithStartCode(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0, 0, 1]) || bytes.starts(with: [0, 0, 0, 1])
    }

    /// The NAL unit types after each start code (00 00 01, which also ends 00 00 00 01). Emulation prevention keeps
    /// the pattern out of NAL payloads.
    static func nalTypes(_ bytes: [UInt8], hevc: Bool) -> [Int] {
        var types: [Int] = []
        var i = 0
        while i + 3 < bytes.count {
            if bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 1 {
                let header = Int(bytes[i + 3])
                types.append(hevc ? (header >> 1) & 0x3F : header & 0x1F)
                i += 3
            } else {
                i += 1
            }
        }
        return types
    }
}

/// The ffmpeg CLI (scripts/install-deps installs it, with libx265), making clips and reference streams at test time.
enum FFmpegCLI {
    /// Runs `ffmpeg -hide_banner -loglevel error -nostdin -y` with `arguments`; fails the test with ffmpeg's own
    /// message when it exits non-zero or is missing.
    static func run(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(
            process.terminationStatus == 0,
            "ffmpeg \(arguments.joined(separator: " ")) failed (scripts/install-deps installs the CLI): \(message)",
            sourceLocation: sourceLocation)
    }
}

extension Fixtures {
    /// A fresh empty directory under the system's temporary folder.
    static func temporaryDirectory(_ label: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
