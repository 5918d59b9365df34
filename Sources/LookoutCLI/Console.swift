import ArgumentParser
import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Output helpers shared by the commands: one-line errors on stderr, notes, and the libraries' errors in the
/// CLI's own words (flags instead of API parameter names).
enum Console {
    static func error(_ message: String) { StandardStreams.error("error: \(message)\n") }
    static func note(_ message: String) { StandardStreams.error("\(message)\n") }

    /// Prints `message` as an error line and stops the command with a non-zero exit status.
    static func fail(_ message: String) -> ExitCode {
        error(message)
        return ExitCode.failure
    }

    /// The same for a library error: its message with API parameter names replaced by the command's flags.
    static func fail(_ error: any Error) -> ExitCode { fail(message(error)) }

    /// A library error's text as the CLI says it: each `` `parameter` `` of a `LookoutError` becomes its flag.
    static func message(_ error: any Error) -> String {
        guard let error = error as? LookoutError else { return "\(error)" }
        return Flags.rewrite(error.message)
    }

    static var stderrIsTerminal: Bool { StandardStreams.errorIsTerminal }
}

/// The flags of the API parameters that errors name.
enum Flags {
    static let byParameter: [String: String] = [
        "confidence": "--conf", "iou": "--iou", "maxDetections": "--max-det", "imageSize": "--imgsz",
        "device": "--device", "maxBatch": "--batch", "batch": "--batch", "maxDelayMilliseconds": "--max-delay-ms",
        "depth": "--depth", "transferMode": "--mode", "frameFormat": "--frame-format",
        "framesPerStream": "--frames-per-stream", "liveQueueFrames": "--live-queue", "iterations": "--iterations",
        "warmup": "--warmup", "sources": "SOURCE", "resolution": "--resolution", "staging": "--staging",
        "classes": "--classes", "agnostic": "--agnostic-nms", "videoStride": "--vid-stride",
        "lineWidth": "--line-width",
    ]

    /// `message` with every `` `name` `` replaced by its flag (or the bare name when it has none).
    static func rewrite(_ message: String) -> String {
        var out = ""
        var rest = Substring(message)
        while let open = rest.firstIndex(of: "`") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "`") else {
                out += rest[open...]
                return out
            }
            let name = String(after[..<close])
            out += byParameter[name] ?? name
            rest = after[after.index(after: close)...]
        }
        return out + rest
    }
}

/// Writes lines to a file or standard output (`-`), flushing each one.
final class LineWriter: @unchecked Sendable {
    // The FILE stream is only written under `lock`.
    private let file: UnsafeMutablePointer<FILE>
    private let closeAtEnd: Bool
    private let lock = Lock()

    init(path: String) throws(FileError) {
        if path == "-" {
            file = fdopen(1, "w")!
            closeAtEnd = false
        } else {
            try Paths.createDirectories(Paths.directory(of: path))
            guard let opened = fopen(path, "w") else {
                throw FileError(path: path, operation: "cannot write", errno: errno)
            }
            file = opened
            closeAtEnd = true
        }
    }

    func write(_ line: String) {
        lock.withLock {
            fputs(line + "\n", file)
            fflush(file)
        }
    }

    deinit {
        if closeAtEnd { fclose(file) }
    }
}
