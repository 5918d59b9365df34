import LookoutCore

/// One object of a YOLO label file: class and box, normalised to 0...1 of the image (float32, as Ultralytics
/// loads them with `np.array(..., dtype=np.float32)`).
public struct LabelBox: Sendable, Hashable {
    public var classIndex: Int
    public var centerX: Float
    public var centerY: Float
    public var width: Float
    public var height: Float

    public init(classIndex: Int, centerX: Float, centerY: Float, width: Float, height: Float) {
        self.classIndex = classIndex
        self.centerX = centerX
        self.centerY = centerY
        self.width = width
        self.height = height
    }
}

/// A label file that cannot be used, with the file and line it concerns:
/// `labels/a.txt:3: expected 5 numbers (class cx cy w h), found 4`.
public struct LabelError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line number, or nil when the whole file is concerned.
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Reading YOLO-format label files: one object per line, `class cx cy w h` normalised to the image, or a polygon
/// `class x1 y1 x2 y2 x3 y3 ...` (turned into its bounding box, as Ultralytics does). A missing or empty file means
/// no objects; exact duplicate lines count once.
public enum YOLOLabels {
    /// The label file Ultralytics pairs with an image: the last `/images/` becomes `/labels/`, the extension `.txt`.
    public static func labelPath(forImage path: String) -> String {
        var base = path
        if let range = base.ranges(of: "/images/").last {
            base.replaceSubrange(range, with: "/labels/")
        } else if base.hasPrefix("images/") {
            base = "labels/" + base.dropFirst("images/".count)
        }
        if let dot = base.lastIndex(of: "."), !base[dot...].contains("/") {
            base = String(base[..<dot])
        }
        return base + ".txt"
    }

    /// Reads a label file; a file that does not exist means an image without objects.
    public static func read(file path: String) throws(LabelError) -> [LabelBox] {
        guard Paths.exists(path) else { return [] }
        guard let bytes = FileBytes.read(path) else {
            throw LabelError(file: path, line: nil, message: "cannot read the label file; check its permissions")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw LabelError(file: path, line: nil, message: "not UTF-8 text; expected lines of 'class cx cy w h'")
        }
        return try parse(text, file: path)
    }

    /// Parses the text of a label file; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(LabelError) -> [LabelBox] {
        var boxes: [LabelBox] = []
        var seen = Set<LabelBox>()
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            // "\r\n" is one Character in Swift, so Windows line ends split as lines too.
            let fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            let line = offset + 1
            var values: [Float] = []
            for field in fields {
                // Parse as float64 then round to float32, as NumPy's string conversion does.
                guard let value = Double(field), value.isFinite else {
                    throw LabelError(file: file, line: line, message: "'\(field)' is not a number")
                }
                values.append(Float(value))
            }
            let box = try makeBox(values, file: file, line: line)
            if seen.insert(box).inserted { boxes.append(box) }
        }
        return boxes
    }

    private static func makeBox(_ v: [Float], file: String, line: Int) throws(LabelError) -> LabelBox {
        guard v.count == 5 || (v.count > 6 && v.count % 2 == 1) else {
            throw LabelError(
                file: file, line: line,
                message: "expected 5 numbers (class cx cy w h) or a polygon (class x y x y x y ...), found \(v.count)")
        }
        guard v[0] >= 0, v[0] == v[0].rounded(), v[0] < 1_000_000 else {
            throw LabelError(file: file, line: line, message: "class '\(v[0])' must be a non-negative whole number")
        }
        guard v.dropFirst().allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw LabelError(file: file, line: line, message: "coordinates must be normalised to 0...1")
        }
        let cls = Int(v[0])
        if v.count == 5 {
            return LabelBox(classIndex: cls, centerX: v[1], centerY: v[2], width: v[3], height: v[4])
        }
        // segments2boxes: the polygon's extent, then xyxy -> xywh in float32.
        var minX = v[1]
        var maxX = v[1]
        var minY = v[2]
        var maxY = v[2]
        for i in stride(from: 1, to: v.count, by: 2) {
            minX = min(minX, v[i])
            maxX = max(maxX, v[i])
            minY = min(minY, v[i + 1])
            maxY = max(maxY, v[i + 1])
        }
        return LabelBox(
            classIndex: cls, centerX: (minX + maxX) / 2, centerY: (minY + maxY) / 2, width: maxX - minX,
            height: maxY - minY)
    }
}
