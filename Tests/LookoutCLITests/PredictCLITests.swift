import Foundation
import LookoutMedia
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The predict options of `detect` and `stream` against Ultralytics 8.4.190's predict on the same ONNX model, images
/// and video (Tests/Fixtures/predict/runs): label files (names and lines), crops (names, sizes, colours), the class
/// filter, agnostic NMS, the video stride. The committed references are Ultralytics' own output:
/// scripts/fixtures/make_predict_references.py run with Ultralytics 8.4.190 and torch on the CPU (2026-12-07; the
/// NumPy transcription, make_predict_references_numpy.py, had written the same label files and vectors, and crop
/// colours within 0.13). Detections match Ultralytics' to IoU 0.99 and 0.001 in confidence (README), so numbers are
/// compared with that tolerance.
@Suite(.serialized) struct PredictCLITests {
    static let references = Fixtures.root + "/predict/runs"
    static let images = ["val_00013.jpg", "val_00035.jpg", "val_00042.jpg", "val_00095.jpg", "val_00113.jpg"]
    static let video = Fixtures.root + "/video/shapes-640x384.mp4"

    static func imageFolder() throws -> String {
        let folder = try Fixtures.temporaryDirectory("predict-images")
        for name in images {
            try FileManager.default.createSymbolicLink(
                atPath: folder + "/" + name, withDestinationPath: Fixtures.valImages + "/" + name)
        }
        return folder
    }

    /// Files under `folder`, relative, sorted.
    static func files(_ folder: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: folder) else { return [] }
        return e.compactMap { $0 as? String }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }.sorted()
    }

    static func rows(_ path: String) throws -> [[Double]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: " ").map { Double($0)! }
        }
    }

    /// Our label files against Ultralytics': the same files; per file the same classes in the same order, the
    /// numbers within `tolerance` (normalised coordinates; the confidence column within 0.001).
    static func compareLabels(
        _ ours: String, _ reference: String, tolerance: Double = 0.004,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let expected = files(reference)
        #expect(!expected.isEmpty, "no reference labels in \(reference)", sourceLocation: sourceLocation)
        #expect(files(ours) == expected, sourceLocation: sourceLocation)
        for name in expected where FileManager.default.fileExists(atPath: ours + "/" + name) {
            let a = try rows(ours + "/" + name)
            let b = try rows(reference + "/" + name)
            #expect(
                a.count == b.count, "\(name): \(a.count) lines, Ultralytics \(b.count)", sourceLocation: sourceLocation)
            for (x, y) in zip(a, b) {
                #expect(x.count == y.count && x[0] == y[0], "\(name): \(x) vs \(y)", sourceLocation: sourceLocation)
                for k in 1..<min(x.count, y.count) {
                    #expect(
                        abs(x[k] - y[k]) <= (k == 5 ? 0.001 : tolerance), "\(name) column \(k): \(x) vs \(y)",
                        sourceLocation: sourceLocation)
                }
            }
        }
    }

    @Test func saveTxtSaveConfAndSaveCropWriteWhatUltralyticsWrites() throws {
        let folder = try Self.imageFolder()
        let output = try Fixtures.temporaryDirectory("predict-run")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: output)
        }
        // Without --save-conf: five columns.
        var result = try CLI.run([
            "detect", "--model", Fixtures.staticModel, "--device", "cpu", "--save-txt", "--save", output + "/plain",
            folder,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compareLabels(output + "/plain/labels", Self.references + "/labels/labels")
        // Annotated images beside them, named as the sources.
        #expect(Self.images.allSatisfy { FileManager.default.fileExists(atPath: output + "/plain/" + $0) })

        result = try CLI.run([
            "detect", "--model", Fixtures.staticModel, "--device", "cpu", "--save-txt", "--save-conf", "--save-crop",
            "--save", output + "/crops", folder,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compareLabels(output + "/crops/labels", Self.references + "/labels-conf-crops/labels")
        // Crops: the same files (class folders, names with -2, -3…), sizes within 2 px, colours close.
        let manifest = try #require(
            try Fixtures.json(Self.references + "/labels-conf-crops/crops.json") as? [[String: Any]])
        let ours = Self.files(output + "/crops/crops")
        #expect(ours == manifest.compactMap { $0["file"] as? String })
        for entry in manifest {
            let file = try #require(entry["file"] as? String)
            guard ours.contains(file) else { continue }
            let crop = try ImageDecoder.decode(file: output + "/crops/crops/" + file)
            #expect(abs(crop.width - (entry["width"] as? Int ?? 0)) <= 2, "\(file)")
            #expect(abs(crop.height - (entry["height"] as? Int ?? 0)) <= 2, "\(file)")
            let mean = (0..<3).map { c in
                stride(from: c, to: crop.pixels.count, by: 3).reduce(0.0) { $0 + Double(crop.pixels[$1]) }
                    / Double(crop.width * crop.height)
            }
            let expected = entry["mean_bgr"] as? [Double] ?? []
            #expect(zip(mean, expected).allSatisfy { abs($0 - $1) < 4 }, "\(file): \(mean) vs \(expected)")
        }
    }

    @Test func classesKeepOnlyThoseClassesAsUltralytics() throws {
        let folder = try Self.imageFolder()
        let output = try Fixtures.temporaryDirectory("predict-classes")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: output)
        }
        // Indices and names mix: square is 1, star is 3.
        let result = try CLI.run([
            "detect", "--model", Fixtures.staticModel, "--device", "cpu", "--classes", "1,star", "--save-txt",
            "--save-conf", "--json", output + "/out.jsonl", "--save", output, folder,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compareLabels(output + "/labels", Self.references + "/classes/labels")
        let lines = try String(contentsOfFile: output + "/out.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == Self.images.count)
        for line in lines {
            let object = try #require(CLITests.jsonObject(String(line)))
            let classes = (object["detections"] as? [[String: Any]] ?? []).compactMap { $0["class"] as? Int }
            #expect(classes.allSatisfy { $0 == 1 || $0 == 3 })
        }
    }

    @Test func agnosticNMSSuppressesAcrossClassesAsUltralytics() throws {
        let folder = try Self.imageFolder()
        let output = try Fixtures.temporaryDirectory("predict-agnostic")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: output)
        }
        let result = try CLI.run([
            "detect", "--model", Fixtures.staticModel, "--device", "cpu", "--agnostic-nms", "--save-txt",
            "--save-conf", "--save", output, folder,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compareLabels(output + "/labels", Self.references + "/agnostic/labels")
        // These images have boxes of different classes overlapping above IoU 0.7: agnostic NMS keeps fewer.
        let agnostic = try Self.files(output + "/labels").reduce(0) {
            $0 + (try Self.rows(output + "/labels/" + $1)).count
        }
        let classwise = try Self.files(Self.references + "/labels-conf-crops/labels").reduce(0) {
            $0 + (try Self.rows(Self.references + "/labels-conf-crops/labels/" + $1)).count
        }
        #expect(agnostic < classwise)
    }

    @Test func detectRunsVideoFilesWithAStrideAsUltralytics() throws {
        let output = try Fixtures.temporaryDirectory("predict-video")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try CLI.run([
            "detect", "--model", Fixtures.staticModel, "--device", "cpu", "--vid-stride", "4", "--save-txt",
            "--save-conf", "--save-crop", "--json", output + "/out.jsonl", "--save", output, Self.video,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // 30 frames, stride 4: frames 4, 8, … 28 of the file are run and named 1…7.
        try Self.compareLabels(output + "/labels", Self.references + "/video-stride/labels")
        let lines = try String(contentsOfFile: output + "/out.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.map { CLITests.jsonObject(String($0))?["frame"] as? Int } == (1...7).map { $0 })
        #expect(result.stdoutLines.contains { $0.hasPrefix("video 1/1 (frame 7/7) ") }, "\(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: output + "/shapes-640x384.mp4"))
        let manifest = try #require(
            try Fixtures.json(Self.references + "/video-stride/crops.json") as? [[String: Any]])
        #expect(Self.files(output + "/crops") == manifest.compactMap { $0["file"] as? String })
    }

    @Test func streamWritesLabelsWithAStrideAndNamesImageFiles() throws {
        let output = try Fixtures.temporaryDirectory("predict-stream")
        let folder = try Self.imageFolder()
        defer {
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: folder)
        }
        var result = try CLI.run([
            "stream", "--model", Fixtures.staticModel, "--device", "cpu", "--vid-stride", "4", "--save-txt",
            "--save-conf", "--save-video", output + "/video", "--json", output + "/video.jsonl", Self.video,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compareLabels(output + "/video/labels", Self.references + "/video-stride/labels")
        #expect(try String(contentsOfFile: output + "/video.jsonl", encoding: .utf8).split(separator: "\n").count == 7)

        // An image-folder stream names each result's file, and its labels follow the image names.
        result = try CLI.run([
            "stream", "--model", Fixtures.staticModel, "--device", "cpu", "--classes", "1,3", "--save-txt",
            "--save-conf", "--save-video", output + "/folder", "--json", output + "/folder.jsonl", folder,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: output + "/folder.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(
            lines.compactMap { CLITests.jsonObject(String($0))?["source"] as? String }
                == Self.images.map { folder + "/" + $0 })
        try Self.compareLabels(output + "/folder/labels", Self.references + "/classes/labels")
    }

    @Test func everyCommandChecksThresholdsTheSameWay() throws {
        let folder = try Fixtures.temporaryDirectory("predict-empty")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let commands: [[String]] = [
            ["detect", "--model", Fixtures.staticModel, Fixtures.valImages + "/val_00013.jpg"],
            ["stream", "--model", Fixtures.staticModel, "synthetic:64x64:1"],
            ["val", "--model", Fixtures.staticModel, "--data", Fixtures.valFolder],
        ]
        let cases: [([String], [String])] = [
            (["--conf", "2"], ["--conf", "between 0 and 1", "2"]),
            (["--conf", "-1"], ["--conf", "between 0 and 1", "-1"]),
            (["--iou", "1.5"], ["--iou", "between 0 and 1"]),
            (["--max-det", "0"], ["--max-det", "at least 1"]),
            (["--max-det", "-3"], ["--max-det", "at least 1", "-3"]),
            (["--imgsz", "-640"], ["--imgsz", "between 32 and 8192"]),
        ]
        for command in commands {
            for (flags, phrases) in cases {
                let result = try CLI.run(command + ["--device", "cpu"] + flags)
                CLI.expectOneLineError(result, phrases)
            }
        }
        for (flags, phrases) in [
            (["--vid-stride", "0"], ["--vid-stride", "at least 1"]),
            (["--vid-stride", "-2"], ["--vid-stride", "at least 1"]),
            (["--line-width", "0"], ["--line-width", "at least 1"]),
            (["--classes", "-1"], ["--classes", "0 or more"]),
            (["--classes", "7"], ["--classes", "7 is not a class of this model", "3 star"]),
            (["--classes", "dog"], ["--classes", "'dog' is not a class of this model", "0 circle"]),
        ] {
            for command in commands.prefix(2) {
                let result = try CLI.run(command + ["--device", "cpu"] + flags)
                CLI.expectOneLineError(result, phrases)
            }
        }
    }

    @Test func imageSizeNotesRoundingAndFixedModels() throws {
        let image = Fixtures.valImages + "/val_00013.jpg"
        var result = try CLI.run([
            "detect", "--model", Fixtures.dynamicModel, "--device", "cpu", "--imgsz", "641", image,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderrLines == ["warning: --imgsz 641 is not a multiple of the model's stride 32: using 672"])
        #expect(
            result.stdoutLines.first?.contains("-> 672x") == true || result.stdoutLines.first?.contains("x672") == true)
        result = try CLI.run(["detect", "--model", Fixtures.staticModel, "--device", "cpu", "--imgsz", "320", image])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderrLines.count == 1 && result.stderr.contains("--imgsz 320 is ignored"), "\(result.stderr)")
        #expect(result.stdoutLines.first?.contains("-> 640x640") == true)
    }

    /// A loopback port taken by a listening socket (closed after `body`).
    static func withTakenPort(_ body: (Int) throws -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        try body(Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func inferenceServerPortsAreCheckedBeforeItStarts() throws {
        try Self.withTakenPort { port in
            let busy = String(port)
            let serve = [
                "serve", "--inference-only", "--model-repository", "/tmp", "--http-port", "0", "--grpc-port", "0",
            ]
            let cases: [([String], String)] = [
                (serve + ["--metrics-port", busy], "--metrics-port \(busy): cannot listen on 127.0.0.1:\(busy)"),
                (
                    ["serve", "--inference-only", "--model-repository", "/tmp", "--http-port", busy],
                    "--http-port \(busy)"
                ),
                (serve + ["--metrics-port", "70000"], "--metrics-port must be from 0 to 65535, or -1"),
                (serve + ["--grpc-port", "9123", "--metrics-port", "9123"], "must differ"),
                (["serve", "--metrics-port", "8002"], "need --inference-only"),
            ]
            for (arguments, expected) in cases {
                let result = try CLI.run(arguments)
                #expect(result.status != 0 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            }
        }
    }

    @Test func busyMetricsPortFailsTheRun() throws {
        // Take a loopback port, then ask stream to serve metrics on it.
        try Self.withTakenPort { port in
            let result = try CLI.run([
                "stream", "--model", Fixtures.staticModel, "--device", "cpu", "--metrics-port", String(port),
                "synthetic:64x64:400",
            ])
            #expect(result.status != 0, "exit 0 with metrics port \(port) taken: \(result.stderr)")
            #expect(result.stderr.contains(String(port)), "\(result.stderr)")
            #expect(!CLI.crashMarkers.contains { result.stderr.contains($0) }, "\(result.stderr)")
        }
    }

    @Test func streamWhoseSourcesAllFailedExitsNonZero() throws {
        let folder = try Fixtures.temporaryDirectory("predict-bad")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: folder + "/broken.mp4", contents: Data("not a video".utf8))
        try FileManager.default.createDirectory(atPath: folder + "/noimages", withIntermediateDirectories: true)
        let result = try CLI.run([
            "stream", "--model", Fixtures.staticModel, "--device", "cpu", folder + "/broken.mp4", folder + "/noimages",
        ])
        #expect(result.status != 0, "\(result.stderr)")
        #expect(result.stderr.contains("broken.mp4") && result.stderr.contains("noimages"), "\(result.stderr)")
        #expect(!CLI.crashMarkers.contains { result.stderr.contains($0) }, "\(result.stderr)")
    }
}
