#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Facts about the machine that devices, logs and reports name.
package enum SystemInfo {
    /// The CPU's model name from /proc/cpuinfo and the number of logical CPUs, e.g. "AMD EPYC (2 threads)".
    package static let cpuDescription: String = {
        var name = "unknown CPU"
        if let text = FileBytes.readText("/proc/cpuinfo"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let colon = line.firstIndex(of: ":")
        {
            name = String(line[line.index(after: colon)...]).trimmedWhitespace
        }
        return "\(name) (\(activeProcessorCount) threads)"
    }()

    /// The kernel release, e.g. "linux 6.1.0-18-amd64": the "driver" of CPU-only reports.
    package static let kernelRelease: String = {
        if let text = FileBytes.readText("/proc/sys/kernel/osrelease") { return "linux " + text.trimmedWhitespace }
        return "unknown"
    }()

    /// Logical CPUs this process may run on.
    package static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Every environment variable of the process.
    package static var environmentVariables: [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }

    /// An environment variable, nil when unset or empty.
    package static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    package var trimmedWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
