import Foundation

/// The JSON document every `lookout bench …` command writes: what ran, where, with which settings, and one row
/// per measured configuration. Values are kept as `JSONValue` so each benchmark chooses its own columns.
public struct BenchReport: Sendable {
    public var benchmark: String
    public var commit: String
    public var device: String
    public var driver: String
    public var date: String
    public var settings: [(String, JSONValue)]
    public var rows: [[(String, JSONValue)]]
    /// Extra top-level fields (for example `p50_ms` of a single-row run).
    public var extra: [(String, JSONValue)]

    public init(
        benchmark: String, device: String, driver: String, settings: [(String, JSONValue)] = [],
        rows: [[(String, JSONValue)]] = [], extra: [(String, JSONValue)] = []
    ) {
        self.benchmark = benchmark
        self.commit = BuildInfo.commit
        self.device = device
        self.driver = driver
        self.date = BenchReport.isoDate(Date())
        self.settings = settings
        self.rows = rows
        self.extra = extra
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("benchmark", .string(benchmark)), ("commit", .string(commit)), ("device", .string(device)),
            ("driver", .string(driver)), ("date", .string(date)), ("settings", .object(settings)),
            ("rows", .array(rows.map { .object($0) })),
        ]
        fields.append(contentsOf: extra)
        return .object(fields)
    }

    /// Writes the report as pretty JSON; `-` means standard output.
    public func write(to path: String) throws {
        let text = json.render(pretty: true) + "\n"
        if path == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    static func isoDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
