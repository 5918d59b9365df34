/// How a frame's pixels reach the GPU (DESIGN.md, "Transfer modes").
public enum TransferMode: String, CaseIterable, Sendable {
    /// CPU letterbox to float32 CHW in ordinary memory, synchronous copy: the baseline.
    case pageable
    /// The same CPU work into pinned buffers, asynchronous copy on a copy stream overlapping the next frame.
    case pinned
    /// Raw uint8 frame from pinned memory, asynchronous copy, letterbox on the GPU.
    case pinnedRaw = "pinned-raw"
    /// The GPU letterbox reads the raw frame in mapped host memory in place: no copy call.
    case mapped
    /// Raw frame in unified memory, prefetched to the GPU before the letterbox and back after.
    case managed

    /// Parses a comma-separated list (`all` for every mode).
    public static func parseList(_ text: String) throws(TransferModeError) -> [TransferMode] {
        if text == "all" { return allCases }
        var modes: [TransferMode] = []
        for part in text.split(separator: ",") {
            guard let mode = TransferMode(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                throw TransferModeError(text: String(part))
            }
            if !modes.contains(mode) { modes.append(mode) }
        }
        if modes.isEmpty { throw TransferModeError(text: text) }
        return modes
    }

    /// Whether the CPU letterboxes (else the GPU does, from raw pixels).
    public var preprocessesOnCPU: Bool { self == .pageable || self == .pinned }
}

public struct TransferModeError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public var description: String {
        "unknown transfer mode '\(text)': use \(TransferMode.allCases.map(\.rawValue).joined(separator: ", ")) or all"
    }
}

/// A frame size given as `1080p`, `720p`, `4k` or `WxH`.
public struct Resolution: Hashable, Sendable, CustomStringConvertible {
    public let width: Int
    public let height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public init(parsing text: String) throws(ResolutionError) {
        switch text.lowercased() {
        case "720p": self.init(width: 1280, height: 720)
        case "1080p": self.init(width: 1920, height: 1080)
        case "4k", "2160p": self.init(width: 3840, height: 2160)
        default:
            let parts = text.lowercased().split(separator: "x")
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0, w <= 16384, h <= 16384 else {
                throw ResolutionError(text: text)
            }
            self.init(width: w, height: h)
        }
    }
    /// "1920x1080".
    public var description: String { "\(width)x\(height)" }
}

public struct ResolutionError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public var description: String { "bad resolution '\(text)': use 720p, 1080p, 4k or WIDTHxHEIGHT" }
}

import Foundation
