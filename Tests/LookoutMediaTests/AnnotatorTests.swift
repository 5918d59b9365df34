import Foundation
import Testing

@testable import LookoutMedia

/// Box outlines, label boxes and the bitmap font.
struct AnnotatorTests {
    @Test func fontCoversPrintableASCII() {
        #expect(BitmapFont.rows.count == 95)
        for (i, rows) in BitmapFont.rows.enumerated() {
            #expect(rows.count == 7, "glyph \(i + 32) has \(rows.count) rows")
            #expect(rows.allSatisfy { $0 < 32 })
            // Every glyph but the space has ink.
            if i > 0 { #expect(rows.contains { $0 != 0 }, "glyph \(i + 32) is blank") }
        }
        #expect(BitmapFont.glyph("é") == BitmapFont.glyph("?"))
        #expect(BitmapFont.width(of: "ab", scale: 2) == 22)
    }

    @Test func glyphsAreDistinct() {
        #expect(Set(BitmapFont.rows).count == 95)
    }

    @Test func labelTextHasTwoDecimals() {
        #expect(Annotator.label(name: "star", confidence: 0.8712) == "star 0.87")
        #expect(Annotator.label(name: "circle", confidence: 0.05) == "circle 0.05")
        #expect(Annotator.label(name: "x", confidence: 1) == "x 1.00")
    }

    @Test func drawsAClassColouredTwoPixelOutlineAndALabel() {
        var image = BGRImage(width: 200, height: 150, fill: 0)
        let box = Annotator.Box(x1: 50.7, y1: 60.2, x2: 120.9, y2: 100, classIndex: 3, label: "square 0.90")
        Annotator(lineWidth: 2, fontScale: 1).draw([box], on: &image)
        let c = ClassPalette.color(forClass: 3)
        #expect(image[50, 80] == c && image[51, 80] == c)  // left edge, 2 px
        #expect(image[52, 80] == (0, 0, 0))  // inside stays untouched
        #expect(image[120, 80] == c && image[119, 80] == c && image[118, 80] == (0, 0, 0))
        #expect(image[80, 60] == c && image[80, 61] == c && image[80, 100] == c && image[80, 99] == c)
        // The label box sits above the box: 9 px high (7 + 2), starting at x = 50, in the class colour or ink.
        let ink = ClassPalette.textColor(on: c)
        #expect(image[50, 51] == c)
        var inked = 0
        for y in 51..<60 {
            for x in 50..<(50 + BitmapFont.width(of: "square 0.90", scale: 1) + 2) {
                let p = image[x, y]
                #expect(p == c || p == ink)
                if p == ink { inked += 1 }
            }
        }
        #expect(inked > 50)
    }

    @Test func boxesOutsideTheImageAreClipped() {
        var image = BGRImage(width: 40, height: 30, fill: 9)
        let boxes = [
            Annotator.Box(x1: -50, y1: -20, x2: 500, y2: 400, classIndex: 0, label: "big 0.50"),
            Annotator.Box(x1: .nan, y1: 3, x2: .infinity, y2: 5, classIndex: 7, label: "odd 0.10"),
            Annotator.Box(x1: 1000, y1: 1000, x2: 1001, y2: 1001, classIndex: 1, label: ""),
        ]
        Annotator().draw(boxes, on: &image)
        #expect(image.width == 40 && image.height == 30)
    }

    @Test func labelTextFollowsShowLabelsAndShowConf() {
        // Results.plot: (f"{name} {conf:.2f}" if conf else name) if labels else (f"{conf:.2f}" if conf else None).
        #expect(Annotator().labelText(name: "star", confidence: 0.875) == "star 0.88")
        #expect(Annotator(showsConfidence: false).labelText(name: "star", confidence: 0.875) == "star")
        #expect(Annotator(showsLabels: false).labelText(name: "star", confidence: 0.875) == "0.88")
        #expect(Annotator(showsLabels: false, showsConfidence: false).labelText(name: "star", confidence: 0.5) == nil)
        // %.2f rounds the float's exact value: 0.125 is exact in binary and goes to even, 0.135f is above .135.
        #expect(Annotator.label(name: "a", confidence: 0.125) == "a 0.12")
        #expect(Annotator.label(name: "a", confidence: 0.135) == "a 0.14")
    }

    @Test func lineWidthAndTextGrowWithTheImage() {
        // Ultralytics' Annotator: max(round(sum((h, w, 3)) / 2 * 0.003), 2).
        #expect(Annotator.defaultLineWidth(width: 640, height: 480) == 2)
        #expect(Annotator.defaultLineWidth(width: 1920, height: 1080) == 5)
        #expect(Annotator.defaultLineWidth(width: 3840, height: 2160) == 9)
        func outline(_ width: Int, _ height: Int, _ annotator: Annotator) -> Int {
            var image = BGRImage(width: width, height: height, fill: 0)
            let box = Annotator.Box(
                x1: Float(width / 4), y1: Float(height / 4), x2: Float(width / 2), y2: Float(height / 2), classIndex: 0,
                label: "")
            annotator.draw([box], on: &image)
            var n = 0
            while image[width / 4 + n, height / 3] != (0, 0, 0) { n += 1 }
            return n
        }
        #expect(outline(640, 480, Annotator()) == 2)
        #expect(outline(1920, 1080, Annotator()) == 5)
        #expect(outline(1920, 1080, Annotator(lineWidth: 3)) == 3)
    }

    @Test func laterBoxesAreDrawnOnTop() {
        var image = BGRImage(width: 100, height: 100, fill: 0)
        let under = Annotator.Box(x1: 10, y1: 10, x2: 60, y2: 60, classIndex: 1, label: "")
        let over = Annotator.Box(x1: 10, y1: 10, x2: 60, y2: 60, classIndex: 2, label: "")
        Annotator(lineWidth: 2).draw([under, over], on: &image)
        #expect(image[10, 30] == ClassPalette.color(forClass: 2))
    }

    @Test func cropsAreNumPySlices() {
        var image = BGRImage(width: 7, height: 5, fill: 0)
        image.withUnsafeMutableBytes { bytes in
            for i in 0..<bytes.count { bytes[i] = UInt8(i % 251) }
        }
        let crop = image.cropped(x1: 2, y1: 1, x2: 5, y2: 4)
        #expect(crop.width == 3 && crop.height == 3)
        #expect(crop[0, 0] == image[2, 1] && crop[2, 2] == image[4, 3])
        #expect(image.cropped(x1: -3, y1: 4, x2: 99, y2: 99).width == 7)
        #expect(image.cropped(x1: 5, y1: 0, x2: 2, y2: 5).width == 0)
    }

    @Test func fullChromaJPEGKeepsColourEdges() throws {
        // One-pixel stripes of red and blue: 4:2:0 averages their colour, 4:4:4 (PIL's subsampling=0) keeps it.
        var image = BGRImage(width: 64, height: 64, fill: 0)
        image.withUnsafeMutableBytes { bytes in
            for y in 0..<64 {
                for x in 0..<64 { bytes[(y * 64 + x) * 3 + (x % 2 == 0 ? 0 : 2)] = 255 }
            }
        }
        func error(_ fullChroma: Bool) throws -> Int {
            let bytes = try ImageEncoder.encode(image, as: .jpeg, quality: 95, fullChroma: fullChroma)
            var decoder = ImageDecoder()
            var decoded = BGRImage()
            try bytes.withUnsafeBytes { try decoder.decode($0, name: "stripes", into: &decoded) }
            return zip(decoded.pixels, image.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        }
        #expect(try error(true) * 4 < (try error(false)))
    }

    @Test func paletteCyclesAndPicksReadableText() {
        #expect(ClassPalette.color(forClass: 0) == (0xFF, 0x2A, 0x04))
        #expect(ClassPalette.color(forClass: 20) == ClassPalette.color(forClass: 0))
        #expect(ClassPalette.textColor(on: (255, 255, 255)) == (0, 0, 0))
        #expect(ClassPalette.textColor(on: (0, 0, 0)) == (255, 255, 255))
    }
}
