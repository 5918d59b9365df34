import ArgumentParser
import LookoutBench
import LookoutCUDA
import LookoutCore
import LookoutMedia

struct BenchDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract:
            "Decoding alone, no inference: N concurrent streams of one video on NVDEC and on CPU threads (frames/s, NVDEC utilisation, host CPU)."
    )

    @Option(help: "The video file every stream plays (looped).") var source: String
    @Option(help: "Concurrent streams; a comma-separated list runs each count in turn.") var streams = "1"
    @Option(
        help:
            "Decoders, comma-separated, each in turn: nvdec, cpu, demux (the packets NVDEC gets, decoding nothing: a local MP4 read by Lookout itself), demux-ffmpeg (the same through FFmpeg's demuxer)."
    ) var decode = "nvdec,cpu"
    @Option(help: "Measured seconds per row.") var seconds = 10.0
    @Option(help: "Seconds before measuring (decoder start-up).") var warmup = 2.0
    @Option(help: "The GPU whose NVDEC engines decode (cuda:N ordinal).") var gpu = 0
    @Option(help: "Write the bench JSON here (- for stdout).") var json: String?

    func run() async throws {
        let counts = streams.split(separator: ",").compactMap { Int($0.trimmedWhitespace) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
            throw Console.fail("--streams: positive counts, e.g. 1,32,64")
        }
        var decoders: [DecodeBenchmark.Decoder] = []
        for part in decode.split(separator: ",") {
            guard let decoder = DecodeBenchmark.Decoder(rawValue: part.trimmedWhitespace) else {
                throw Console.fail("--decode: '\(part)' is not nvdec, cpu, demux or demux-ffmpeg")
            }
            decoders.append(decoder)
        }
        var rows: [[(String, JSONValue)]] = []
        var failures = 0
        var device = SystemInfo.cpuDescription
        var driverLine = SystemInfo.kernelRelease
        if case .success(let driver) = CUDA.load(), let gpu = try? driver.device(gpu) {
            device = "\(gpu); host \(SystemInfo.cpuDescription)"
            driverLine = "CUDA \(driver.versionString) (\(driver.path))"
        }
        func writeReport() throws {
            guard let json else { return }
            let report = BenchReport(
                benchmark: "decode", device: device, driver: driverLine,
                settings: [
                    ("source", .string(source)), ("streams", .string(streams)), ("decode", .string(decode)),
                    ("seconds", .double(seconds)), ("warmup", .double(warmup)), ("gpu", .int(gpu)),
                    ("ffmpeg", .string(FFmpeg.versions)),
                ],
                rows: rows)
            do { try report.write(to: json) } catch { throw Console.fail(error) }
        }
        print("decode        streams       fps  min/stream  cpu cores  cpu ms/frame  nvdec %  errors  allocs/frame")
        for count in counts {
            for decoder in decoders {
                var bench = DecodeBenchmark(source: source)
                bench.streams = count
                bench.decoder = decoder
                bench.seconds = seconds
                bench.warmup = warmup
                bench.ordinal = gpu
                do {
                    let row = try bench.run()
                    print(
                        decoder.rawValue.padded(toLength: 12)
                            + TextFormat.format(
                                "%8d %9.1f %11.1f %10.2f %13.3f", row.streams, row.fps, row.perStreamMinimum,
                                row.cpuCoresUsed, row.cpuCoresUsed * 1000 / max(row.fps, 1e-9))
                            + (row.nvdecUtilisation.isEmpty
                                ? "        -"
                                : TextFormat.format(
                                    "%9d", row.nvdecUtilisation.reduce(0, +) / row.nvdecUtilisation.count))
                            + TextFormat.format("%8d", row.decodeErrors)
                            + (row.hostAllocationsPerFrame.map { TextFormat.format("%14.3f", $0) } ?? "             -"))
                    rows.append(row.json)
                } catch {
                    Console.error("\(decoder.rawValue) at \(count) streams: \(Console.message(error))")
                    rows.append([
                        ("system", .string("lookout")), ("decode", .string(decoder.rawValue)), ("streams", .int(count)),
                        ("error", .string(Console.message(error))),
                    ])
                    failures += 1
                }
                try writeReport()
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }
}
