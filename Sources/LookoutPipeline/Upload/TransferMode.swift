import LookoutCore

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
    /// Frames decoded by NVDEC into device memory, read in place by the GPU letterbox: only the compressed packets
    /// cross from the host. A stream that NVDEC cannot decode falls back to the CPU decoder and uploads as in
    /// `pinnedRaw`.
    case device

    /// The modes that bring host frames to the GPU (`all` in lists; what `bench transfer` and the pipeline
    /// self-test compare): every mode but `device`, whose frames never were on the host.
    public static let hostModes: [TransferMode] = [.pageable, .pinned, .pinnedRaw, .mapped, .managed]

    /// Parses a comma-separated list (`all` for every mode).
    public static func parseList(_ text: String) throws(LookoutError) -> [TransferMode] {
        if text == "all" { return hostModes }
        var modes: [TransferMode] = []
        for part in text.split(separator: ",") {
            guard let mode = TransferMode(rawValue: part.trimmedWhitespace) else { throw unknown(String(part)) }
            if !modes.contains(mode) { modes.append(mode) }
        }
        if modes.isEmpty { throw unknown(text) }
        return modes
    }

    static func unknown(_ text: String) -> LookoutError {
        LookoutError(
            .invalidArgument,
            "unknown transfer mode '\(text)': use \(allCases.map(\.rawValue).joined(separator: ", ")) or all (every mode but device)",
            parameter: "transferMode")
    }

    /// Whether the CPU letterboxes (else the GPU does, from raw pixels).
    public var preprocessesOnCPU: Bool { self == .pageable || self == .pinned }
}
