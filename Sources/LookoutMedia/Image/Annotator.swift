import LookoutCore

/// Draws detections onto an image for `lookout detect --save`: a class-coloured outline and a filled label box with
/// `name 0.87` in `BitmapFont`, everything clipped to the image. Line width and text size grow with the image as in
/// Ultralytics' `Annotator` (its `line_width` default); later boxes are drawn over earlier ones.
public struct Annotator: Sendable {
    /// Outline thickness in pixels; nil takes Ultralytics' default for the image (`defaultLineWidth`).
    public var lineWidth: Int?
    /// Font magnification (1 = 5x7 pixel glyphs); nil follows the line width, so a 7-pixel-high glyph row scales
    /// like Ultralytics' text (OpenCV's Hershey font at scale `line_width / 3`, about 7 px per unit of line width).
    public var fontScale: Int?
    /// Whether labels name the class (`show_labels`; `--hide-labels` turns it off).
    public var showsLabels: Bool
    /// Whether labels show the confidence (`show_conf`; `--hide-conf` turns it off).
    public var showsConfidence: Bool

    public init(lineWidth: Int? = nil, fontScale: Int? = nil, showsLabels: Bool = true, showsConfidence: Bool = true) {
        self.lineWidth = lineWidth.map { max(1, $0) }
        self.fontScale = fontScale
        self.showsLabels = showsLabels
        self.showsConfidence = showsConfidence
    }

    /// Ultralytics' default line width for an image (`Annotator.__init__`): `max(round(sum(im.shape) / 2 * 0.003), 2)`
    /// over the (height, width, 3) shape, Python's `round` (half to even).
    public static func defaultLineWidth(width: Int, height: Int) -> Int {
        max(Int((Double(height + width + 3) / 2 * 0.003).rounded(.toNearestOrEven)), 2)
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

    /// The label text Ultralytics shows (`Results.plot`): the class name and the confidence as `%.2f`.
    public static func label(name: String, confidence: Float) -> String {
        "\(name) \(TextFormat.c("%.2f", Double(confidence)))"
    }

    /// The label with `showsLabels` / `showsConfidence` applied (`Results.plot`): `name 0.87`, `name`, `0.87`, or
    /// nil for no label at all.
    public func labelText(name: String, confidence: Float) -> String? {
        switch (showsLabels, showsConfidence) {
        case (true, true): return Self.label(name: name, confidence: confidence)
        case (true, false): return name
        case (false, true): return TextFormat.c("%.2f", Double(confidence))
        case (false, false): return nil
        }
    }

    public func draw(_ boxes: [Box], on image: inout BGRImage) {
        guard image.width > 0, image.height > 0 else { return }
        let t = lineWidth ?? Self.defaultLineWidth(width: image.width, height: image.height)
        let scale = fontScale ?? t
        for box in boxes {
            let color = ClassPalette.color(forClass: box.classIndex)
            // Truncate like Ultralytics' int() of the corners.
            let x1 = Self.pixel(box.x1)
            let y1 = Self.pixel(box.y1)
            let x2 = Self.pixel(box.x2)
            let y2 = Self.pixel(box.y2)
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
