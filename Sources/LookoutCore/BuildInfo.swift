import Foundation

/// Facts about this build and machine that benchmark reports record.
public enum BuildInfo {
    /// The git commit: `LOOKOUT_COMMIT` when set (the GPU machine gets a copy without `.git`), else
    /// `git rev-parse --short HEAD` in the working directory, else "unknown".
    public static let commit: String = {
        if let env = ProcessInfo.processInfo.environment["LOOKOUT_COMMIT"], !env.isEmpty { return env }
        return runGit(["rev-parse", "--short=12", "HEAD"]) ?? "unknown"
    }()

    /// The CPU's model name from /proc/cpuinfo and the number of logical CPUs, e.g. "AMD EPYC (2 threads)".
    public static let cpuDescription: String = {
        var name = "unknown CPU"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            name = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return "\(name) (\(ProcessInfo.processInfo.activeProcessorCount) threads)"
    }()

    /// The kernel release, used as the "driver" of CPU-only reports.
    public static let kernel: String = {
        if let text = try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8) {
            return "linux " + text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return "unknown"
    }()

    private static func runGit(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
