import ArgumentParser
import LookoutCore
import LookoutEvents

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Query the event store: events by time, stream, rule and class; counts; snapshots.",
        discussion: """
            Times are UTC (2026-12-07, 2026-12-07T14:30[:05]) or durations back from now (90s, 15m, 2h, 7d).
            """)

    @Option(help: "The SQLite event store.") var db: String
    @Option(help: "Events that started at or after this time.") var since: String?
    @Option(help: "Events that started before this time.") var until: String?
    @Option(help: "A stream's index or source.") var stream: String?
    @Option(help: "A rule's name.") var rule: String?
    @Option(name: .customLong("class"), help: "A class name.") var className: String?
    @Option(help: "At most this many events.") var limit: Int?
    @Flag(help: "One JSON object per line instead of a table.") var json = false
    @Flag(help: "Print the counts per zone and line instead of events.") var counts = false
    @Option(help: "Write the snapshot JPEG of event ID to --out.") var snapshot: String?
    @Option(help: "Where --snapshot writes.") var out: String?

    func run() async throws {
        guard Paths.exists(db) else { throw Console.fail("\(db): no such event store") }
        let store: EventStore
        do { store = try EventStore(path: db, readOnly: true) } catch {
            throw Console.fail(TrackingFlags.message(error))
        }
        do {
            if let snapshot {
                guard let out else { throw Console.fail("--snapshot needs --out FILE") }
                guard let jpeg = try store.snapshot(eventID: snapshot) else {
                    throw Console.fail("\(db): event \(snapshot) has no snapshot")
                }
                do { try FileBytes.write(jpeg, to: out) } catch { throw Console.fail(error) }
                return
            }
            if counts {
                print("run  stream  kind  name                  direction         count")
                for c in try store.counts() {
                    print(
                        TextFormat.format("%4d  %6d  ", Int(c.run), c.stream) + c.kind.padded(toLength: 6)
                            + c.name.padded(toLength: 22) + c.direction.padded(toLength: 16)
                            + TextFormat.format("%6d", c.value))
                }
                return
            }
            let now = WallClock.milliseconds()
            var filter = EventFilter()
            if let since {
                guard let t = WallClock.parse(since, now: now) else {
                    throw Console.fail("--since: not a time: \(since)")
                }
                filter.since = t
            }
            if let until {
                guard let t = WallClock.parse(until, now: now) else {
                    throw Console.fail("--until: not a time: \(until)")
                }
                filter.until = t
            }
            filter.stream = stream
            filter.rule = rule
            filter.className = className
            filter.limit = limit
            let events = try store.events(matching: filter)
            if json {
                for e in events { print(EventJSON.line(e)) }
                return
            }
            print(
                "start                     end                       rule            trigger stream  track class    where         state   peak"
            )
            for e in events {
                let place = e.zone ?? (e.line.map { "\($0) \(e.direction ?? "")" } ?? "")
                print(
                    WallClock.iso(e.startTime).padded(toLength: 26)
                        + (e.endTime.map(WallClock.iso) ?? "-").padded(toLength: 26)
                        + e.rule.padded(toLength: 16) + e.trigger.padded(toLength: 8)
                        + "\(e.stream)".padded(toLength: 7)
                        + (e.trackID.map { "\($0)" } ?? (e.count.map { "n=\($0)" } ?? "-")).padded(toLength: 6)
                        + (e.className ?? "-").padded(toLength: 9) + place.padded(toLength: 14)
                        + e.state.rawValue.padded(toLength: 8)
                        + (e.peakConfidence.map { TextFormat.fixed(Double($0), digits: 2) } ?? "-"))
            }
            Console.note("\(events.count) events")
        } catch let error as StoreError {
            throw Console.fail(EventStore.lookoutError(error).message)
        }
    }
}
