import ArgumentParser
import LookoutCore

@main
enum Main {
    static func main() async {
        CrashReport.install()
        await LookoutCommand.main()
    }
}

struct LookoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookout",
        abstract: "YOLO object detection built around zero-copy GPU pipelines.",
        subcommands: [
            DetectCommand.self, ValCommand.self, InspectCommand.self, BenchCommand.self, SelftestCommand.self,
            StreamCommand.self, TrackCommand.self, EventsCommand.self, ServeCommand.self,
        ]
    )
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmarks that print a table and write JSON under bench/results/runs/ (index: bench/results/README.md).",
        subcommands: [
            BenchEngineCommand.self, BenchTransferCommand.self,
            BenchPipelineCommand.self, BenchTrackCommand.self, BenchDecodeCommand.self,
        ]
    )
}
