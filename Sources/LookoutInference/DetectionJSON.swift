import LookoutCore
import LookoutYOLO

/// The text forms of detection results: JSON lines and the readable summary.
package enum DetectionJSON {
    /// `{"source":…,"width":W,"height":H,"detections":[{"box":[x1,y1,x2,y2],"confidence":c,"class":k,"name":…}]}`,
    /// floats printed as their shortest round-tripping float32 text; a video frame has `"frame":N` (1-based among
    /// the frames run, as Ultralytics counts them) after `"source"`.
    package static func line(source: String, frame: Int? = nil, result: ImageDetections, names: [String]) -> String {
        var out = "{\"source\":"
        appendString(source, to: &out)
        if let frame { out += ",\"frame\":\(frame)" }
        out += ",\"width\":\(result.width),\"height\":\(result.height),\"detections\":["
        for (i, d) in result.detections.enumerated() {
            if i > 0 { out += "," }
            out +=
                "{\"box\":[\(number(d.x1)),\(number(d.y1)),\(number(d.x2)),\(number(d.y2))],\"confidence\":\(number(d.confidence)),\"class\":\(d.classIndex),\"name\":"
            appendString(d.classIndex < names.count ? names[d.classIndex] : "class\(d.classIndex)", to: &out)
            out += "}"
        }
        out += "]}"
        return out
    }

    /// `image 1/3 path.jpg 1228x690 → 640x640: 2 circles, 1 star (45.1 ms)`.
    package static func summary(index: Int, total: Int, source: String, result: ImageDetections, names: [String])
        -> String
    {
        summary(heading: "image \(index)/\(total) \(source)", result: result, names: names)
    }

    /// The same with its own heading (`video 1/2 (frame 3/7) clip.mp4`, as Ultralytics prints a video frame).
    package static func summary(heading: String, result: ImageDetections, names: [String]) -> String {
        var counts: [Int: Int] = [:]
        for d in result.detections { counts[d.classIndex, default: 0] += 1 }
        let parts = counts.keys.sorted().map { k -> String in
            let name = k < names.count ? names[k] : "class\(k)"
            return "\(counts[k]!) \(name)\(counts[k]! > 1 ? "s" : "")"
        }
        let found = parts.isEmpty ? "no detections" : parts.joined(separator: ", ")
        let time =
            "\(TextFormat.fixed(result.preprocessMilliseconds, digits: 1)) ms pre, "
            + "\(TextFormat.fixed(result.inferenceMilliseconds, digits: 1)) ms inference, "
            + "\(TextFormat.fixed(result.postprocessMilliseconds, digits: 1)) ms post"
        var lines =
            "\(heading) \(result.width)x\(result.height) -> \(result.inputWidth)x\(result.inputHeight): \(found) (\(time))"
        for d in result.detections {
            let name = d.classIndex < names.count ? names[d.classIndex] : "class\(d.classIndex)"
            let box = [d.x1, d.y1, d.x2, d.y2].map { TextFormat.fixed(Double($0), digits: 1) }.joined(separator: ", ")
            lines += "\n  \(name) \(TextFormat.fixed(Double(d.confidence), digits: 3)) [\(box)]"
        }
        return lines
    }

    static func number(_ value: Float) -> String {
        value.isFinite ? "\(value)" : "0"
    }

    static func appendString(_ s: String, to out: inout String) {
        JSONValue.escape(s, into: &out)
    }
}
