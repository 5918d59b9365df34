/// The EXIF orientation tag (0x0112): how the stored pixels must be turned to show the picture upright.
/// Raw values and names follow TIFF 6.0 (row 0 is at the visual …, column 0 is at the visual …).
public enum ExifOrientation: Int, Sendable, CaseIterable {
    /// 1: stored upright; nothing to do.
    case topLeft = 1
    /// 2: mirrored left to right.
    case topRight = 2
    /// 3: turned 180 degrees.
    case bottomRight = 3
    /// 4: mirrored top to bottom.
    case bottomLeft = 4
    /// 5: transposed (mirrored across the main diagonal).
    case leftTop = 5
    /// 6: the camera was turned; shown after a 90-degree clockwise turn.
    case rightTop = 6
    /// 7: transposed across the anti-diagonal.
    case rightBottom = 7
    /// 8: shown after a 90-degree counter-clockwise turn.
    case leftBottom = 8

    /// Whether showing the picture upright swaps its width and height.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// Reads the orientation from an EXIF TIFF structure (the JPEG APP1 payload after `Exif\0\0`, or a PNG eXIf
    /// chunk). Anything missing, cut short or out of range means `.topLeft`, as in OpenCV, which also reads the
    /// value as a 16-bit number whatever type the entry declares.
    public static func parse(tiff: UnsafeRawBufferPointer) -> ExifOrientation {
        var bytes = tiff
        // A PNG eXIf chunk should hold the TIFF data alone; tolerate writers that keep the JPEG prefix.
        if bytes.count >= 6, Array(bytes.prefix(6)) == Array("Exif\0\0".utf8) {
            bytes = UnsafeRawBufferPointer(rebasing: bytes[6...])
        }
        guard bytes.count >= 8 else { return .topLeft }
        let littleEndian: Bool
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return .topLeft
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= bytes.count else { return nil }
            let a = Int(bytes[at])
            let b = Int(bytes[at + 1])
            return littleEndian ? a | b << 8 : a << 8 | b
        }
        func u32(_ at: Int) -> Int? {
            guard let lo = u16(littleEndian ? at : at + 2), let hi = u16(littleEndian ? at + 2 : at) else {
                return nil
            }
            return hi << 16 | lo
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return .topLeft }
        for index in 0..<count {
            let entry = ifd + 2 + index * 12
            guard let tag = u16(entry) else { return .topLeft }
            if tag == 0x0112 {
                guard let value = u16(entry + 8) else { return .topLeft }
                return ExifOrientation(rawValue: value) ?? .topLeft
            }
        }
        return .topLeft
    }
}
