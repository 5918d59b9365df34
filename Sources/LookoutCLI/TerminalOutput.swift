import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// Standard error shared by event lines and the live status line: an event clears the status line, prints
/// itself, and the status line comes back at the next update.
final class TerminalOutput: @unchecked Sendable {
    // `showing` is only touched under `lock`.
    let statusEnabled: Bool
    private let lock = Lock()
    private var showing = false

    init(statusEnabled: Bool) {
        self.statusEnabled = statusEnabled
    }

    func note(_ message: String) {
        lock.withLock {
            let clear = showing ? "\r\u{1B}[K" : ""
            showing = false
            StandardStreams.error(clear + message + "\n")
        }
    }

    func status(_ line: String) {
        lock.withLock {
            let width = TerminalOutput.columns
            let shown = line.count > width - 1 ? String(line.prefix(width - 1)) : line
            StandardStreams.error("\r\u{1B}[K" + shown)
            showing = true
        }
    }

    func clearStatus() {
        lock.withLock {
            if showing { StandardStreams.error("\r\u{1B}[K") }
            showing = false
        }
    }

    static var columns: Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 120
    }
}
