import LookoutCore

/// A frame size given as `1080p`, `720p`, `4k` or `WxH`.
package struct Resolution: Hashable, Sendable, CustomStringConvertible {
    package let width: Int
    package let height: Int
    package init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    package init(parsing text: String) throws(LookoutError) {
        switch text.lowercased() {
        case "720p": self.init(width: 1280, height: 720)
        case "1080p": self.init(width: 1920, height: 1080)
        case "4k", "2160p": self.init(width: 3840, height: 2160)
        default:
            let parts = text.lowercased().split(separator: "x")
            guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0, w <= 16384, h <= 16384
            else {
                throw LookoutError(.invalidArgument, "bad resolution '\(text)': use 720p, 1080p, 4k or WIDTHxHEIGHT")
            }
            self.init(width: w, height: h)
        }
    }
    /// "1920x1080".
    package var description: String { "\(width)x\(height)" }
}
