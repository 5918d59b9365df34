import Foundation
import Testing

/// Runs the built `lookout` executable as a user would: the one beside the test bundle (the same build, whatever
/// `--scratch-path` it used), else `.build/debug/lookout` of this checkout.
enum CLI {
    static let executable: String = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("lookout").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return Fixtures.repository + "/.build/debug/lookout"
    }()

    struct Result {
        var status: Int32
        /// False when a signal ended the process (a crash).
        var exited: Bool
        var stdout: String
        var stderr: String

        var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// Runs `lookout arguments…` with a time limit; stdout and stderr go through files (no pipe can fill up).
    static func run(
        _ arguments: [String], timeout: TimeInterval = 240, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        try #require(
            FileManager.default.isExecutableFile(atPath: executable),
            "\(executable) is missing: build it with `swift build --build-tests` (scripts/test does)",
            sourceLocation: sourceLocation)
        let folder = try Fixtures.temporaryDirectory("cli-output")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let out = folder + "/stdout"
        let err = folder + "/stderr"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["LOOKOUT_MODELS"] = Fixtures.repository + "/Models"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record(
                "lookout \(arguments.joined(separator: " ")) ran past \(timeout) s", sourceLocation: sourceLocation)
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, exited: process.terminationReason == .exit,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// What a crash or a Swift runtime failure prints: never acceptable for a user error.
    static let crashMarkers = [
        "Fatal error", "Program crashed", "Stack dump", "Thread 0", "Backtrace", "Illegal instruction", "Segmentation",
    ]

    /// A user error: non-zero exit, exactly one line on stderr (containing `phrases`), no crash output.
    static func expectOneLineError(
        _ result: Result, _ phrases: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status != 0, "exit status 0", sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        for marker in crashMarkers {
            #expect(!result.stderr.contains(marker), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        }
        for phrase in phrases {
            #expect(
                result.stderr.contains(phrase), "'\(phrase)' missing from stderr: \(result.stderr)",
                sourceLocation: sourceLocation)
        }
        #expect(result.exited, "killed by signal \(result.status)", sourceLocation: sourceLocation)
    }
}
