/// Draws detections onto an image for `lookout detect --save`: a class-coloured outline (2 px by default) and a
/// filled label box with `name 0.87` in `BitmapFont`, everything clipped to the image.
public struct Annotator: Sendable {
    /// Outline thickness in pixels.
    public var lineWidth: Int
    /// Font magnification (1 = 5x7 pixel glyphs); nil picks one from the image size.
    public var fontScale: Int?

    public init(lineWidth: Int = 2, fontScale: Int? = nil) {
        self.lineWidth = max(1, lineWidth)
        self.fontScale = fontScale
    }

    /// One box to draw, in the image's pixels.
    public struct Box: Sendable {
        public var x1: Float, y1: Float, x2: Float, y2: Float
        public var classIndex: Int
        public var label: String
        public init(x1: Float, y1: Float, x2: Float, y2: Float, classIndex: Int, label: String) {
            self.x1 = x1
            self.y1 = y1
            self.x2 = x2
            self.y2 = y2
            self.classIndex = classIndex
            self.label = label
        }
    }

    /// The label text Ultralytics shows: the class name and the confidence with two decimals.
    public static func label(name: String, confidence: Float) -> String {
        let hundredths = Int((Double(confidence) * 100).rounded())
        let whole = hundredths / 100
        let fraction = hundredths % 100
        return "\(name) \(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    public func draw(_ boxes: [Box], on image: inout BGRImage) {
        guard image.width > 0, image.height > 0 else { return }
        let scale = fontScale ?? max(1, min(image.width, image.height) / 400)
        for box in boxes {
            let color = ClassPalette.color(forClass: box.classIndex)
            // Truncate like Ultralytics' int() of the corners.
            let x1 = Self.pixel(box.x1)
            let y1 = Self.pixel(box.y1)
            let x2 = Self.pixel(box.x2)
            let y2 = Self.pixel(box.y2)
            let t = lineWidth
            fill(&image, x1, y1, x2, y1 + t - 1, color)
            fill(&image, x1, y2 - t + 1, x2, y2, color)
            fill(&image, x1, y1, x1 + t - 1, y2, color)
            fill(&image, x2 - t + 1, y1, x2, y2, color)
            drawLabel(box.label, x: x1, boxTop: y1, scale: scale, color: color, on: &image)
        }
    }

    private func drawLabel(
        _ text: String, x: Int, boxTop: Int, scale: Int, color: (b: UInt8, g: UInt8, r: UInt8),
        on image: inout BGRImage
    ) {
        guard !text.isEmpty else { return }
        let pad = scale
        let width = BitmapFont.width(of: text, scale: scale) + 2 * pad
        let height = BitmapFont.glyphHeight * scale + 2 * pad
        // Above the box when it fits, otherwise just inside its top edge.
        let top = boxTop - height >= 0 ? boxTop - height : max(boxTop, 0)
        let left = min(max(x, 0), max(image.width - width, 0))
        fill(&image, left, top, left + width - 1, top + height - 1, color)
        let ink = ClassPalette.textColor(on: color)
        var penX = left + pad
        for c in text {
            let rows = BitmapFont.glyph(c)
            for (row, mask) in rows.enumerated() {
                for col in 0..<BitmapFont.glyphWidth where mask & (1 << (BitmapFont.glyphWidth - 1 - col)) != 0 {
                    let px = penX + col * scale
                    let py = top + pad + row * scale
                    fill(&image, px, py, px + scale - 1, py + scale - 1, ink)
                }
            }
            penX += (BitmapFont.glyphWidth + 1) * scale
        }
    }

    /// Fills the inclusive rectangle, clipped to the image.
    private func fill(
        _ image: inout BGRImage, _ x1: Int, _ y1: Int, _ x2: Int, _ y2: Int, _ color: (b: UInt8, g: UInt8, r: UInt8)
    ) {
        let w = image.width
        let h = image.height
        let ax = max(x1, 0)
        let bx = min(x2, w - 1)
        let ay = max(y1, 0)
        let by = min(y2, h - 1)
        guard ax <= bx, ay <= by else { return }
        image.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            for y in ay...by {
                var p = base + (y * w + ax) * 3
                for _ in ax...bx {
                    p[0] = color.b
                    p[1] = color.g
                    p[2] = color.r
                    p += 3
                }
            }
        }
    }

    private static func pixel(_ v: Float) -> Int {
        guard v.isFinite else { return 0 }
        return Int(max(min(v, 1e9), -1e9))
    }
}
