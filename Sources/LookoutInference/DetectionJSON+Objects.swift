import LookoutCore
import LookoutYOLO

extension DetectionJSON {
    /// The `detections` array of a `detect` JSON line: `[{"box":[x1,y1,x2,y2],"confidence":c,"class":k,"name":…}]`,
    /// for other line formats (`lookout stream`) to embed the same objects.
    package static func objects(_ detections: [Detection], names: [String]) -> String {
        var out = "["
        for (i, d) in detections.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"box\":[\(number(d.x1)),\(number(d.y1)),\(number(d.x2)),\(number(d.y2))],\"confidence\":\(number(d.confidence)),\"class\":\(d.classIndex),\"name\":"
            appendString(d.classIndex < names.count ? names[d.classIndex] : "class\(d.classIndex)", to: &out)
            out += "}"
        }
        return out + "]"
    }

    /// A JSON string literal (quotes and escapes).
    package static func string(_ s: String) -> String {
        var out = ""
        appendString(s, to: &out)
        return out
    }
}
