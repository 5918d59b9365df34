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

    @Test func paletteCyclesAndPicksReadableText() {
        #expect(ClassPalette.color(forClass: 0) == (0xFF, 0x2A, 0x04))
        #expect(ClassPalette.color(forClass: 20) == ClassPalette.color(forClass: 0))
        #expect(ClassPalette.textColor(on: (255, 255, 255)) == (0, 0, 0))
        #expect(ClassPalette.textColor(on: (0, 0, 0)) == (255, 255, 255))
    }
}
