#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes to standard error and standard output through the file descriptors, whole lines at a time (so lines from
/// several threads never interleave within a line).
package enum StandardStreams {
    package static func error(_ text: String) { write(2, text) }
    package static func output(_ text: String) { write(1, text) }

    /// Whether standard error is a terminal (a status line makes sense there).
    package static var errorIsTerminal: Bool { isatty(2) != 0 }

    static func write(_ descriptor: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
