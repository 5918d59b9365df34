import LookoutCore

#if canImport(Glibc)
    import Glibc
#endif

/// The JSON document every `lookout bench …` command writes: what ran, where, with which settings, and one row
/// per measured configuration. Values are kept as `JSONValue` so each benchmark chooses its own columns.
package struct BenchReport: Sendable {
    package var benchmark: String
    package var commit: String
    package var device: String
    package var driver: String
    package var date: String
    package var settings: [(String, JSONValue)]
    package var rows: [[(String, JSONValue)]]
    /// Extra top-level fields (for example `p50_ms` of a single-row run).
    package var extra: [(String, JSONValue)]

    package init(
        benchmark: String, device: String, driver: String, settings: [(String, JSONValue)] = [],
        rows: [[(String, JSONValue)]] = [], extra: [(String, JSONValue)] = []
    ) {
        self.benchmark = benchmark
        self.commit = BuildInfo.commit
        self.device = device
        self.driver = driver
        self.date = BenchReport.isoDate()
        self.settings = settings
        self.rows = rows
        self.extra = extra
    }

    package var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("benchmark", .string(benchmark)), ("commit", .string(commit)), ("device", .string(device)),
            ("driver", .string(driver)), ("date", .string(date)), ("settings", .object(settings)),
            ("rows", .array(rows.map { .object($0) })),
        ]
        fields.append(contentsOf: extra)
        return .object(fields)
    }

    /// Writes the report as pretty JSON; `-` means standard output.
    package func write(to path: String) throws(FileError) {
        let text = json.render(pretty: true) + "\n"
        if path == "-" {
            StandardStreams.output(text)
            return
        }
        try FileBytes.write(text, to: path)
    }

    /// Now as UTC ISO 8601 with seconds, e.g. 2026-12-06T23:02:29Z.
    static func isoDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return TextFormat.format(
            "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
