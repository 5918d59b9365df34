import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// CPU time and resident memory of this process, for summaries, benchmarks and metrics.
package enum ProcessUsage {
    /// User + system CPU seconds so far.
    package static var cpuSeconds: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Resident set size in bytes (from /proc/self/statm).
    package static var residentBytes: Int {
        guard let text = FileBytes.readText("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
