import ArgumentParser
import LookoutEvents

/// The flags that turn tracking, rules and the event store on (`lookout track`, `lookout stream`).
struct TrackingFlags: ParsableArguments {
    @Option(help: "Multi-object tracker: bytetrack (Ultralytics' bytetrack.yaml settings).") var tracker: String?
    @Option(help: "Zones, lines, rules and sinks (YAML; docs/events.md).") var rules: String?
    @Option(help: "SQLite event store (created when missing; WAL).") var db: String?
    @Option(name: .customLong("retain-days"), help: "Delete closed events older than this many days.")
    var retainDays: Double?
    @Option(name: .customLong("retain-mb"), help: "Delete the oldest closed events while the store exceeds this size.")
    var retainMB: Double?
    @Option(
        name: .customLong("store-detections"), help: "Store every tracked box of every Nth frame (default: none).")
    var storeDetections: Int?
    @Option(name: .customLong("drain-seconds"), help: "Seconds to wait at the end for sinks to deliver what is owed.")
    var drainSeconds = 10.0

    var enabled: Bool { tracker != nil || rules != nil || db != nil }

    func validate() throws {
        if let tracker, tracker != "bytetrack" { throw ValidationError("--tracker: bytetrack is the one tracker") }
        if let retainDays, retainDays <= 0 { throw ValidationError("--retain-days must be positive") }
        if let retainMB, retainMB <= 0 { throw ValidationError("--retain-mb must be positive") }
        if let storeDetections, storeDetections < 1 { throw ValidationError("--store-detections must be at least 1") }
        if (retainDays != nil || retainMB != nil || storeDetections != nil) && db == nil {
            throw ValidationError("--retain-days, --retain-mb and --store-detections need --db")
        }
    }

    /// The processor's options; the rule file is read against the model's classes.
    func options(classNames: [String]) throws -> EventProcessorOptions {
        var options = EventProcessorOptions()
        if let rules {
            do { options.rules = try RuleSet.load(path: rules, classNames: classNames) } catch {
                throw Console.fail(TrackingFlags.message(error))
            }
        }
        options.storePath = db
        options.retention = RetentionPolicy(
            maxAgeSeconds: retainDays.map { $0 * 86400 }, maxBytes: retainMB.map { Int64($0 * 1_048_576) })
        options.storeDetectionsEvery = storeDetections
        options.drainSeconds = drainSeconds
        return options
    }

    /// A library error in the flags' words.
    static func message(_ error: any Error) -> String {
        var text = Console.message(error)
        for (name, flag) in [("`storePath`", "--db"), ("`rules`", "--rules"), ("`framesInFlight`", "frames in flight")]
        {
            text = text.replacingAll(name, with: flag)
        }
        return text
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while !rest.isEmpty {
            if rest.hasPrefix(target) {
                out += replacement
                rest = rest.dropFirst(target.count)
            } else {
                out.append(rest.removeFirst())
            }
        }
        return out
    }
}
