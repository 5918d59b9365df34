import Dispatch
import Foundation

/// Standard error shared by event lines and the live status line: an event clears the status line, prints
/// itself, and the status line comes back at the next update.
final class TerminalOutput: @unchecked Sendable {
    // `showing` is only touched under `lock`.
    let statusEnabled: Bool
    private let lock = NSLock()
    private var showing = false

    init(statusEnabled: Bool) {
        self.statusEnabled = statusEnabled
    }

    func note(_ message: String) {
        lock.lock()
        defer { lock.unlock() }
        let clear = showing ? "\r\u{1B}[K" : ""
        showing = false
        FileHandle.standardError.write(Data((clear + message + "\n").utf8))
    }

    func status(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        let width = TerminalOutput.columns
        let shown = line.count > width - 1 ? String(line.prefix(width - 1)) : line
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + shown).utf8))
        showing = true
    }

    func clearStatus() {
        lock.lock()
        defer { lock.unlock() }
        if showing { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        showing = false
    }

    static var columns: Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 120
    }
}

/// Ctrl-C: the first press runs `onFirst` (stop and drain), the second exits at once with status 130.
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private var count = 0

    init(onFirst: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "lookout.sigint"))
        source.setEventHandler { [unowned self] in
            count += 1
            if count == 1 { onFirst() } else { exit(130) }
        }
        source.resume()
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
