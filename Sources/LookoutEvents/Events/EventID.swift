#if canImport(Glibc)
    import Glibc
#endif

/// Event ids: time-sortable and unique across processes and restarts without coordination.
package enum EventID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Whether `text` has an event id's form: 26 characters of Crockford's base 32.
    package static func isValid(_ text: String) -> Bool {
        text.utf8.count == 26 && text.utf8.allSatisfy { alphabet.contains($0) }
    }

    static func make(milliseconds: Int64) -> String {
        var random = SystemRandomNumberGenerator()
        let high = UInt64(truncatingIfNeeded: milliseconds) & 0xFFFF_FFFF_FFFF
        let randomHigh = UInt64(random.next() as UInt16)
        let randomLow = random.next() as UInt64
        // 128 bits: 48 of time, 80 of randomness, written 5 bits at a time (the top digit carries 3 bits).
        let upper = (high << 16) | randomHigh
        var bytes = [UInt8](repeating: 0, count: 26)
        var hi = upper
        var lo = randomLow
        for i in stride(from: 25, through: 0, by: -1) {
            bytes[i] = alphabet[Int(lo & 31)]
            lo = (lo >> 5) | ((hi & 31) << 59)
            hi >>= 5
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Wall-clock time in milliseconds since 1970.
package enum WallClock {
    package static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// `2026-12-07T01:02:03.456Z`.
    package static func iso(_ milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(milliseconds % 1000)
        let fraction = ms < 10 ? "00\(ms)" : (ms < 100 ? "0\(ms)" : "\(ms)")
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }

    /// Parses `2026-12-07`, `2026-12-07T01:02[:03[.456]][Z]` (UTC), or a duration before `now` (`90s`, `15m`, `2h`,
    /// `7d`). Nil when it is neither.
    package static func parse(_ text: String, now: Int64) -> Int64? {
        if let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 {
            let scale: Double? =
                switch unit {
                case "s": 1
                case "m": 60
                case "h": 3600
                case "d": 86400
                default: nil
                }
            if let scale { return now - Int64(amount * scale * 1000) }
        }
        var body = Substring(text)
        if body.hasSuffix("Z") { body = body.dropLast() }
        let halves = body.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = halves[0].split(separator: "-").map { Int($0) }
        guard date.count == 3, let y = date[0], let mo = date[1], let d = date[2], (1...12).contains(mo),
            (1...31).contains(d)
        else { return nil }
        var h = 0
        var mi = 0
        var s = 0.0
        if halves.count == 2 {
            let clock = halves[1].split(separator: ":")
            guard clock.count >= 2, let hh = Int(clock[0]), let mm = Int(clock[1]), (0...23).contains(hh),
                (0...59).contains(mm)
            else { return nil }
            h = hh
            mi = mm
            if clock.count == 3 {
                guard let ss = Double(clock[2]), ss >= 0, ss < 61 else { return nil }
                s = ss
            }
        }
        var parts = tm()
        parts.tm_year = Int32(y - 1900)
        parts.tm_mon = Int32(mo - 1)
        parts.tm_mday = Int32(d)
        parts.tm_hour = Int32(h)
        parts.tm_min = Int32(mi)
        let seconds = timegm(&parts)
        return Int64(seconds) * 1000 + Int64((s * 1000).rounded())
    }
}
