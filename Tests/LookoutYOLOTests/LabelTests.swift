import Foundation
import Testing

@testable import LookoutYOLO

/// YOLO label files: parsing, errors naming file and line, label paths, placement in letterboxed space.
struct LabelTests {
    @Test func parsesBoxesAndPolygonsSkippingBlankLinesAndDuplicates() throws {
        let text = "0 0.5 0.5 0.2 0.4\n\n2 0.1 0.2 0.3 0.2 0.2 0.6\n0 0.5 0.5 0.2 0.4\r\n1\t0.25 0.75 0.5 0.5\n"
        let boxes = try YOLOLabels.parse(text, file: "a.txt")
        #expect(boxes.count == 3)
        #expect(boxes[0] == LabelBox(classIndex: 0, centerX: 0.5, centerY: 0.5, width: 0.2, height: 0.4))
        #expect(boxes[1].classIndex == 2 && boxes[1].centerX == (Float(0.1) + Float(0.3)) / 2)
        #expect(boxes[1].width == Float(0.3) - Float(0.1) && boxes[1].height == Float(0.6) - Float(0.2))
        #expect(boxes[2].classIndex == 1)
    }

    @Test(
        "malformed lines name the file and line",
        arguments: [
            (
                "0 0.5 0.5 0.2\n",
                "a.txt:1: expected 5 numbers (class cx cy w h) or a polygon (class x y x y x y ...), found 4"
            ),
            ("0 0.5 0.5 0.2 0.4\n1 0.5 x 0.2 0.4\n", "a.txt:2: 'x' is not a number"),
            ("0 0.5 1.5 0.2 0.4\n", "a.txt:1: coordinates must be normalised to 0...1"),
            ("-1 0.5 0.5 0.2 0.4\n", "a.txt:1: class '-1.0' must be a non-negative whole number"),
            ("1.5 0.5 0.5 0.2 0.4\n", "a.txt:1: class '1.5' must be a non-negative whole number"),
        ])
    func malformed(text: String, message: String) {
        #expect(throws: LabelError.self) { _ = try YOLOLabels.parse(text, file: "a.txt") }
        do {
            _ = try YOLOLabels.parse(text, file: "a.txt")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func missingAndEmptyFilesHaveNoObjects() throws {
        #expect(try YOLOLabels.read(file: "/nonexistent/labels/x.txt").isEmpty)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-empty-\(getpid()).txt").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try YOLOLabels.read(file: path).isEmpty)
    }

    @Test func readsTheCommittedValLabels() throws {
        let dir = Fixtures.root + "/shapes/val/labels"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".txt") }
        #expect(names.count > 0)
        var total = 0
        for name in names { total += try YOLOLabels.read(file: dir + "/" + name).count }
        #expect(total > 0)
    }

    @Test func labelPathFollowsUltralytics() {
        #expect(YOLOLabels.labelPath(forImage: "data/val/images/a.jpg") == "data/val/labels/a.txt")
        #expect(YOLOLabels.labelPath(forImage: "images/b.v2.png") == "labels/b.v2.txt")
        #expect(YOLOLabels.labelPath(forImage: "x/images/y/images/c.jpeg") == "x/images/y/labels/c.txt")
    }

    @Test func groundTruthLandsInLetterboxedPixels() {
        // 1280x720 val image: loaded 640x360, letterboxed with 140 rows on top.
        let g = ValGeometry(
            originalWidth: 1280, originalHeight: 720, imageSize: 640, targetWidth: 640, targetHeight: 640)
        let box = GroundTruthBox(
            label: LabelBox(classIndex: 1, centerX: 0.5, centerY: 0.5, width: 0.25, height: 0.5), geometry: g)
        #expect(box.classIndex == 1)
        #expect(box.x1 == 240 && box.x2 == 400 && box.y1 == 230 && box.y2 == 410)
    }
}
