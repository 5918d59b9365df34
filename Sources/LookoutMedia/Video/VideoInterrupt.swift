import CLookoutFFmpeg

/// Stops or times out an FFmpeg call blocked in I/O, from any thread. FFmpeg polls it while it waits on a socket
/// or a file; `stop()` aborts at once, and a deadline (the stall timeout of live streams) aborts when it passes.
public final class VideoInterrupt: @unchecked Sendable {
    // The C struct's fields are C11 atomics: any thread may touch them.
    let state: UnsafeMutablePointer<lk_interrupt>

    public init() {
        state = .allocate(capacity: 1)
        lk_interrupt_reset(state)
    }

    deinit { state.deallocate() }

    /// Aborts the blocked call and every later one.
    public func stop() { lk_interrupt_stop(state) }

    /// Whether `stop()` was called.
    public var isStopped: Bool { lk_interrupt_is_stopped(state) != 0 }

    /// Aborts calls still blocked `seconds` from now; nil removes the deadline. Either clears a deadline that fired.
    public func setDeadline(secondsFromNow seconds: Double?) {
        guard let seconds else {
            lk_interrupt_set_deadline(state, 0)
            return
        }
        lk_interrupt_set_deadline(state, av_gettime_relative() + Int64(seconds * 1e6))
    }

    /// 1 when `stop()` aborted a call, 2 when the deadline did, 0 otherwise.
    var fired: Int32 { lk_interrupt_fired(state) }
}
