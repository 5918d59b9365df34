import Foundation
import Testing

@testable import LookoutModel

/// The broken files of the export matrix (manifest `invalid`): each is refused at load with one line that names the
/// file and says what is wrong, as issue 1 asks (no crash, no multi-line dump).
@Suite struct InvalidModelTests {
    /// What each file's message must contain, besides the file path, and the error code.
    static let expectations: [String: (code: ModelError.Code, phrases: [String])] = [
        "invalid-missing-initializer.onnx": (
            .missingTensor, ["'model.0.conv.weight'", "'/model.0/conv/Conv'", "Conv"]
        ),
        "invalid-unsupported-op.onnx": (
            .unsupported,
            ["'GridSample'", "'/model.0/act/Sigmoid'", "not supported", "supported: ", "Conv", "Sigmoid", "Resize"]
        ),
        "invalid-task-segment.onnx": (.unsupportedTask, ["'segment'", "detect"]),
        "invalid-truncated.onnx": (.malformed, ["not a valid ONNX model", "truncated"]),
        "invalid-not-onnx.onnx": (.malformed, ["not a valid ONNX model"]),
    ]

    @Test func everyInvalidFileHasAnExpectation() throws {
        _ = try Fixtures.generated("onnx/manifest.json")
        #expect(Set(Matrix.invalidFiles) == Set(Self.expectations.keys))
    }

    @Test(arguments: Matrix.invalidFiles)
    func invalidModelIsRejectedWithOneLine(file: String) throws {
        let path = try Fixtures.generated("onnx/" + file)
        let expected = try #require(Self.expectations[file], "no expectation for \(file)")
        let error = try #require(throws: ModelError.self) { try DetectionModel(path: path) }
        let text = error.description
        print("\(file): \(text)")
        #expect(error.code == expected.code, "\(text)")
        #expect(!text.contains("\n"), "the message must be one line: \(text)")
        #expect(text.hasPrefix(path + ": "), "the message must start with the file: \(text)")
        for phrase in expected.phrases {
            #expect(error.message.contains(phrase), "'\(phrase)' missing from: \(text)")
        }
        #expect(text.count < 2000, "an error line should stay readable (\(text.count) characters)")
    }

    /// A missing or unreadable path and an empty file are user errors too, with the same one-line shape.
    @Test func unreadablePathsAreOneLineErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lookout-invalid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.onnx").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let cases: [(String, ModelError.Code, String)] = [
            (directory.appendingPathComponent("absent.onnx").path, .unreadable, "No such file"),
            (directory.path, .unreadable, "not a regular file"),
            (empty, .malformed, "empty"),
        ]
        for (path, code, phrase) in cases {
            let error = try #require(throws: ModelError.self) { try DetectionModel(path: path) }
            #expect(error.code == code, "\(error)")
            #expect(error.description.hasPrefix(path + ": "), "\(error)")
            #expect(error.description.contains(phrase), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }
}
