import ArgumentParser
import Foundation

/// Output helpers shared by the commands: one-line errors on stderr, flushed progress.
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// Prints `message` and stops the command with a non-zero exit status.
    static func fail(_ message: String) -> ExitCode {
        error(message)
        return ExitCode.failure
    }

    static var stderrIsTerminal: Bool { isatty(2) != 0 }
}

/// Writes lines to a file or standard output (`-`), flushing each one.
final class LineWriter {
    private let handle: FileHandle
    private let closeAtEnd: Bool

    init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardOutput
            closeAtEnd = false
        } else {
            let url = URL(fileURLWithPath: path)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
            handle = try FileHandle(forWritingTo: url)
            closeAtEnd = true
        }
    }

    func write(_ line: String) {
        handle.write(Data((line + "\n").utf8))
    }

    deinit {
        if closeAtEnd { try? handle.close() }
    }
}
