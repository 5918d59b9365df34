import ArgumentParser
import LookoutBench
import LookoutCore
import LookoutEvents

struct BenchTrackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "track",
        abstract: "CPU cost per frame of ByteTrack plus rules, at N objects per frame (synthetic motion).")

    @Option(help: "Objects per frame.") var objects = 20
    @Option(help: "Measured frames.") var frames = 5000
    @Option(help: "A rule file (its classes named a, b, c, d); the built-in 10 rules when omitted.") var rules: String?
    @Option(help: "Write the bench JSON here (- for stdout).") var json: String?

    func run() async throws {
        var bench = TrackBenchmark()
        bench.objects = objects
        bench.frames = frames
        if let rules {
            do { bench.rules = try RuleSet.load(path: rules, classNames: ["a", "b", "c", "d"]) } catch {
                throw Console.fail(TrackingFlags.message(error))
            }
        }
        let result: TrackBenchmark.Result
        do { result = try bench.run() } catch { throw Console.fail(error) }
        print("objects  rules  tracks/frame  tracker µs  tracker+rules µs (mean  p50  p99)  events")
        print(
            TextFormat.format(
                "%7d  %5d  %12.1f  %10.1f  %22.1f %5.1f %5.1f  %6d", objects, result.rules, result.tracksPerFrame,
                result.trackerMeanMicroseconds, result.meanMicroseconds, result.p50Microseconds, result.p99Microseconds,
                result.events))
        if let json {
            let report = BenchReport(
                benchmark: "track", device: SystemInfo.cpuDescription, driver: SystemInfo.kernelRelease,
                settings: [
                    ("objects", .int(objects)), ("frames", .int(frames)), ("rules", .string(rules ?? "built-in 10")),
                ],
                rows: [
                    [
                        ("tracks_per_frame", JSONValue.rounded(result.tracksPerFrame, digits: 2)),
                        ("tracker_mean_us", JSONValue.rounded(result.trackerMeanMicroseconds, digits: 2)),
                        ("tracker_rules_mean_us", JSONValue.rounded(result.meanMicroseconds, digits: 2)),
                        ("tracker_rules_p50_us", JSONValue.rounded(result.p50Microseconds, digits: 2)),
                        ("tracker_rules_p99_us", JSONValue.rounded(result.p99Microseconds, digits: 2)),
                        ("rules", .int(result.rules)), ("events", .int(result.events)),
                    ]
                ])
            do { try report.write(to: json) } catch { throw Console.fail(error) }
        }
    }
}
