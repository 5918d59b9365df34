import Foundation
import LookoutMedia
import LookoutModel
import Testing

@testable import LookoutInference

/// The `lookout` command as users run it: detect (JSON lines, bad inputs, --save), val, inspect, bench engine.
@Suite(.serialized) struct CLITests {
    /// A folder with links to the first `count` validation images (and `extra` files copied in).
    static func imageFolder(_ count: Int, extra: [(name: String, source: String)] = []) throws -> String {
        let folder = try Fixtures.temporaryDirectory("cli-images")
        for name in try Fixtures.valImageNames().prefix(count) {
            try FileManager.default.createSymbolicLink(
                atPath: folder + "/" + name, withDestinationPath: Fixtures.valImages + "/" + name)
        }
        for file in extra { try FileManager.default.copyItem(atPath: file.source, toPath: folder + "/" + file.name) }
        return folder
    }

    static func jsonObject(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// Checks one `detect --json` line; returns its detections.
    static func checkLine(_ line: String, source: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> [[String: Any]]
    {
        let object = try #require(jsonObject(line), "not JSON: \(line)", sourceLocation: sourceLocation)
        #expect(object["source"] as? String == source, sourceLocation: sourceLocation)
        #expect(
            (object["width"] as? Int ?? 0) > 0 && (object["height"] as? Int ?? 0) > 0, sourceLocation: sourceLocation)
        let detections = try #require(object["detections"] as? [[String: Any]], sourceLocation: sourceLocation)
        for d in detections {
            let box = d["box"] as? [Double] ?? []
            #expect(box.count == 4 && box[0] <= box[2] && box[1] <= box[3], "\(d)", sourceLocation: sourceLocation)
            #expect(
                (d["confidence"] as? Double).map { $0 >= 0.25 && $0 <= 1 } == true, "\(d)",
                sourceLocation: sourceLocation)
            #expect((d["class"] as? Int).map { (0..<4).contains($0) } == true, "\(d)", sourceLocation: sourceLocation)
            #expect(
                ["circle", "square", "triangle", "star"].contains(d["name"] as? String ?? ""), "\(d)",
                sourceLocation: sourceLocation)
        }
        return detections
    }

    @Test func detectPrintsOneJSONLinePerImage() throws {
        let folder = try Self.imageFolder(3)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try CLI.run(["detect", "--model", Fixtures.staticModel, "--device", "cpu", "--json", "-", folder])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        let lines = result.stdoutLines
        #expect(lines.count == 3, "\(result.stdout)")
        let reference = try #require(
            try Fixtures.json(Fixtures.path("shapes/val/ultralytics_onnx_static_predictions.json")) as? [String: Any])
        for (line, name) in zip(lines, try Fixtures.valImageNames().prefix(3)) {
            let detections = try Self.checkLine(line, source: folder + "/" + name)
            // The same boxes Ultralytics finds.
            let expected = (reference[name] as? [String: Any])?["conf"] as? [Double] ?? []
            #expect(detections.count == expected.count, "\(name)")
        }
    }

    @Test func badImageAmongGoodOnesIsOneLineAndTheOthersStillRun() throws {
        let folder = try Self.imageFolder(2, extra: [("val_00000_broken.jpg", Fixtures.path("images/corrupt.jpg"))])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try CLI.run(["detect", "--model", Fixtures.staticModel, "--device", "cpu", "--json", "-", folder])
        CLI.expectOneLineError(result, ["val_00000_broken.jpg"])
        let lines = result.stdoutLines
        #expect(lines.count == 2, "\(result.stdout)")
        let names = try Fixtures.valImageNames().prefix(2)
        for (line, name) in zip(lines, names) { _ = try Self.checkLine(line, source: folder + "/" + name) }
    }

    @Test func unusableInputsAreOneLineErrors() throws {
        let empty = try Fixtures.temporaryDirectory("cli-empty")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let image = Fixtures.valImages + "/val_00000.jpg"
        let cases: [(String, [String], [String])] = [
            (
                "empty directory", ["detect", "--model", Fixtures.staticModel, "--device", "cpu", empty],
                [empty, "no images"]
            ),
            (
                "missing path", ["detect", "--model", Fixtures.staticModel, "--device", "cpu", empty + "/absent.jpg"],
                ["absent.jpg"]
            ),
            (
                "missing model", ["detect", "--model", empty + "/absent.onnx", "--device", "cpu", image],
                ["absent.onnx"]
            ),
            (
                "non-ONNX model", ["detect", "--model", try Fixtures.generated("onnx/invalid-not-onnx.onnx"), image],
                ["invalid-not-onnx.onnx", "not a valid ONNX model"]
            ),
            (
                "truncated model", ["detect", "--model", try Fixtures.generated("onnx/invalid-truncated.onnx"), image],
                ["invalid-truncated.onnx", "truncated"]
            ),
            (
                "missing initializer",
                ["detect", "--model", try Fixtures.generated("onnx/invalid-missing-initializer.onnx"), image],
                ["model.0.conv.weight", "/model.0/conv/Conv"]
            ),
            (
                "segmentation model",
                ["detect", "--model", try Fixtures.generated("onnx/invalid-task-segment.onnx"), image], ["segment"]
            ),
            ("image as model", ["inspect", image], ["val_00000.jpg"]),
            (
                "val without images/", ["val", "--model", Fixtures.staticModel, "--device", "cpu", "--data", empty],
                ["images/"]
            ),
        ]
        for (label, arguments, phrases) in cases {
            let result = try CLI.run(arguments)
            CLI.expectOneLineError(result, phrases)
            #expect(result.stdout.isEmpty, "\(label): stdout \(result.stdout)")
        }
    }

    @Test func saveWritesAnnotatedImages() throws {
        let folder = try Self.imageFolder(2)
        let output = try Fixtures.temporaryDirectory("cli-save") + "/annotated"
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: (output as NSString).deletingLastPathComponent)
        }
        let result = try CLI.run([
            "detect", "--model", Fixtures.staticModel, "--device", "cpu", "--save", output, folder,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // The readable summary goes to stdout without --json.
        #expect(result.stdoutLines.contains { $0.hasPrefix("image 1/2 ") }, "\(result.stdout)")
        for name in try Fixtures.valImageNames().prefix(2) {
            let saved = try ImageDecoder.decode(file: output + "/" + name)
            let original = try ImageDecoder.decode(file: Fixtures.valImages + "/" + name)
            #expect(saved.width == original.width && saved.height == original.height)
            // Boxes were drawn: many pixels differ from the original by more than JPEG noise.
            var changed = 0
            for i in stride(from: 0, to: saved.pixels.count, by: 3)
            where abs(Int(saved.pixels[i]) - Int(original.pixels[i])) > 60 {
                changed += 1
            }
            #expect(changed > 500, "\(name): \(changed) pixels changed")
        }
    }

    @Test func valPrintsClassRowsAndAJSONSummary() throws {
        let data = try Fixtures.temporaryDirectory("cli-val")
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: data + "/labels", withIntermediateDirectories: true)
        let names = Array(try Fixtures.valImageNames().prefix(10))
        for name in names {
            let stem = (name as NSString).deletingPathExtension
            try FileManager.default.createSymbolicLink(
                atPath: data + "/images/" + name, withDestinationPath: Fixtures.valImages + "/" + name)
            try FileManager.default.createSymbolicLink(
                atPath: data + "/labels/" + stem + ".txt",
                withDestinationPath: Fixtures.valFolder + "/labels/" + stem + ".txt")
        }
        let result = try CLI.run(["val", "--model", Fixtures.staticModel, "--device", "cpu", "--data", data])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutLines
        #expect(lines.first?.contains("mAP50-95") == true, "\(result.stdout)")
        for row in ["all", "circle", "square", "triangle", "star"] {
            #expect(
                lines.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix(row + " ") },
                "no '\(row)' row: \(result.stdout)")
        }
        let summary = try #require(lines.last.flatMap(Self.jsonObject), "last line is not JSON: \(lines.last ?? "")")
        #expect(Set(summary.keys) == ["map50", "map50_95", "images"])
        #expect(summary["images"] as? Int == 10)
        // The same numbers as the Validator in process.
        let detector = try Detector(model: try DetectionModel(path: Fixtures.staticModel), device: .cpu)
        let expected = try Validator().run(detector: detector, folder: data).summary
        #expect(abs((summary["map50"] as? Double ?? -1) - expected.map50) < 1e-9)
        #expect(abs((summary["map50_95"] as? Double ?? -1) - expected.map50to95) < 1e-9)
        print("cli val on 10 images: \(lines.last ?? "")")
    }

    @Test func inspectPrintsOperatorsAndThePlan() throws {
        let result = try CLI.run(["inspect", Fixtures.dynamicModel, "--shape", "2x320x480"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        for phrase in [
            "ONNX ops", "fused graph", "ConvSiLU", "Conv ", "Concat", "plan ", "views", "buffers", "activations  peak",
            "MiB",
            "classes      4: 0 circle", "[2, 8, 3150]", "family       YOLOv8n", "head         NMS",
        ] {
            #expect(text.contains(phrase), "'\(phrase)' missing:\n\(text)")
        }
        let original = try #require(text.split(separator: "\n").first { $0.hasPrefix("ONNX ops") })
        let fused = try #require(text.split(separator: "\n").first { $0.hasPrefix("fused graph") })
        #expect(original.contains("Shape ") && original.contains("Range "), "\(original)")
        #expect(
            !fused.contains("Shape ") && !fused.contains("Range "),
            "the fused graph should have no shape plumbing: \(fused)")
    }

    @Test func benchEngineWritesTheSharedJSON() throws {
        let folder = try Fixtures.temporaryDirectory("cli-bench")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/engine.json"
        let result = try CLI.run([
            "bench", "engine", "--model", Fixtures.staticModel, "--iterations", "2", "--warmup", "1", "--json", path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("lookout-cpu"))
        let report = try #require(try Fixtures.json(path) as? [String: Any])
        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(rows.first?["backend"] as? String == "lookout-cpu")
        #expect(rows.first?["batch"] as? Int == 1)
        #expect((report["p50_ms"] as? Double ?? 0) > 0)
        #expect(report["benchmark"] as? String == "engine")
        for key in ["commit", "device", "date", "settings"] { #expect(report[key] != nil, "\(key) missing") }
    }
}

@Suite struct DecodeCLITests {
    /// Without a GPU, asking for NVDEC fails at once in one line that says why; `auto` decodes on the CPU.
    @Test func nvdecWithoutAGPUIsOneLineError() throws {
        let video = Fixtures.repository + "/Tests/Fixtures/video/shapes-640x384.mp4"
        let cases: [(String, [String], [String])] = [
            (
                "stream", ["stream", "--model", Fixtures.staticModel, "--device", "cpu", "--decode", "nvdec", video],
                ["nvdec", "CUDA device"]
            ),
            ("stream, bad choice", ["stream", "--decode", "gpu", video], ["gpu", "auto, cpu or nvdec"]),
            (
                "bench pipeline",
                [
                    "bench", "pipeline", "--source", video, "--model", Fixtures.staticModel, "--device", "cpu",
                    "--decode", "nvdec", "--seconds", "1", "--warmup", "0",
                ],
                ["nvdec", "CUDA device"]
            ),
            (
                "bench decode", ["bench", "decode", "--source", video, "--decode", "nvdec", "--seconds", "1"],
                ["nvdec", "not found"]
            ),
        ]
        for (label, arguments, phrases) in cases {
            let result = try CLI.run(arguments)
            CLI.expectOneLineError(result, phrases)
            #expect(!result.stdout.contains("\n\n"), "\(label): stdout \(result.stdout)")
        }
    }

    @Test func autoDecodesOnTheCPUAndSaysWhy() throws {
        let video = Fixtures.repository + "/Tests/Fixtures/video/shapes-640x384.mp4"
        let result = try CLI.run([
            "stream", "--model", Fixtures.staticModel, "--device", "cpu", "--decode", "auto", "--max-frames", "3",
            "--json", "-", video,
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdoutLines.count == 3)
        #expect(result.stderr.contains("decoding on the CPU: NVDEC needs a detector on a CUDA device"))
    }
}
