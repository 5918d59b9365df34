import CLookoutThreads
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A detached system thread for work that blocks (a decoder waiting on the network, a wait on a CUDA event), so
/// that it never ties up a thread of Swift's cooperative pool.
package enum PlatformThread {
    /// Starts `body` on a new thread named `name` (at most 15 characters are kept) with `stackSize` bytes of stack.
    package static func spawn(name: String, stackSize: Int = 1 << 20, _ body: @escaping @Sendable () -> Void) {
        final class Start {
            let name: String
            let body: @Sendable () -> Void
            init(name: String, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, max(stackSize, 1 << 16))
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let status = pthread_create(
            &thread, &attributes,
            { argument in
                let start = Unmanaged<AnyObject>.fromOpaque(argument!).takeRetainedValue()
                let begin = unsafeDowncast(start, to: Start.self)
                lk_thread_set_name(begin.name)
                begin.body()
                return nil
            }, start)
        precondition(status == 0, "cannot start thread \(name): \(String(cString: strerror(status)))")
    }
}

/// A mutex with a condition variable, for threads that wait for a state change (a queue, a pool's free buffer).
package final class ConditionLock: @unchecked Sendable {
    // The pthread objects live at stable heap addresses for the lock's lifetime.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    package func withLock<R: ~Copyable, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for a signal (call with the lock held; spurious wake-ups happen: wait in a loop on the state).
    package func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for a signal or until `deadline` (monotonic seconds, `MonotonicClock.seconds()`); false on time-out.
    @discardableResult
    package func wait(untilMonotonic deadline: Double) -> Bool {
        var time = timespec()
        let whole = deadline.rounded(.down)
        time.tv_sec = Int(whole)
        time.tv_nsec = Int(((deadline - whole) * 1e9).rounded())
        if time.tv_nsec >= 1_000_000_000 {
            time.tv_sec += 1
            time.tv_nsec -= 1_000_000_000
        }
        #if canImport(Glibc)
            return pthread_cond_timedwait(condition, mutex, &time) == 0
        #else
            return pthread_cond_wait(condition, mutex) == 0
        #endif
    }

    package func signal() { pthread_cond_signal(condition) }
    package func broadcast() { pthread_cond_broadcast(condition) }
}

/// The monotonic clock.
package enum MonotonicClock {
    /// Seconds since an arbitrary start (never jumps).
    @inline(__always)
    package static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// Nanoseconds since an arbitrary start: the same clock as `DispatchTime.now().uptimeNanoseconds` on Linux.
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}

/// The calling thread's CPU time.
package enum ThreadCPUClock {
    /// Nanoseconds of CPU time the calling thread has used.
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}

/// A lock around work rather than a value (a cache, an engine used by one caller at a time).
package final class Lock: Sendable {
    private let mutex = Mutex(())

    package init() {}

    package func withLock<R: ~Copyable, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try mutex.withLock { (_: inout ()) throws(E) -> R in try body() }
    }
}

/// The process's last word when it dies of a signal: one stderr line with the faulting address and the stack as
/// offsets into the binary (`addr2line -e` on the unstripped build names them). An optimised Swift binary's traps
/// (overflow, bounds, a failed precondition) otherwise end in "Illegal instruction" and nothing else.
package enum CrashReport {
    package static func install() { lk_install_crash_report() }
}
